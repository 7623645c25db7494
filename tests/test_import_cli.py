"""exposure import: warnings on stderr with counts, --strict, --into merging by node id, the written graph."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import exposure
from cli import cli
from exposure.io.importers import import_graph

DATA = Path(__file__).resolve().parent / "data" / "importers"


def _run(*args):
    return CliRunner().invoke(cli, ["import", *map(str, args)])


def test_import_writes_a_version_2_graph_and_warns_on_stderr(tmp_path):
    out = tmp_path / "aave.json"
    r = _run(DATA / "aave_core.json", "--from", "aave-subgraph", "-o", out)
    assert r.exit_code == 0, r.output
    warnings = [line for line in r.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 3 and all("aave_core.json" in w for w in warnings)
    assert "10 nodes, 9 edges, 3 warnings" in r.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["version"] == 2 and doc["imported_from"] == "aave-subgraph"
    net = exposure.read_graph(out)
    assert len(net.positions) == 5 and net.nodes.loc["aave_core", "liability_type"] == "debt"


def test_strict_makes_warnings_errors_and_writes_nothing(tmp_path):
    out = tmp_path / "aave.json"
    r = _run(DATA / "aave_core.json", "--from", "aave-subgraph", "--strict", "-o", out)
    assert r.exit_code == 1 and r.stderr.startswith("Error:") and "--strict" in r.stderr
    assert not out.exists()
    # a clean source passes under --strict
    clean = tmp_path / "clean.csv"
    clean.write_text("holder,token_or_issuer,amount_usd,kind\nfund,aave,10,deposit\n", encoding="utf-8")
    assert _run(clean, "--from", "table", "--strict", "-o", out).exit_code == 0 and out.exists()


def test_into_merges_several_sources_by_node_id(tmp_path):
    aave, both = tmp_path / "aave.json", tmp_path / "both.json"
    assert _run(DATA / "aave_core.json", "--from", "aave-subgraph", "-o", aave).exit_code == 0
    r = _run(DATA / "morpho_blue.json", "--from", "morpho-subgraph", "--into", aave, "-o", both)
    assert r.exit_code == 0, r.output
    a, m = exposure.read_graph(aave), import_graph([DATA / "morpho_blue.json"], "morpho-subgraph").network
    net = exposure.read_graph(both)
    # WETH and USDC are in both: one node each; every edge of both imports is kept
    shared = set(a.node_ids) & set(m.node_ids)
    assert shared == {"WETH", "wstETH", "USDC"}
    assert net.n == a.n + m.n - len(shared)
    assert len(net.positions) == len(a.positions) + len(m.positions)
    assert net.n_claims + len(net.holdings) == a.n_claims + len(a.holdings) + m.n_claims + len(m.holdings)
    # the graph's own fields win: aave's lender keeps its first loss, the import adds its markets
    assert net.nodes.loc["aave_core", "first_loss"] == a.nodes.loc["aave_core", "first_loss"]
    assert net.nodes.loc["morpho/wstETH-WETH-94.5", "liability_type"] == "shares"


def test_into_keeps_the_kind_a_node_has_and_says_so(tmp_path):
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps({"format": "exposure-graph", "version": 2, "nodes": [
        {"id": "WETH", "kind": "token"}, {"id": "x", "kind": "protocol"}], "edges": [
        {"kind": "holding", "holder": "x", "token": "WETH", "amount": 5}]}), encoding="utf-8")
    r = import_graph([DATA / "morpho_blue.json"], "morpho-subgraph", into=graph)
    assert r.network.nodes.loc["WETH", "kind"] == "token"
    assert any("another kind" in p.message and "(WETH)" in p.message for p in r.problems)


def test_standard_output_is_json(tmp_path):
    r = _run(DATA / "table_exposures.csv", DATA / "table_nodes.csv", "--from", "table", "-o", "-")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["format"] == "exposure-graph" and any(e["kind"] == "collateral" for e in doc["edges"])


@pytest.mark.parametrize("args", [
    ["defillama_protocol_aave-v3.json", "defillama_protocols.json", "--from", "defillama"],
    ["dune_lending_borrow.csv", "dune_lending_supply.csv", "--from", "dune-lending", "--prices", "prices.csv"],
])
def test_every_kind_runs_from_the_command_line(tmp_path, args):
    args = [str(DATA / a) if a.endswith((".json", ".csv")) else a for a in args]
    r = _run(*args, "-o", tmp_path / "g.json")
    assert r.exit_code == 0, r.output
    assert exposure.read_graph(tmp_path / "g.json").version == 2
