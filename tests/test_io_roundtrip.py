"""Round trips JSON ↔ CSV ↔ networkx ↔ pandas ↔ GraphML / GEXF, property-based.

The oracle is the network itself: every conversion must give back the same
node table, the same edges in the same order, the same amounts bit for bit
and the same liabilities matrix.
"""

import io

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exposure import ExposureNetwork
from exposure.io import from_frames, from_networkx, read_graph, to_frames, to_networkx, write_graph

ID_CHARS = st.characters(codec="utf-8", categories=("L", "N"), include_characters=" ,\"'-_.:/é")
amounts = st.floats(min_value=0.0, max_value=1e15, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def networks(draw, version=None):
    version = version or draw(st.sampled_from([1, 2]))
    ids = draw(st.lists(st.text(ID_CHARS, min_size=1, max_size=8).map(str.strip).filter(bool),
                        min_size=2, max_size=7, unique=True))
    kinds = draw(st.lists(st.sampled_from(["protocol", "token", "asset", "venue"]), min_size=len(ids),
                          max_size=len(ids)))
    nodes = pd.DataFrame({"id": ids, "kind": kinds,
                          "external_assets": draw(st.lists(amounts, min_size=len(ids), max_size=len(ids))),
                          "external_liabilities": draw(st.lists(amounts, min_size=len(ids), max_size=len(ids)))})
    non_asset = [i for i, k in zip(ids, kinds) if k != "asset"]
    tokens = [i for i, k in zip(ids, kinds) if k in ("token", "asset")]
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        if version == 2 and tokens and non_asset and draw(st.booleans()):
            holder = draw(st.sampled_from(non_asset))
            token = draw(st.sampled_from(tokens))
            if holder != token:
                rows.append({"kind": "holding", "holder": holder, "token": token, "amount": draw(amounts)})
            continue
        if not non_asset:
            break
        d = draw(st.sampled_from(ids))
        c = draw(st.sampled_from(non_asset))
        if d == c:
            continue
        row = {"kind": "claim", "debtor": d, "creditor": c, "amount": draw(amounts)}
        if draw(st.booleans()):
            row["source"] = "s" + draw(st.text(ID_CHARS, max_size=5))
        rows.append(row)
    edges = pd.DataFrame(rows) if rows else None
    return ExposureNetwork.from_frames(nodes, edges, meta={"version": version, "name": "g", "as_of": "2025-10-31"})


def _norm(frame: pd.DataFrame) -> list[dict]:
    out = []
    for rec in frame.astype(object).to_dict("records"):
        out.append({k: v for k, v in rec.items()
                    if not (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)))})
    return out


def assert_same(a: ExposureNetwork, b: ExposureNetwork, *, meta=True, ordered=True):
    """Same nodes in the same order, same edges (in the same order unless ``ordered=False``:
    networkx lists edges by adjacency, not in input order)."""
    na, ea = to_frames(a)
    nb, eb = to_frames(b)
    assert _norm(na) == _norm(nb)
    if ordered:
        assert _norm(ea) == _norm(eb)
    else:
        assert sorted(map(repr, _norm(ea))) == sorted(map(repr, _norm(eb)))
    assert (a.liabilities != b.liabilities).nnz == 0
    np.testing.assert_array_equal(a.external_assets, b.external_assets)
    assert a.version == b.version
    if meta:
        assert {k: a.meta[k] for k in ("name", "as_of")} == {k: b.meta[k] for k in ("name", "as_of")}


@given(networks())
def test_json_round_trip(net):
    buf = io.StringIO()
    write_graph(net, buf, "json")
    assert_same(net, read_graph(io.StringIO(buf.getvalue())))


@given(networks())
@settings(max_examples=30)
def test_csv_round_trip(tmp_path_factory, net):
    d = tmp_path_factory.mktemp("csv")
    write_graph(net, d, "csv")
    back = read_graph(d)
    assert_same(net, back, meta=False)


@given(networks())
def test_networkx_round_trip(net):
    G = to_networkx(net)
    assert_same(net, from_networkx(G), ordered=False)


