"""The JSON reader: versions 1 and 2, and an exact message for every bad input."""

import io
import json

import numpy as np
import pytest

from exposure import GraphFormatError, InvalidNetworkError
from exposure.io import check_graph, read_graph


def doc(nodes=None, edges=None, version=1, **top):
    d = {"format": "exposure-graph", "version": version, "name": "t", "as_of": "2025-10-31",
         "currency": "USD"}
    d.update(top)
    d["nodes"] = nodes if nodes is not None else [
        {"id": "a", "kind": "protocol", "external_assets": 10.0},
        {"id": "b", "kind": "protocol", "external_assets": 1.0, "external_liabilities": 2.0},
        {"id": "ETH", "kind": "asset"},
    ]
    d["edges"] = edges if edges is not None else [
        {"kind": "claim", "debtor": "a", "creditor": "b", "amount": 4.0, "source": "s"},
        {"kind": "claim", "debtor": "ETH", "creditor": "b", "amount": 3.0},
    ]
    return d


def write(tmp_path, d, name="g.json", indent=1):
    p = tmp_path / name
    p.write_text(d if isinstance(d, str) else json.dumps(d, indent=indent), encoding="utf-8")
    return p


def messages(tmp_path, d, **kw):
    p = write(tmp_path, d, **kw)
    net, problems = check_graph(p)
    return [str(x).replace(str(p), "FILE") for x in problems]


