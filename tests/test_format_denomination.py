"""The `denomination` field of format version 2 in the schema, the version inference and the loaders."""

import json

from exposure.io import check_graph, read_graph
from exposure.io._common import infer_version


def _doc(node_denomination, edge_denomination="ETH"):
    return {"format": "exposure-graph", "version": 2, "name": "lst",
            "nodes": [{"id": "ETH", "kind": "asset"},
                      {"id": "lido", "kind": "protocol"},
                      {"id": "stETH", "kind": "token", "issuer": "lido", "denomination": node_denomination}],
            "edges": [{"kind": "holding", "holder": "lido", "token": "ETH", "amount": 10.0},
                      {"kind": "claim", "debtor": "lido", "creditor": "stETH", "amount": 10.0,
                       "denomination": edge_denomination}]}


def test_denomination_is_read_and_kept(tmp_path):
    path = tmp_path / "g.json"
    path.write_text(json.dumps(_doc("ETH")))
    net = read_graph(path)
    assert net.nodes.loc["stETH", "denomination"] == "ETH"
    assert net.claims["denomination"].tolist() == ["ETH"]


def test_schema_rejects_a_denomination_that_is_not_an_id(tmp_path):
    path = tmp_path / "g.json"
    path.write_text(json.dumps(_doc(5)))
    _, problems = check_graph(path)
    errors = [p for p in problems if p.severity == "error"]
    assert errors and any("denomination" in str(p) for p in errors)


def test_a_node_denomination_makes_an_undeclared_input_version_2():
    assert infer_version(["id", "kind", "denomination"], ["claim"]) == 2
    assert infer_version(["id", "kind"], ["claim"]) == 1
