"""`exposure validate` and `exposure info` through click's CliRunner."""

import json
from pathlib import Path

from click.testing import CliRunner

from cli import cli

ROOT = Path(__file__).resolve().parent.parent
GOOD = {"format": "exposure-graph", "version": 1, "name": "t",
        "nodes": [{"id": "a", "external_assets": 10}, {"id": "b"}, {"id": "c"}],
        "edges": [{"debtor": "a", "creditor": "b", "amount": 4}, {"debtor": "b", "creditor": "c", "amount": 2},
                  {"debtor": "c", "creditor": "a", "amount": 1}]}


def run(args, stdin=None):
    return CliRunner().invoke(cli, args, input=stdin)


def write(tmp_path, doc, name="g.json"):
    p = tmp_path / name
    p.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return p


def test_validate_valid_graph_exits_0(tmp_path):
    r = run(["validate", str(write(tmp_path, GOOD)), "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out == {"valid": True, "errors": 0, "warnings": 0, "nodes": 3, "edges": 3, "problems": []}
    assert r.stderr.endswith("valid: 0 errors, 0 warnings (3 nodes, 3 edges read).\n")


def test_validate_lists_every_problem_and_exits_1(tmp_path):
    doc = json.loads(json.dumps(GOOD))
    doc["edges"] += [{"debtor": "a", "creditor": "zz", "amount": 1}, {"debtor": "a", "creditor": "b", "amount": -1}]
    p = write(tmp_path, doc)
    r = run(["validate", str(p), "--format", "csv"])
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert lines[0] == "severity,file,location,node,message"
    assert lines[1:] == [
        f"error,{p},$.edges[3].creditor (line 1),a->zz,Field 'creditor' of claim 'a->zz' refers to unknown node 'zz'.",
        f"error,{p},$.edges[4].amount (line 1),a->b,Field 'amount' of claim edge 'a->b' must be a finite "
        "non-negative number. Got -1.0 instead.",
    ]
    assert "invalid: 2 errors, 0 warnings" in r.stderr and "Traceback" not in r.output


def test_validate_duplicate_claims_is_a_warning_only(tmp_path):
    doc = json.loads(json.dumps(GOOD))
    doc["edges"].append({"debtor": "a", "creditor": "b", "amount": 1})
    r = run(["validate", str(write(tmp_path, doc)), "--format", "table"])
    assert r.exit_code == 0
    assert r.stdout.endswith("$.edges[0].amount (line 1): warning: Claim 'a->b' appears 2 times (edges 0, 3); "
                             "the amounts are summed.\n")


def test_validate_uses_the_json_schema(tmp_path):
    # a numeric label is accepted by the reader but is not a string as the schema requires
    doc = json.loads(json.dumps(GOOD))
    doc["nodes"][1]["label"] = 5
    r = run(["validate", str(write(tmp_path, doc)), "--format", "json"])
    assert r.exit_code == 1
    (problem,) = json.loads(r.stdout)["problems"]
    assert problem["location"] == "$.nodes[1].label (line 1)"
    assert problem["message"] == ("The document does not match the graph format's JSON Schema: 5 is not of type "
                                  "'string', 'null'.")


def test_validate_unreadable_file_and_stdin(tmp_path):
    r = run(["validate", "-", "--format", "json"], stdin='{"format": "exposure-graph", "nodes": [')
    assert r.exit_code == 1
    assert json.loads(r.stdout)["problems"][0]["message"].startswith("The JSON document ends unexpectedly")
    assert "<stdin>: invalid: 1 error, 0 warnings." in r.stderr


def test_validate_missing_file_is_an_error_without_traceback(tmp_path):
    r = run(["validate", str(tmp_path / "nope.json")])
    assert r.exit_code == 1 and r.stderr.startswith("Error: ") and "Traceback" not in r.output


def test_validate_bundled_graphs():
    for name in ("defi.json", "defi-v1.json", "chain.json", "ring.json", "star.json", "complete.json"):
        r = run(["validate", str(ROOT / "graphs" / name), "--format", "json"])
        assert r.exit_code == 0, (name, r.output)


def test_info_json(tmp_path):
    r = run(["info", str(write(tmp_path, GOOD)), "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    # ring a -> b -> c -> a: one strongly connected component of 3, one cycle of length 3
    assert out["components"]["nodes_on_cycles"] == 3
    assert out["cycles"] == [{"length": 3, "cycle": "a -> b -> c -> a", "min_amount": 1.0}]
    # gross = e (10) + claims (4 + 2 + 1) = 17; base = 10; double counted = 7
    assert out["double_counting"]["gross"] == 17.0 and out["double_counting"]["double_counted"] == 7.0
    assert out["largest_exposures"][0] == {"kind": "claim", "exposed": "b", "to": "a", "amount": 4.0,
                                           "share_of_exposed_assets": 1.0}


def test_info_table_and_csv_from_stdin(tmp_path):
    r = run(["info", "-", "--format", "table"], stdin=json.dumps(GOOD))
    assert r.exit_code == 0
    for title in ("Totals", "Nodes by kind", "Edges by kind", "Double counting", "Largest exposures",
                  "Strongly connected components", "Shortest cycles", "Most leveraged"):
        assert title in r.stdout
    r = run(["info", str(write(tmp_path, GOOD)), "--format", "csv"])
    assert r.stdout.splitlines()[:2] == ["metric,value", "nodes,3"]


def test_info_exposure_table_with_nodes_and_mapping(tmp_path):
    (tmp_path / "nodes.csv").write_text("id,kind\nfund,protocol\nstETH,token\nlido,protocol\n")
    (tmp_path / "t.csv").write_text("holder,token_or_issuer,amount_usd,kind,as_of,source\n"
                                    "fund,stETH,5,deposit,2026,s\nstETH,lido,9,backing,2026,s\n")
    args = ["info", str(tmp_path / "t.csv"), "--nodes", str(tmp_path / "nodes.csv"), "--format", "json"]
    v2 = json.loads(run(args).stdout)
    v1 = json.loads(run(args + ["--mapping", "1"]).stdout)
    assert (v2["totals"]["holdings"], v2["totals"]["claims"]) == (1, 1)
    assert (v1["totals"]["holdings"], v1["totals"]["claims"]) == (0, 2)


def test_info_invalid_graph_exits_1(tmp_path):
    r = run(["info", str(write(tmp_path, {"format": "exposure-graph", "version": 1, "nodes": []}))])
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: ") and "The graph has no nodes; expected at least one." in r.stderr
