"""The Parquet form (nodes.parquet + edges.parquet) and the Arrow CSV reader.

Round trips Parquet ↔ CSV ↔ JSON are property-based (the oracle is the network itself); every
bad input of the CSV form gives, in Parquet, the same message at the same row; the Arrow CSV
reader is checked against the pandas C parser it replaces (an independent parser of the same
text) on generated files.
"""

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exposure import GraphFormatError, InvalidNetworkError
from exposure.io import check_graph, guess_format, read_graph, write_graph
from exposure.io import _csv
from tests.test_io_roundtrip import assert_same, networks


def _parquet_dir(tmp_path, nodes: dict, edges: dict, name="pq"):
    d = tmp_path / name
    d.mkdir()
    pq.write_table(pa.table(nodes), d / "nodes.parquet")
    pq.write_table(pa.table(edges), d / "edges.parquet")
    return d


def _messages(d):
    return [str(p).replace(str(d) + "/", "") for p in check_graph(d)[1]]


@given(networks())
@settings(max_examples=30)
def test_parquet_round_trip_keeps_everything(tmp_path_factory, net):
    d = tmp_path_factory.mktemp("pq")
    write_graph(net, d, "parquet")
    assert guess_format(d) == "parquet"
    back = read_graph(d)
    assert_same(net, back)
    assert back.meta == net.meta          # the Parquet form keeps every metadata value


@given(networks())
@settings(max_examples=20)
def test_json_to_parquet_to_csv_to_json(tmp_path_factory, net):
    d = tmp_path_factory.mktemp("chain")
    write_graph(net, d / "a.json")
    write_graph(read_graph(d / "a.json"), d / "pq", "parquet")
    write_graph(read_graph(d / "pq"), d / "csv", "csv")
    write_graph(read_graph(d / "csv"), d / "pq2", "parquet")
    assert_same(net, read_graph(d / "pq2"), meta=False)
    buf = io.StringIO()
    write_graph(read_graph(d / "pq"), buf, "json")
    assert_same(net, read_graph(io.StringIO(buf.getvalue())))


def test_bundled_graph_through_parquet(tmp_path):
    net = read_graph("graphs/defi.json")
    write_graph(net, tmp_path / "g", "parquet")
    back = read_graph((tmp_path / "g" / "nodes.parquet", tmp_path / "g" / "edges.parquet"))
    assert_same(net, back)
    assert back.meta == net.meta and len(back.positions) == len(net.positions) > 0


# One bad input per case, as CSV text and as the same values in Parquet; both must give the same
# messages, CSV at "line N" and Parquet at "row N - 1" (the header is line 1, the first row row 1).
NODES_OK = {"id": ["a", "b", "ETH"], "kind": ["protocol", "protocol", "asset"], "external_assets": [10.0, 1.0, None]}
NODES_CSV = "id,kind,external_assets\na,protocol,10\nb,protocol,1\nETH,asset,\n"
BAD = {
    "null id": ({"id": ["a", None], "external_assets": [1.0, 2.0]}, "id,external_assets\na,1\n,2\n",
                {"debtor": ["a"], "creditor": ["a"], "amount": [1.0]}, "debtor,creditor,amount\na,a,1\n"),
    "unknown node": (NODES_OK, NODES_CSV, {"debtor": ["a", "a"], "creditor": ["b", "zz"], "amount": [1.0, 2.0]},
                     "debtor,creditor,amount\na,b,1\na,zz,2\n"),
    "negative amount": (NODES_OK, NODES_CSV, {"debtor": ["a"], "creditor": ["b"], "amount": [-3.0]},
                        "debtor,creditor,amount\na,b,-3\n"),
    "NaN amount": (NODES_OK, NODES_CSV, {"debtor": ["a", "b"], "creditor": ["b", "a"], "amount": [1.0, float("nan")]},
                   "debtor,creditor,amount\na,b,1\nb,a,nan\n"),
    "missing amount": (NODES_OK, NODES_CSV, {"debtor": ["a", "b"], "creditor": ["b", "a"], "amount": [None, 1.0]},
                       "debtor,creditor,amount\na,b,\nb,a,1\n"),
    "wrong column type": (NODES_OK, NODES_CSV, {"debtor": ["a"], "creditor": ["b"], "amount": ["lots"]},
                          "debtor,creditor,amount\na,b,lots\n"),
    "infinite field": ({"id": ["a", "b"], "external_assets": [float("inf"), 1.0]}, "id,external_assets\na,inf\nb,1\n",
                       {"debtor": ["a"], "creditor": ["b"], "amount": [1.0]}, "debtor,creditor,amount\na,b,1\n"),
    "duplicate id": ({"id": ["a", "b", "a"]}, "id\na\nb\na\n", {"debtor": ["a"], "creditor": ["b"], "amount": [1.0]},
                     "debtor,creditor,amount\na,b,1\n"),
    "base asset creditor": (NODES_OK, NODES_CSV, {"debtor": ["a"], "creditor": ["ETH"], "amount": [1.0]},
                            "debtor,creditor,amount\na,ETH,1\n"),
    "unknown kind": (NODES_OK, NODES_CSV, {"kind": ["loan"], "debtor": ["a"], "creditor": ["b"], "amount": [1.0]},
                     "kind,debtor,creditor,amount\nloan,a,b,1\n"),
}