def test_reads_version_1(tmp_path):
    net = read_graph(write(tmp_path, doc()))
    assert list(net.node_ids) == ["a", "b", "ETH"]
    # a owes b 4; b's 3 of ETH is a base-asset holding: e_b = 1 + 3 = 4
    np.testing.assert_array_equal(net.liabilities.toarray(), [[0, 4, 0], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(net.external_assets, [10.0, 4.0, 0.0])
    np.testing.assert_array_equal(net.external_liabilities, [0.0, 2.0, 0.0])
    assert net.meta["name"] == "t" and net.meta["as_of"] == "2025-10-31" and net.version == 1
    assert net.claims["source"].iloc[0] == "s"


def test_reads_version_2_holdings_and_positions(tmp_path):
    nodes = [{"id": "aave", "kind": "venue"}, {"id": "w", "kind": "protocol", "external_assets": 5},
             {"id": "stETH", "kind": "token", "issuer": "lido"}, {"id": "lido"}, {"id": "USDC", "kind": "asset"}]
    edges = [{"kind": "claim", "debtor": "lido", "creditor": "stETH", "amount": 9},
             {"kind": "holding", "holder": "w", "token": "stETH", "amount": 2},
             {"kind": "collateral", "lender": "aave", "borrower": "w", "collateral_token": "stETH",
              "debt_token": "USDC", "collateral": 10, "debt": 7, "liquidation_threshold": 0.8}]
    net = read_graph(write(tmp_path, doc(nodes, edges, version=2)))
    assert net.version == 2 and len(net.holdings) == 1 and len(net.positions) == 1
    assert net.positions["oracle"].iloc[0] == "market"  # default
    assert net.nodes.loc["stETH", "issuer"] == "lido"


def test_reads_stdin_and_open_file(tmp_path, monkeypatch):
    text = json.dumps(doc())
    assert read_graph(io.StringIO(text)).n == 3
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert read_graph("-").n == 3


@pytest.mark.parametrize("edge, expected", [
    ({"debtor": "a", "creditor": "zz", "amount": 1},
     "FILE: $.edges[0].creditor (line 15): error: Field 'creditor' of claim 'a->zz' refers to unknown node 'zz'."),
    ({"debtor": "a", "creditor": "a", "amount": 1},
     "FILE: $.edges[0].creditor (line 15): error: Claim edge 'a->a' has the same node as debtor and creditor; "
     "self-claims are not allowed."),
    ({"debtor": "a", "creditor": "b", "amount": -1},
     "FILE: $.edges[0].amount (line 16): error: Field 'amount' of claim edge 'a->b' must be a finite "
     "non-negative number. Got -1.0 instead."),
    ({"debtor": "a", "creditor": "b", "amount": "12"},
     "FILE: $.edges[0].amount (line 16): error: Field 'amount' of claim edge 'a->b' must be a finite number. "
     "Got the string '12' instead."),
    ({"debtor": "a", "creditor": "b", "amount": True},
     "FILE: $.edges[0].amount (line 16): error: Field 'amount' of claim edge 'a->b' must be a finite number. "
     "Got the boolean true instead."),
    ({"debtor": "a", "creditor": "b"},
     "FILE: $.edges[0] (line 13): error: Field 'amount' of claim edge 'a->b' is required but missing."),
    ({"debtor": "a", "amount": 1},
     "FILE: $.edges[0] (line 13): error: Field 'creditor' of claim edge number 0 is required but missing."),
    ({"debtor": 3, "creditor": "b", "amount": 1},
     "FILE: $.edges[0].debtor (line 14): error: Field 'debtor' of claim '3->b' must be a node id (a string). "
     "Got 3 instead."),
    ({"kind": "loan", "debtor": "a", "creditor": "b", "amount": 1},
     "FILE: $.edges[0].kind (line 14): error: Field 'kind' of edge number 0 must be one of claim. "
     "Got the string 'loan' instead."),
    ({"kind": "holding", "holder": "a", "token": "b", "amount": 1},
     "FILE: $.edges[0].kind (line 14): error: Edge kind 'holding' needs format version 2; the document "
     "declares version 1."),
])
def test_bad_edge_messages(tmp_path, edge, expected):
    # layout(): line 13 is the edge's '{', its fields follow on lines 14, 15, 16 in the order given
    text = layout(doc(edges=[edge]))
    assert messages(tmp_path, text) == [expected]


def layout(d):
    """A fixed layout: one line per top-level field and per node, one line per edge field."""
    lines = ["{"]
    for k in ("format", "version", "name", "as_of", "currency"):
        lines.append(f"  {json.dumps(k)}: {json.dumps(d[k])},")
    lines.append('  "nodes": [')
    lines.append(",\n".join("    " + json.dumps(n) for n in d["nodes"]))
    lines.append("  ],")
    lines.append('  "edges": [')
    edges = []
    for e in d["edges"]:
        body = ",\n".join(f"      {json.dumps(k)}: {json.dumps(v)}" for k, v in e.items())
        edges.append("    {\n" + body + "\n    }")
    lines.append(",\n".join(edges))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def test_layout_line_numbers_are_what_the_tests_assume():
    # 1 "{", 2-6 top fields, 7 '"nodes": [', 8-10 nodes, 11 "],", 12 '"edges": [', 13 "{", 14 first field
    text = layout(doc(edges=[{"debtor": "a", "creditor": "b", "amount": 1}])).splitlines()
    assert text[12].strip() == "{" and text[13].strip().startswith('"debtor"')


def test_problems_in_nodes_and_document(tmp_path):
    nodes = [{"id": "a"}, {"id": "a", "external_assets": "x"}, {"kind": "token"}, {"id": "c", "external_liabilities": -2}]
    d = doc(nodes=nodes, edges=[], version=1)
    got = messages(tmp_path, d, indent=None)
    assert got == [
        "FILE: $.nodes[1].id (line 1): error: Duplicate node id 'a': it is already defined by node number 0.",
        "FILE: $.nodes[1].external_assets (line 1): error: Field 'external_assets' of node 'a' must be a finite "
        "number. Got the string 'x' instead.",
        "FILE: $.nodes[2] (line 1): error: Field 'id' of node number 2 is required but missing.",
        "FILE: $.nodes[3].external_liabilities (line 1): error: Field 'external_liabilities' of node 'c' must be "
        "a finite non-negative number. Got -2.0 instead.",
    ]


@pytest.mark.parametrize("change, expected", [
    ({"format": "other"}, "FILE: $.format (line 1): error: Field 'format' must be 'exposure-graph'. "
                          "Got the string 'other' instead."),
    ({"version": 3}, "FILE: $.version (line 1): error: Field 'version' must be 1 or 2. Got 3 instead."),
    ({"version": "1"}, "FILE: $.version (line 1): error: Field 'version' must be 1 or 2. "
                       "Got the string '1' instead."),
    ({"nodes": {"a": 1}, "edges": []}, "FILE: $.nodes (line 1): error: Field 'nodes' must be a list of objects. "
                          "Got a object instead."),
    ({"nodes": [], "edges": []}, "FILE: $.nodes (line 1): error: The graph has no nodes; expected at least one."),
    ({"edges": [7]}, "FILE: $.edges[0] (line 1): error: Each entry of 'edges' must be an object. Got 7 instead."),
    ({"name": 5}, "FILE: $.name (line 1): error: Field 'name' must be a string. Got 5 instead."),
])
def test_document_problems(tmp_path, change, expected):
    d = doc()
    d.update(change)
    got = messages(tmp_path, d, indent=None)
    assert got == [expected]
    with pytest.raises(InvalidNetworkError) as err:
        read_graph(write(tmp_path, d, indent=None))
    assert str(err.value).replace(str(tmp_path / "g.json"), "FILE") == expected


def test_missing_format_and_version_are_warnings(tmp_path):
    d = doc()
    del d["format"], d["version"]
    net, problems = check_graph(write(tmp_path, d, indent=None))
    assert [p.severity for p in problems] == ["warning", "warning"]
    assert problems[1].message == "Field 'version' is missing; version 1 is assumed."
    assert net.n == 3


def test_missing_nodes_field(tmp_path):
    d = doc()
    del d["nodes"]
    d["edges"] = []
    assert messages(tmp_path, d, indent=None) == [
        "FILE: $.nodes (line 1): error: Field 'nodes' is required but missing; expected a list of objects."]


@pytest.mark.parametrize("raw, expected", [
    (b"", "FILE: line 1: error: The file is empty; expected a JSON document with \"format\": 'exposure-graph'."),
    (b'{"format": "exposure-graph",\n "nodes": [{"id": "a"},',
     "FILE: line 2: error: The JSON document ends unexpectedly (is the file truncated?): "
     "Expecting value at column 24."),
    (b'{"format": "exposure-graph",\n "nodes": [{"id": "a"}}\n',
     "FILE: line 2: error: Invalid JSON: Expecting ',' delimiter at column 23."),
    (b'{"nodes": [{"id": "caf\xe9"}]}',
     "FILE: line 1: error: The file is not valid UTF-8: byte 0xe9 at byte offset 22 cannot be decoded. "
     "Expected UTF-8 text; re-save the file as UTF-8."),
    ('{"nodes": []}'.encode("utf-16"),
     "FILE: line 1: error: The file is encoded as UTF-16 (it starts with a UTF-16 byte-order mark); "
     "expected UTF-8. Re-save it as UTF-8."),
    (b"[1, 2]", "FILE: $ (line 1): error: The document must be a JSON object with \"format\": "
                "'exposure-graph'. Got a list instead."),
])
def test_unreadable_files(tmp_path, raw, expected):
    p = tmp_path / "g.json"
    p.write_bytes(raw)
    with pytest.raises(GraphFormatError) as err:
        read_graph(p)
    assert str(err.value).replace(str(p), "FILE") == expected
    net, problems = check_graph(p)
    assert net is None and [str(x).replace(str(p), "FILE") for x in problems] == [expected]


def test_utf8_bom_is_accepted(tmp_path):
    p = tmp_path / "g.json"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc()).encode())
    assert read_graph(p).n == 3