@given(networks())
def test_pandas_round_trip(net):
    nodes, edges = to_frames(net)
    assert_same(net, from_frames(nodes, edges, meta=dict(net.meta)))


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
@given(net=networks())
@settings(max_examples=20)
def test_xml_round_trip(tmp_path_factory, fmt, net):
    p = tmp_path_factory.mktemp("xml") / f"g.{fmt}"
    write_graph(net, p)
    assert_same(net, read_graph(p), meta=(fmt == "graphml"), ordered=False)


@given(networks())
@settings(max_examples=20)
def test_json_to_csv_to_networkx_to_json(tmp_path_factory, net):
    d = tmp_path_factory.mktemp("chain")
    write_graph(net, d / "a.json")
    write_graph(read_graph(d / "a.json"), d / "csv")
    G = to_networkx(read_graph(d / "csv"))
    write_graph(from_networkx(G), d / "b.json")
    assert_same(net, read_graph(d / "b.json"), meta=False, ordered=False)


def test_networkx_edge_direction_follows_the_liabilities():
    # a owes b 4 (claim a -> b); w holds 2 of token t (holding t -> w)
    net = ExposureNetwork.from_frames(
        pd.DataFrame({"id": ["a", "b", "w", "t"], "kind": ["protocol", "protocol", "protocol", "token"]}),
        pd.DataFrame({"kind": ["claim", "holding"], "debtor": ["a", None], "creditor": ["b", None],
                      "holder": [None, "w"], "token": [None, "t"], "amount": [4.0, 2.0]}),
        meta={"version": 2})
    G = to_networkx(net)
    assert isinstance(G, nx.DiGraph) and not G.is_multigraph()
    assert G.edges["a", "b"] == {"kind": "claim", "amount": 4.0}
    assert G.edges["t", "w"] == {"kind": "holding", "amount": 2.0}
    assert G.nodes["a"]["kind"] == "protocol" and G.graph["version"] == 2


def test_parallel_claims_give_a_multigraph():
    net = ExposureNetwork.from_frames(pd.DataFrame({"id": ["a", "b"]}),
                                      pd.DataFrame({"debtor": ["a", "a"], "creditor": ["b", "b"],
                                                    "amount": [1.0, 2.0]}))
    G = to_networkx(net)
    assert G.is_multigraph() and G.number_of_edges("a", "b") == 2
    with pytest.raises(ValueError):
        to_networkx(net, multigraph=False)
    assert from_networkx(G).liabilities.toarray()[0, 1] == 3.0  # 1 + 2 summed


def test_from_networkx_reports_bad_amounts_by_edge():
    G = nx.DiGraph()
    G.add_edge("a", "b", amount=-1.0)
    net = from_networkx(G, strict=False)
    assert [str(p) for p in net.problems] == [
        "edge 'a' -> 'b', attribute 'amount': error: Field 'amount' of claim edge 'a->b' must be a finite non-negative number. Got -1.0 instead."]


def test_write_is_atomic_and_keeps_no_temporary_files(tmp_path):
    net = ExposureNetwork.from_frames(pd.DataFrame({"id": ["a", "b"]}),
                                      pd.DataFrame({"debtor": ["a"], "creditor": ["b"], "amount": [1.0]}))
    write_graph(net, tmp_path / "g.json")
    write_graph(net, tmp_path / "csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csv", "g.json"]
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["edges.csv", "nodes.csv"]


def test_json_is_written_one_node_or_edge_per_line():
    net = ExposureNetwork.from_frames(pd.DataFrame({"id": ["a", "b"]}),
                                      pd.DataFrame({"debtor": ["a"], "creditor": ["b"], "amount": [1.5]}),
                                      meta={"name": "g"})
    buf = io.StringIO()
    write_graph(net, buf, "json")
    assert buf.getvalue().splitlines() == [
        "{", ' "format": "exposure-graph",', ' "version": 1,', ' "name": "g",', ' "currency": "USD",',
        ' "nodes": [',
        '  {"id": "a", "kind": "protocol", "label": "a", "external_assets": 0.0, "external_liabilities": 0.0},',
        '  {"id": "b", "kind": "protocol", "label": "b", "external_assets": 0.0, "external_liabilities": 0.0}',
        " ],", ' "edges": [', '  {"kind": "claim", "debtor": "a", "creditor": "b", "amount": 1.5}', " ]", "}"]
