"""``exposure rank``: output formats, options, errors and exit codes."""

import json

import pytest
from click.testing import CliRunner

from cli import cli

# Chain a -> b -> c -> d, each owes the next 5; every total asset 20 and every equity 10, so
# every DebtRank weight is 0.5 (the same network as tests/test_ranking.py's CHAIN).
CHAIN = {
    "format": "exposure-graph", "version": 1, "name": "chain",
    "nodes": [{"id": "a", "kind": "protocol", "external_assets": 20, "external_liabilities": 5},
              {"id": "b", "kind": "protocol", "external_assets": 15, "external_liabilities": 5},
              {"id": "c", "kind": "protocol", "external_assets": 15, "external_liabilities": 5},
              {"id": "d", "kind": "protocol", "external_assets": 15, "external_liabilities": 10}],
    "edges": [{"kind": "claim", "debtor": "a", "creditor": "b", "amount": 5},
              {"kind": "claim", "debtor": "b", "creditor": "c", "amount": 5},
              {"kind": "claim", "debtor": "c", "creditor": "d", "amount": 5}],
}


@pytest.fixture
def graph(tmp_path):
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(CHAIN), encoding="utf-8")
    return str(path)


def invoke(*args, **kw):
    return CliRunner().invoke(cli, ["rank", *args], **kw)


def test_csv_debtrank_exact(graph):
    # scores by hand: a (0.5 + 0.25 + 0.125)/4, b (0.5 + 0.25)/4, c 0.5/4, d 0
    r = invoke(graph, "--format", "csv")
    assert r.exit_code == 0, r.output
    assert r.stdout == ("node,score,rank,rounds,defaults_caused,reached\n"
                        "a,0.21875,1,3,0,4\n"
                        "b,0.1875,2,2,0,3\n"
                        "c,0.125,3,1,0,2\n"
                        "d,0,4,0,0,1\n")


def test_csv_impact_columns_and_top(graph):
    # impact of a: b loses its claim 5 and a's external creditors lose 5 (hand derivation in
    # tests/test_ranking.py). b, c and d each pay 5 of their 10 when shocked: their creditors lose
    # 2.5 + 2.5 (b, c) or the external ones 5 (d): three ties at rank 2, all kept by --top 2
    r = invoke(graph, "--method", "impact", "--format", "csv", "--top", "2")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "node,score,rank,loss,n_defaults,reached"
    assert lines[1].startswith("a,10,1,10,0,")
    assert [x.split(",")[:3] for x in lines[2:]] == [["b", "5", "2"], ["c", "5", "2"], ["d", "5", "2"]]


def test_json_shape(graph):
    r = invoke(graph, "--method", "furfine", "--format", "json", "--lgd", "0.5")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert list(doc) == ["method", "parameters", "ranking"]
    assert doc["method"] == "furfine" and doc["parameters"]["lgd"] == 0.5
    assert list(doc["ranking"][0]) == ["node", "score", "rank", "defaults_caused", "rounds"]
    # lgd 0.5: a's default costs b 2.5 < 10, nothing else: score 2.5
    assert doc["ranking"][0] == {"node": "a", "score": 2.5, "rank": 1, "defaults_caused": 0, "rounds": 0}


def test_all_json_has_agreement_and_table_has_both(graph):
    r = invoke(graph, "--method", "all", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["method"] == "all"
    assert {"method_a", "method_b", "tau", "pvalue", "n"} == set(doc["agreement"][0])
    assert "debtrank_rank" in doc["ranking"][0]
    t = invoke(graph, "--method", "all", "--format", "table")
    assert "Ranking (all)" in t.stdout and "Rank agreement (Kendall's tau)" in t.stdout


def test_shock_and_options_reach_the_library(graph):
    r = invoke(graph, "--shock", "a=0.5", "--initial-distress", "0.5", "--value", "equity", "--format", "json")
    assert r.exit_code == 0, r.output
    p = json.loads(r.stdout)["parameters"]
    assert p["shock"] == {"a": 0.5} and p["initial_distress"] == 0.5 and p["value"] == "equity"


def test_stdin(graph):
    r = invoke("-", "--format", "csv", "--top", "1", input=json.dumps(CHAIN))
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[1].startswith("a,0.21875,1,")


def test_errors_and_exit_codes(graph, tmp_path):
    r = invoke(graph, "--shock", "zz=0.5")
    assert r.exit_code == 1 and r.stderr.startswith("Error: ")
    r = invoke(graph, "--method", "closeness")
    assert r.exit_code == 2
    r = invoke(graph, "--top", "0")
    assert r.exit_code == 2
    r = invoke(str(tmp_path / "missing.json"))
    assert r.exit_code == 1 and r.stderr.startswith("Error: ")


def test_non_convergence_warns_or_exits_3(tmp_path):
    ring = {"format": "exposure-graph", "version": 1, "name": "ring",
            "nodes": [{"id": x, "external_assets": 10} for x in "abc"],
            "edges": [{"debtor": a, "creditor": b, "amount": 5} for a, b in ("ab", "bc", "ca")]}
    graph = tmp_path / "ring.json"
    graph.write_text(json.dumps(ring), encoding="utf-8")
    graph = str(graph)
    r = invoke(graph, "--method", "eigenvector", "--max-iter", "1", "--format", "csv")
    assert r.exit_code == 0
    assert "Warning: eigenvector centrality did not converge" in r.stderr
    r = invoke(graph, "--method", "eigenvector", "--max-iter", "1", "--strict")
    assert r.exit_code == 3 and r.stderr.startswith("Error: eigenvector centrality did not converge")


def test_output_file(graph, tmp_path):
    out = tmp_path / "ranking.csv"
    r = invoke(graph, "--format", "csv", "-o", str(out))
    assert r.exit_code == 0 and r.stdout == ""
    assert out.read_text().startswith("node,score,rank")