def test_duplicate_claims_are_summed_with_a_warning(tmp_path):
    edges = [{"debtor": "a", "creditor": "b", "amount": 1.0}, {"debtor": "a", "creditor": "b", "amount": 2.5}]
    p = write(tmp_path, doc(edges=edges), indent=None)
    net = read_graph(p)  # a warning does not stop loading
    assert net.liabilities.toarray()[0, 1] == 3.5  # 1 + 2.5
    assert [str(x).replace(str(p), "FILE") for x in net.problems] == [
        "FILE: $.edges[0].amount (line 1): warning: Claim 'a->b' appears 2 times (edges 0, 1); "
        "the amounts are summed."]


def test_every_error_is_listed_not_only_the_first(tmp_path):
    edges = [{"debtor": "a", "creditor": f"x{i}", "amount": 1} for i in range(5)]
    with pytest.raises(InvalidNetworkError) as err:
        read_graph(write(tmp_path, doc(edges=edges)))
    assert len(err.value.problems) == 5
    assert [p.location.split(" ")[0] for p in err.value.problems] == [f"$.edges[{i}].creditor" for i in range(5)]


@pytest.mark.parametrize("literal, found", [("Infinity", "inf"), ("1e999", "inf"), ("-Infinity", "-inf")])
def test_infinite_amounts(tmp_path, literal, found):
    text = json.dumps(doc(edges=[{"debtor": "a", "creditor": "b", "amount": 0}])).replace('"amount": 0',
                                                                                       f'"amount": {literal}')
    assert messages(tmp_path, text) == [
        f"FILE: $.edges[0].amount (line 1): error: Field 'amount' of claim edge 'a->b' must be a finite "
        f"non-negative number. Got {found} instead."]


def test_node_kind_of_the_wrong_type(tmp_path):
    d = doc(nodes=[{"id": "a", "kind": 5}, {"id": "b"}], edges=[])
    assert messages(tmp_path, d, indent=None) == [
        "FILE: $.nodes[0].kind (line 1): error: Field 'kind' of node 'a' must be a string. Got 5 instead."]
