"""`exposure clear` through click's CliRunner: csv, json and table output, shocks, exit codes."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import cli

# A chain a → b → c (each owes the next 10), e = (4, 12, 0), c owes 5 outside.
# Without shock: a holds 4 < 10 (round 1) and pays 4; b holds 16 ≥ 10; c holds 10 ≥ 5.
# Shock b=0.75 (e_b = 3): b holds 3 + 4 = 7 < 10 (round 2) and pays 7; c holds 7 ≥ 5 (equity 2).
GRAPH = {
    "format": "exposure-graph", "version": 1, "name": "cli-chain",
    "nodes": [
        {"id": "a", "external_assets": 4},
        {"id": "b", "external_assets": 12},
        {"id": "c", "external_assets": 0, "external_liabilities": 5},
    ],
    "edges": [
        {"kind": "claim", "debtor": "a", "creditor": "b", "amount": 10},
        {"kind": "claim", "debtor": "b", "creditor": "c", "amount": 10},
    ],
}


@pytest.fixture
def graph(tmp_path):
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(GRAPH), encoding="utf-8")
    return str(path)


def run(*args, input=None):
    return CliRunner().invoke(cli, ["clear", *args], input=input)


def test_csv(graph):
    result = run(graph, "--shock", "b=0.75", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "node,obligations,payments,recovery,assets,equity,defaulted,default_round,impaired,buffer_used\n"
        "a,10,4,0.4,4,0,true,1,false,0\n"          # shortest text that reads back as the same float
        "b,10,7,0.7,7,0,true,2,false,0\n"
        "c,5,5,1,7,2,false,0,false,0\n")


def test_json(graph):
    result = run(graph, "--shock", "b=0.75", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    s = doc["summary"]
    assert s["n_defaults"] == 2 and s["total_shortfall"] == pytest.approx(9.0)
    assert s["external_creditor_loss"] == 0.0 and s["method"] == "fictitious-default"
    assert s["converged"] is True and s["iterations"] >= 1 and s["residual"] <= 1e-9
    assert s["defaults_by_round"] == [1, 1]
    assert [n["node"] for n in doc["nodes"]] == ["a", "b", "c"]
    assert doc["nodes"][1] == {"node": "b", "obligations": 10.0, "payments": 7.0, "recovery": 0.7, "assets": 7.0,
                               "equity": 0.0, "defaulted": True, "default_round": 2,
                               "impaired": False, "buffer_used": 0.0}


def test_table_and_default_format(graph):
    result = run(graph, "--format", "table")
    assert result.exit_code == 0
    assert "n_defaults" in result.stdout and "default_round" in result.stdout
    # not a terminal: json by default
    assert json.loads(run(graph).stdout)["summary"]["n_defaults"] == 1


def test_rogers_veraart_and_fixed_point(graph):
    # α = 0.5, β = 0.5 with shock b=0.75: a pays 0.5·4 = 2; b holds 3 + 2 = 5 < 10, pays 0.5·3 + 0.5·2 = 2.5;
    # c holds 2.5 < 5 and defaults (round 3), pays 0.5·2.5 = 1.25.
    for method in ("fictitious-default", "fixed-point"):
        result = run(graph, "--shock", "b=0.75", "--alpha", "0.5", "--beta", "0.5", "--method", method,
                     "--format", "csv")
        assert result.exit_code == 0, result.output
        frame = pd.read_csv(io.StringIO(result.stdout))
        assert frame["payments"].tolist() == pytest.approx([2.0, 2.5, 1.25], abs=1e-7)
        assert frame["defaulted"].tolist() == [True, True, True]
    assert frame["default_round"].tolist()[2] >= 2


def test_shock_file(graph, tmp_path):
    shocks = tmp_path / "shocks.json"
    shocks.write_text(json.dumps([{"node": "b", "fraction": 0.75}]), encoding="utf-8")
    result = run(graph, "--shock-file", str(shocks), "--format", "json")
    assert json.loads(result.stdout)["summary"]["n_defaults"] == 2
    both = run(graph, "--shock-file", str(shocks), "--shock", "b=0.1")
    assert both.exit_code == 1 and both.stderr.startswith("Error: ") and "both" in both.stderr


def test_stdin(graph):
    result = run("-", "--format", "csv", input=json.dumps(GRAPH))
    assert result.exit_code == 0 and result.stdout.splitlines()[1].startswith("a,10,4,")


@pytest.mark.parametrize("args, code, message", [
    (["--shock", "zz=0.5"], 1, "unknown node"),
    (["--shock", "a=1.5"], 1, "must be a number in [0, 1]"),
    (["--shock", "a=0.1", "--shock", "a=0.2"], 1, "shocked twice"),
    (["--alpha", "2"], 2, "--alpha"),
    (["--method", "simplex"], 2, "--method"),
    (["--tol", "0"], 2, "--tol"),
])
def test_errors(graph, args, code, message):
    result = run(graph, *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert result.stdout == ""


def test_non_convergence(graph):
    warned = run(graph, "--max-iter", "0", "--format", "json")
    assert warned.exit_code == 0
    assert "Warning: Clearing did not converge" in warned.stderr
    assert json.loads(warned.stdout)["summary"]["converged"] is False
    strict = run(graph, "--max-iter", "0", "--strict")
    assert strict.exit_code == 3
    assert strict.stderr.startswith("Error: Clearing did not converge")


def test_output_file(graph, tmp_path):
    out = tmp_path / "out.csv"
    result = run(graph, "--format", "csv", "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_text(encoding="utf-8").startswith("node,obligations,payments,")


def test_help_has_example():
    result = CliRunner().invoke(cli, ["clear", "--help"])
    assert result.exit_code == 0
    assert "exposure clear" in result.output.split("Example:", 1)[1]