@pytest.mark.parametrize("case", BAD)
def test_every_csv_bad_input_has_the_same_message_in_parquet(tmp_path, case):
    import re

    nodes, nodes_csv, edges, edges_csv = BAD[case]
    d = tmp_path / "csv"
    d.mkdir()
    (d / "nodes.csv").write_text(nodes_csv, encoding="utf-8")
    (d / "edges.csv").write_text(edges_csv, encoding="utf-8")
    from_csv = _messages(d)
    assert from_csv and any(": error: " in m for m in from_csv)
    expected = [re.sub(r"^(\w+)\.csv: line (\d+)", lambda m: f"{m.group(1)}.parquet: row {int(m.group(2)) - 1}", m)
                for m in from_csv]
    assert _messages(_parquet_dir(tmp_path, nodes, edges)) == expected
    with pytest.raises(InvalidNetworkError):
        read_graph(tmp_path / "pq")


def test_parquet_messages_name_file_row_and_node(tmp_path):
    d = _parquet_dir(tmp_path, {"id": ["a", "b"], "kind": [1, None]},
                     {"debtor": [1], "creditor": ["b"], "amount": [True]})
    assert _messages(d) == [
        "nodes.parquet: row 1: error: Field 'kind' of node 'a' must be a string. Got 1 instead.",
        "edges.parquet: row 1: error: Field 'debtor' of claim '1->b' must be a node id (a string). Got 1 instead.",
        "edges.parquet: row 1: error: Field 'amount' of claim edge '1->b' must be a finite number. "
        "Got the boolean true instead.",
    ]


def test_unreadable_parquet(tmp_path):
    d = tmp_path / "g"
    d.mkdir()
    (d / "nodes.parquet").write_bytes(b"not parquet at all")
    (d / "edges.parquet").write_bytes(b"x")
    with pytest.raises(GraphFormatError) as err:
        read_graph(d, format="parquet")
    assert str(err.value).startswith(f"{d / 'nodes.parquet'}: error: Cannot read the Parquet file: ")
    (d / "nodes.parquet").unlink()
    with pytest.raises(GraphFormatError) as err:
        read_graph(d, format="parquet")
    assert str(err.value) == (f"{d}: error: The directory has no nodes.parquet; a Parquet graph is a directory "
                              "holding nodes.parquet and edges.parquet.")


# ------------------------------------------------------------ Arrow CSV reader vs pandas parser
CELL = st.one_of(
    st.sampled_from(["", "0", "1", "2.5", "-3", "1e300", "1e400", "nan", "NaN", "inf", "-inf", "x", "true",
                     "2026-01-01", " 4", "0.1"]),
    st.text(st.characters(codec="utf-8", categories=("L", "N"), include_characters=" ,\"\n-é"), max_size=5))


def _quote(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\n') or cell[:1] == " " else cell


@st.composite
def csv_graphs(draw):
    n = draw(st.integers(1, 5))
    ids = [f"n{i}" for i in range(n)] + draw(st.lists(st.sampled_from(["", "n0", "zz"]), max_size=2))
    node_cols = ["id", "kind", "external_assets"] + draw(st.lists(st.sampled_from(["depth", "note", "w"]),
                                                                   unique=True, max_size=2))
    rows = [[i, draw(st.sampled_from(["protocol", "asset", ""]))] + [draw(CELL) for _ in node_cols[2:]] for i in ids]
    edge_cols = ["kind", "debtor", "creditor", "amount"] + draw(
        st.lists(st.sampled_from(["holder", "token", "liquidation_threshold", "source"]), unique=True, max_size=2))
    pool = st.sampled_from([f"n{i}" for i in range(n)] + ["zz", ""])
    erows = []
    for _ in range(draw(st.integers(0, 6))):
        row = [draw(st.sampled_from(["claim", "holding", ""])), draw(pool), draw(pool), draw(CELL)]
        row += [draw(pool) if c in ("holder", "token") else draw(CELL) for c in edge_cols[4:]]
        erows.append(row)
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.sampled_from(["", "\ufeff"]))

    def text(cols, rows):
        return bom + eol.join(",".join(map(_quote, r)) for r in [cols] + rows) + eol
    return text(node_cols, rows), text(edge_cols, erows)


def _pandas_only(monkeypatch):
    def refuse(*args, **kwargs):
        raise pa.ArrowInvalid("pandas path")
    monkeypatch.setattr(_csv, "_read_arrow", refuse)


def _outcome(d):
    try:
        net, problems = check_graph(d)
    except Exception as err:  # pragma: no cover - would be a bug in either reader
        return ("raised", repr(err))
    if net is None:
        return [str(p) for p in problems]
    from exposure.io import to_frames
    nodes, edges = to_frames(net)
    return ([str(p) for p in problems], nodes.astype(object).where(nodes.notna(), None).to_dict("list"),
            edges.astype(object).where(edges.notna(), None).to_dict("list"))


@given(csv_graphs())
@settings(max_examples=60, deadline=None)
def test_arrow_csv_reader_agrees_with_the_pandas_parser(tmp_path_factory, graph):
    d = tmp_path_factory.mktemp("g")
    (d / "nodes.csv").write_text(graph[0], encoding="utf-8", newline="")
    (d / "edges.csv").write_text(graph[1], encoding="utf-8", newline="")
    fast = _outcome(d)
    with pytest.MonkeyPatch.context() as mp:
        _pandas_only(mp)
        slow = _outcome(d)
    assert fast == slow


def test_numeric_fields_keep_missing_and_nan_apart(tmp_path):
    # an empty cell is missing (the default applies); "nan" is a value, and invalid
    d = tmp_path / "g"
    d.mkdir()
    (d / "nodes.csv").write_text("id,external_assets\na,\nb,nan\nc,2\n")
    (d / "edges.csv").write_text("debtor,creditor,amount\na,b,1\n")
    assert _messages(d) == ["nodes.csv: line 3: error: Field 'external_assets' of node 'b' must be a finite "
                            "number. Got NaN instead."]
    net = check_graph(d)[0]
    np.testing.assert_array_equal(net.external_assets, [0.0, 2.0])
