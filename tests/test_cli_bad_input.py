"""Every bad input through every command: a clear ``Error:`` line and a non-zero exit, never a traceback.

Any exception that escapes the library's own error types is a bug; click's CliRunner records
such an exception as ``result.exception`` (anything but ``SystemExit``), which these tests forbid.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli

GRAPHS = Path(__file__).resolve().parent.parent / "graphs"
CHAIN = json.loads((GRAPHS / "chain.json").read_text(encoding="utf-8"))

# ------------------------------------------------------------------------- bad graphs
BAD_GRAPHS = {
    "missing file": None,
    "empty file": b"",
    "not json": b"{nodes: [}",
    "truncated json": json.dumps(CHAIN).encode()[:60],
    "json list": b"[1, 2, 3]",
    "binary": bytes(range(256)) * 4,
    "utf-16": json.dumps(CHAIN).encode("utf-16"),
    "negative amount": json.dumps({**CHAIN, "edges": [{**CHAIN["edges"][0], "amount": -5}]}).encode(),
    "unknown node": json.dumps({**CHAIN, "edges": [{**CHAIN["edges"][0], "creditor": "zz"}]}).encode(),
    "no nodes": json.dumps({**CHAIN, "nodes": []}).encode(),
    "nan amount": json.dumps({**CHAIN, "edges": [{**CHAIN["edges"][0], "amount": "NaN"}]}).encode(),
    "version 2 edge in version 1": json.dumps(
        {**CHAIN, "edges": [{"kind": "holding", "holder": "a", "token": "b", "amount": 1}]}).encode(),
    "duplicate ids": json.dumps({**CHAIN, "nodes": CHAIN["nodes"] + CHAIN["nodes"][:1]}).encode(),
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "unknown liability type": json.dumps(
        {**CHAIN, "version": 2, "nodes": [{**CHAIN["nodes"][0], "liability_type": "equity"}, *CHAIN["nodes"][1:]]}
    ).encode(),
    "negative first loss": json.dumps(
        {**CHAIN, "version": 2, "nodes": [{**CHAIN["nodes"][0], "first_loss": -1}, *CHAIN["nodes"][1:]]}).encode(),
    "unknown first-loss provider": json.dumps(
        {**CHAIN, "version": 2, "nodes": [{**CHAIN["nodes"][0], "first_loss": 1, "first_loss_provider": "zz"},
                                          *CHAIN["nodes"][1:]]}).encode(),
}


def _graph_file(tmp_path: Path, name: str) -> str:
    content = BAD_GRAPHS[name]
    path = tmp_path / "graph.json"
    if content is not None:
        path.write_bytes(content)
    return str(path)


def _csv_dir(tmp_path: Path, nodes: str, edges: str | None) -> str:
    d = tmp_path / "csvgraph"
    d.mkdir()
    (d / "nodes.csv").write_text(nodes, encoding="utf-8")
    if edges is not None:
        (d / "edges.csv").write_text(edges, encoding="utf-8")
    return str(d)


BAD_CSV = {
    "no edges.csv": ("id\na\nb\n", None),
    "text amount": ("id\na\nb\n", "debtor,creditor,amount\na,b,lots\n"),
    "ragged row": ("id\na\nb\n", "debtor,creditor,amount\na,b,1,2,3\n"),
    "unclosed quote": ("id\na\nb\n", 'debtor,creditor,amount\n"a,b,1\n'),
    "no id column": ("name\na\n", "debtor,creditor,amount\na,b,1\n"),
    "unknown liability type": ("id,liability_type\na,debt\nb,loan\n", "debtor,creditor,amount\na,b,1\n"),
    "text first loss": ("id,first_loss\na,some\nb,\n", "debtor,creditor,amount\na,b,1\n"),
}

#: Every command, as the arguments that follow GRAPH.
COMMANDS = {
    "validate": ["validate"],
    "info": ["info"],
    "clear": ["clear"],
    "rank debtrank": ["rank"],
    "rank all": ["rank", "--method", "all"],
    "stress": ["stress", "SCENARIOS"],
    "reverse stress": ["stress", "--reverse", "--shock-type", "asset_loss", "--target", "n_defaults>0"],
    "metrics": ["metrics"],
    "metrics scenarios": ["metrics", "SCENARIOS"],
}


def _invoke(args, input=None):
    return CliRunner().invoke(cli, args, input=input)


def _assert_clean_failure(result, args):
    assert result.exit_code in (1, 2), (args, result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    assert "Traceback" not in result.output, args
    if args[0] == "validate" and result.exit_code == 1 and not result.stderr.startswith("Error:"):
        # validate lists the problems as data (stdout) and ends with its verdict on stderr
        assert ": invalid: " in result.stderr and result.stdout, (args, result.stderr)
    else:
        assert result.stderr.startswith(("Error:", "Usage:")) or "\nError:" in result.stderr, (args, result.stderr)


def _command(name, graph):
    args = list(COMMANDS[name])
    if "SCENARIOS" in args:
        args[args.index("SCENARIOS")] = str(GRAPHS / "scenarios.json")
    return [args[0], graph, *args[1:]]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("bad", BAD_GRAPHS)
def test_bad_graph_files(tmp_path, command, bad):
    args = _command(command, _graph_file(tmp_path, bad))
    _assert_clean_failure(_invoke(args + ["--format", "json"]), args)


@pytest.mark.parametrize("command", ["validate", "info", "clear", "rank debtrank"])
@pytest.mark.parametrize("bad", BAD_CSV)
def test_bad_csv_graphs(tmp_path, command, bad):
    args = _command(command, _csv_dir(tmp_path, *BAD_CSV[bad]))
    _assert_clean_failure(_invoke(args + ["--format", "json"]), args)


def _parquet_dir(tmp_path: Path, name: str) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    nodes, edges = BAD_PARQUET[name]
    d = tmp_path / "pqgraph"
    d.mkdir()
    if nodes is None:
        (d / "nodes.parquet").write_bytes(b"not parquet")
    else:
        pq.write_table(pa.table(nodes), d / "nodes.parquet")
    if edges is not None:
        pq.write_table(pa.table(edges), d / "edges.parquet")
    return str(d)


BAD_PARQUET = {
    "not parquet": (None, {"debtor": ["a"], "creditor": ["b"], "amount": [1.0]}),
    "no edges.parquet": ({"id": ["a", "b"]}, None),
    "text amount": ({"id": ["a", "b"]}, {"debtor": ["a"], "creditor": ["b"], "amount": ["lots"]}),
    "null id": ({"id": ["a", None]}, {"debtor": ["a"], "creditor": ["b"], "amount": [1.0]}),
    "NaN amount": ({"id": ["a", "b"]}, {"debtor": ["a"], "creditor": ["b"], "amount": [float("nan")]}),
    "no id column": ({"name": ["a"]}, {"debtor": ["a"], "creditor": ["b"], "amount": [1.0]}),
}


@pytest.mark.parametrize("command", ["validate", "info", "clear", "rank debtrank"])
@pytest.mark.parametrize("bad", BAD_PARQUET)
def test_bad_parquet_graphs(tmp_path, command, bad):
    args = _command(command, _parquet_dir(tmp_path, bad))
    if bad == "no edges.parquet":
        args += ["--input-format", "parquet"]
    _assert_clean_failure(_invoke(args + ["--format", "json"]), args)


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_standard_input(command):
    args = _command(command, "-")
    _assert_clean_failure(_invoke(args + ["--format", "json"], input="not a graph"), args)


# ---------------------------------------------------------------------- bad options
CHAIN_JSON = str(GRAPHS / "chain.json")
DEFI_JSON = str(GRAPHS / "defi.json")
SCENARIOS = str(GRAPHS / "scenarios.json")

BAD_OPTIONS = [
    ["clear", CHAIN_JSON, "--shock", "a"],
    ["clear", CHAIN_JSON, "--shock", "a=2"],
    ["clear", CHAIN_JSON, "--shock", "zz=0.5"],
    ["clear", CHAIN_JSON, "--shock", "a=0.5", "--shock", "a=0.2"],
    ["clear", CHAIN_JSON, "--tol", "0"],
    ["clear", CHAIN_JSON, "--alpha", "2"],
    ["clear", CHAIN_JSON, "--max-iter", "-1"],
    ["clear", CHAIN_JSON, "--input-format", "csv"],
    ["clear", CHAIN_JSON, "--format", "xml"],
    ["clear", str(GRAPHS), "--input-format", "graphml"],
    ["rank", CHAIN_JSON, "--method", "closeness"],
    ["rank", CHAIN_JSON, "--method", "debtrank", "--lgd", "0.5"],
    ["rank", CHAIN_JSON, "--method", "impact", "--initial-distress", "0.5"],
    ["rank", CHAIN_JSON, "--top", "0"],
    ["rank", CHAIN_JSON, "--shock", "zz=1"],
    ["stress", DEFI_JSON],
    ["stress", DEFI_JSON, SCENARIOS, "--scenario", "nope"],
    ["stress", DEFI_JSON, CHAIN_JSON],
    ["stress", DEFI_JSON, str(GRAPHS / "missing.json")],
    ["stress", DEFI_JSON, SCENARIOS, "--target", "bad_debt>0"],
    ["stress", DEFI_JSON, "--reverse", "--shock-type", "depeg"],
    ["stress", DEFI_JSON, "--reverse", "--shock-type", "depeg", "--target", "bad_debt<0"],
    ["stress", DEFI_JSON, "--reverse", "--shock-type", "depeg", "--target", "bad_debt>0", "--node", "zz"],
    ["stress", DEFI_JSON, "--reverse", "--shock-type", "price", "--target", "bad_debt>0", "--node", "stETH"],
    ["stress", DEFI_JSON, "--reverse", "--shock-type", "forged_supply", "--target", "bad_debt>0",
     "--max-shock", "0"],
    ["stress", "-", "-"],
    ["info", CHAIN_JSON, "--top", "0"],
    ["metrics", DEFI_JSON, "--table", "size.nope"],
    ["metrics", DEFI_JSON, "--price-move", "1.5"],
    ["metrics", DEFI_JSON, "--points", "1"],
    ["metrics", DEFI_JSON, "--scenario", "steth-depeg-2022"],
    ["metrics", DEFI_JSON, SCENARIOS, "--scenario", "nope"],
    ["metrics", DEFI_JSON, CHAIN_JSON],
    ["metrics", DEFI_JSON, str(GRAPHS / "missing.json")],
    ["metrics", "-", "-"],
    ["validate", CHAIN_JSON, "--mapping", "3"],
]


@pytest.mark.parametrize("args", BAD_OPTIONS, ids=[" ".join(a[:1] + a[2:])[:60] for a in BAD_OPTIONS])
def test_bad_options(args):
    args = args if "--format" in args else args + ["--format", "json"]
    _assert_clean_failure(_invoke(args), args)


def test_bad_shock_file(tmp_path):
    bad = tmp_path / "shock.json"
    for text in ("{", "[1]", '[{"node": "a", "fraction": 3}]', '{"node": "a"}'):
        bad.write_text(text, encoding="utf-8")
        args = ["clear", CHAIN_JSON, "--shock-file", str(bad)]
        _assert_clean_failure(_invoke(args), args)


@pytest.mark.parametrize("command", ["stress", "metrics"])
def test_bad_scenario_files(tmp_path, command):
    bad = tmp_path / "scenarios.json"
    for text in ("", "{", "[]", '{"format": "exposure-scenario", "version": 1, "scenarios": [{"name": "x"}]}',
                 '{"format": "exposure-scenario", "version": 1, "scenarios": [{"name": "x", "shocks": '
                 '[{"type": "price", "node": "stETH", "change": -0.1}]}]}'):
        bad.write_text(text, encoding="utf-8")
        args = [command, DEFI_JSON, str(bad)]
        _assert_clean_failure(_invoke(args), args)


# ------------------------------------------------------------------------ bad exports
IMPORTS = Path(__file__).resolve().parent / "data" / "importers"

#: (name, --from kind, file suffix, content); None content = the file does not exist.
BAD_EXPORTS = [
    ("missing file", "aave-subgraph", ".json", None),
    ("not json", "aave-subgraph", ".json", b"{data: [}"),
    ("truncated", "morpho-subgraph", ".json", (IMPORTS / "morpho_blue.json").read_bytes()[:300]),
    ("graphql error", "aave-subgraph", ".json", b'{"errors": [{"message": "indexing_error"}]}'),
    ("no reserves", "aave-subgraph", ".json", b'{"data": {"userReserves": []}}'),
    ("no markets", "morpho-subgraph", ".json", b'{"data": {"positions": []}}'),
    ("not a llama response", "defillama", ".json", b'{"hello": 1}'),
    ("utf-16", "defillama", ".json", "[]".encode("utf-16")),
    ("not a dune export", "dune-lending", ".csv", b"a,b\n1,2\n"),
    ("text amount in dune", "dune-lending", ".csv",
     b"project,version,symbol,borrower,amount,usd_amount,block_time\naave,3,WETH,0xa,lots,1,2025-10-01\n"),
    ("table without amount", "table", ".csv", b"holder,token_or_issuer,kind\na,b,deposit\n"),
    ("table negative amount", "table", ".csv", b"holder,token_or_issuer,amount_usd,kind\na,b,-1,deposit\n"),
]


@pytest.mark.parametrize("name, kind, suffix, content", BAD_EXPORTS, ids=[b[0] for b in BAD_EXPORTS])
def test_bad_exports(tmp_path, name, kind, suffix, content):
    src = tmp_path / f"export{suffix}"
    if content is not None:
        src.write_bytes(content)
    out = tmp_path / "out.json"
    args = ["import", str(src), "--from", kind, "-o", str(out)]
    _assert_clean_failure(_invoke(args), args)
    assert not out.exists()


def test_bad_import_options(tmp_path):
    aave = str(IMPORTS / "aave_core.json")
    prices = tmp_path / "prices.csv"
    prices.write_text("token,price_usd,as_of\nWETH,-3,2025-10-31\n", encoding="utf-8")
    for args in (["import", aave, "--from", "aave", "-o", str(tmp_path / "o.json")],
                 ["import", aave, "--from", "aave-subgraph"],
                 ["import", aave, "--from", "aave-subgraph", "--as-of", "31/10/2025", "-o", str(tmp_path / "o.json")],
                 ["import", aave, "--from", "aave-subgraph", "--prices", str(prices), "-o", str(tmp_path / "o.json")],
                 ["import", aave, "--from", "aave-subgraph", "--into", str(tmp_path / "none.json"),
                  "-o", str(tmp_path / "o.json")],
                 ["import", aave, "--from", "aave-subgraph", "--strict", "-o", str(tmp_path / "o.json")]):
        _assert_clean_failure(_invoke(args), args)
    assert not (tmp_path / "o.json").exists()
