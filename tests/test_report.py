"""``exposure report``: the files it writes, their determinism, and that its numbers are the commands'."""

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("matplotlib")

from cli import cli  # noqa: E402

GRAPHS = Path(__file__).resolve().parent.parent / "graphs"
DEFI, SCENARIOS, CHAIN = GRAPHS / "defi.json", GRAPHS / "scenarios.json", GRAPHS / "chain.json"
HEADINGS = ["Summary", "The network", "Contagion hubs", "Stress scenarios", "Supervisory metrics",
            "Liquidation curves", "Concentration", "Data and provenance", "Method notes and references"]


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result


@pytest.fixture(scope="module")
def defi_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("defi") / "report"
    result = run("report", DEFI, SCENARIOS, "--out", out)
    assert result.exit_code == 0, result.output
    return out


def command_csv(*args):
    result = run(*args, "--format", "csv")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_files_written(defi_report):
    for name in ["report.html", "report.md", "results.json", "manifest.json", "tables/README.md",
                 "tables/ranking.csv", "tables/stress_scenarios.csv", "figures/network.svg"]:
        assert (defi_report / name).is_file(), name
    assert [p.name for p in defi_report.parent.iterdir()] == ["report"], "a temporary directory was left behind"


def test_html_is_self_contained_and_complete(defi_report):
    html = (defi_report / "report.html").read_text(encoding="utf-8")
    for heading in HEADINGS:
        assert re.search(rf"<h2[^>]*>{re.escape(heading)}</h2>", html), heading
    assert "<script" not in html.lower()
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html), "the CSS fetches nothing"
    assert not re.search(r"""<(img|link|iframe|object|embed)[^>]+(src|href)=["']https?:""", html)
    images = re.findall(r"<img[^>]*>", html)
    assert images and all(re.search(r'alt="[^"]+"', img) for img in images), "every figure has alt text"
    assert all('src="data:image/' in img for img in images)
    tables = re.findall(r"<table.*?</table>", html, flags=re.S)
    assert tables and all("<th" in t for t in tables), "every table has headers"


def test_markdown_has_every_section_and_its_figures(defi_report):
    md = (defi_report / "report.md").read_text(encoding="utf-8")
    for heading in HEADINGS:
        assert f"## {heading}" in md, heading
    for target in re.findall(r"!\[[^\]]+\]\(([^)]+)\)", md):
        assert (defi_report / target).is_file(), target


def test_manifest_hashes_every_file(defi_report):
    manifest = json.loads((defi_report / "manifest.json").read_text())
    assert manifest["generator"] == "exposure report"
    inputs = {Path(f["path"]).name: f["sha256"] for f in manifest["inputs"]}
    assert inputs["defi.json"] == hashlib.sha256(DEFI.read_bytes()).hexdigest()
    assert inputs["scenarios.json"] == hashlib.sha256(SCENARIOS.read_bytes()).hexdigest()
    written = {f["path"]: f["sha256"] for f in manifest["files"]}
    on_disk = {p.relative_to(defi_report).as_posix() for p in defi_report.rglob("*")
               if p.is_file() and p.name != "manifest.json"}
    assert set(written) == on_disk
    for path, digest in written.items():
        assert hashlib.sha256((defi_report / path).read_bytes()).hexdigest() == digest, path


def test_data_dictionary_describes_every_table(defi_report):
    """tables/README.md has a section per table whose rows name exactly the table's columns."""
    readme = (defi_report / "tables" / "README.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (\S+\.csv)\n(.*?)(?=^## |\Z)", readme, flags=re.M | re.S))
    tables = sorted(p.name for p in (defi_report / "tables").glob("*.csv"))
    assert sorted(sections) == tables
    for name in tables:
        header = next(csv.reader(io.StringIO((defi_report / "tables" / name).read_text(encoding="utf-8"))))
        described = re.findall(r"^\| (\S+) \| [^|]+ \| [^|]+ \|$", sections[name], flags=re.M)
        assert described[1:] == header, name          # described[0] is the dictionary's own header row


# The report's numbers are the commands' numbers (the same library calls rendered by the same writer).
def test_ranking_equals_exposure_rank(defi_report):
    assert (defi_report / "tables" / "ranking.csv").read_text() == command_csv("rank", DEFI, "--method", "all")


def test_stress_equals_exposure_stress(defi_report):
    assert (defi_report / "tables" / "stress_scenarios.csv").read_text() == command_csv("stress", DEFI, SCENARIOS)


def test_metrics_equal_exposure_metrics(defi_report):
    results = json.loads((defi_report / "results.json").read_text())
    metrics = json.loads(run("metrics", DEFI, SCENARIOS, "--format", "json").stdout)
    assert results["metrics"] == metrics


def test_same_inputs_same_bytes(tmp_path):
    """Two runs of the same command give byte-identical files, manifest.json excepted."""
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert run("report", CHAIN, "--title", "Chain", "--out", out).exit_code == 0
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name != "manifest.json")
    assert files
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_existing_directory_is_not_overwritten(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run("report", CHAIN, "--out", out)
    assert result.exit_code != 0
    assert "Error" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_bad_graph_writes_nothing(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": [{"id": "a", "kind": "protocol"}], "edges": [{"kind": "claim", '
                   '"debtor": "a", "creditor": "zz", "amount": 1}]}')
    out = tmp_path / "out"
    result = run("report", bad, "--out", out)
    assert result.exit_code == 1
    assert "zz" in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_stdin_is_refused():
    result = run("report", "-", "--out", "x")
    assert result.exit_code == 2
    assert "standard input" in result.output


def test_an_earlier_report_is_replaced(tmp_path):
    out = tmp_path / "chain"
    assert run("report", CHAIN, "--title", "First", "--out", out).exit_code == 0
    assert run("report", CHAIN, "--title", "Second", "--out", out).exit_code == 0
    assert "Second" in (out / "report.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain"]
