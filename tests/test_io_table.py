"""The long exposure table (holder, token_or_issuer, amount_usd, kind, as_of, source) and its two mappings."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exposure import GraphFormatError, InvalidNetworkError
from exposure.io import check_graph, read_exposure_table, read_graph, to_frames

ROOT = Path(__file__).resolve().parent.parent
HEADER = "holder,token_or_issuer,amount_usd,kind,as_of,source\n"
NODES = pd.DataFrame({"id": ["lido", "stETH", "ETH", "aave", "fund", "ethena"],
                      "kind": ["protocol", "token", "asset", "venue", "protocol", "protocol"]})
ROWS = (HEADER
        + "lido,ETH,100,backing,2025-07-24,s1\n"       # lido holds 100 of ETH
        + "stETH,lido,100,backing,2025-07-24,s2\n"     # stETH is a claim on lido: lido owes stETH 100
        + "aave,stETH,40,collateral,2025-10-31,s3\n"   # aave holds 40 stETH posted by its borrowers
        + "fund,aave,25,deposit,2026,s4\n"             # fund deposited 25 into aave (a venue: a claim)
        + "fund,ETH,5,deposit,2026,s5\n"               # fund deposited 5 of ETH (a base asset: a holding)
        + "ethena,fund,7,debt,2026,s6\n")              # ethena is owed 7 by fund (holder = creditor)


def table(tmp_path, text=ROWS):
    p = tmp_path / "exposures.csv"
    p.write_text(text, encoding="utf-8")
    return p


def test_version_2_mapping_by_hand(tmp_path):
    net = read_graph(table(tmp_path), nodes=NODES)
    _, edges = to_frames(net)
    got = [(r["kind"], r.get("debtor"), r.get("creditor"), r.get("holder"), r.get("token"), r["amount"], r["relation"])
           for r in edges.astype(object).where(edges.notna(), None).to_dict("records")]
    assert got == [
        ("claim", "ETH", "lido", None, None, 100.0, "backing"),
        ("claim", "lido", "stETH", None, None, 100.0, "backing"),
        ("holding", None, None, "aave", "stETH", 40.0, "collateral"),
        ("claim", "aave", "fund", None, None, 25.0, "deposit"),
        ("holding", None, None, "fund", "ETH", 5.0, "deposit"),
        ("claim", "fund", "ethena", None, None, 7.0, "debt"),
    ]
    assert net.nodes.loc["stETH", "issuer"] == "lido"        # from the backing row stETH -> lido
    assert net.nodes["issuer"].drop("stETH").isna().all()
    assert net.version == 2 and net.claims["as_of"].tolist()[-1] == "2026"
    # L: lido owes stETH 100, aave owes fund 25, fund owes ethena 7; lido's ETH is an external asset
    L = pd.DataFrame(net.liabilities.toarray(), index=net.node_ids, columns=net.node_ids)
    assert L.loc["lido", "stETH"] == 100 and L.loc["aave", "fund"] == 25 and L.loc["fund", "ethena"] == 7
    assert L.to_numpy().sum() == 132
    assert net.external_assets[net.index_of("lido")] == 100.0


def test_version_1_mapping_is_claims_only(tmp_path):
    net = read_graph(table(tmp_path), nodes=NODES, version=1)
    _, edges = to_frames(net)
    # every row: debtor = token_or_issuer, creditor = holder
    assert edges[["debtor", "creditor", "amount"]].values.tolist() == [
        ["ETH", "lido", 100.0], ["lido", "stETH", 100.0], ["stETH", "aave", 40.0], ["aave", "fund", 25.0],
        ["ETH", "fund", 5.0], ["fund", "ethena", 7.0]]
    assert set(edges["kind"]) == {"claim"} and net.version == 1 and "issuer" not in net.nodes.columns


def test_without_node_table_every_node_is_a_protocol(tmp_path):
    net = read_graph(table(tmp_path))
    assert set(net.kinds) == {"protocol"} and len(net.holdings) == 0 and net.n_claims == 6


def test_sample_version_1_mapping_agrees_with_the_bundled_graph():
    # graphs/defi-v1.json is built by graphs/build.py from the same sample, independently of this reader
    mapped = read_graph(ROOT / "graphs" / "sources" / "sample_graph.json", "table", version=1)
    bundled = read_graph(ROOT / "graphs" / "defi-v1.json")
    cols = ["debtor", "creditor", "amount", "relation", "as_of", "source"]
    a, b = to_frames(mapped)[1][cols], to_frames(bundled)[1][cols]
    assert a.astype(object).values.tolist() == b.astype(object).values.tolist()
    assert list(mapped.node_ids) == list(bundled.node_ids)
    np.testing.assert_array_equal(mapped.external_assets, bundled.external_assets)


def test_bad_rows_with_lines(tmp_path):
    text = (HEADER + "lido,ETH,100,backing,,\n" + "lido,,3,deposit,,\n" + "fund,aave,-2,deposit,,\n"
            + "fund,aave,abc,deposit,,\n" + "fund,fund,1,debt,,\n" + "fund,aave,1,loan,,\n"
            + "fund,nobody,1,debt,,\n" + "fund,aave,nan,deposit,,\n")
    net, problems = check_graph(table(tmp_path, text), nodes=NODES)
    assert [str(p).split("exposures.csv: ")[1] for p in problems] == [
        "line 3: error: Field 'token_or_issuer' of row 1 is required but missing.",
        "line 4: error: Field 'amount_usd' of row 'fund->aave' must be a finite non-negative number. Got -2.0 "
        "instead.",
        "line 5: error: Field 'amount_usd' of row 'fund->aave' must be a finite number. Got the string 'abc' "
        "instead.",
        "line 6: error: Row 'fund->fund' has the same node as holder and token_or_issuer; a node cannot be "
        "exposed to itself.",
        "line 7: error: Field 'kind' of row 'fund->aave' must be one of backing, collateral, deposit, debt. "
        "Got the string 'loan' instead.",
        "line 8: error: Field 'token_or_issuer' of row 'fund->nobody' refers to unknown node 'nobody'.",
        "line 9: error: Field 'amount_usd' of row 'fund->aave' must be a finite number. Got NaN instead.",
    ]
    assert net.n_claims == 1  # only the first row is valid


def test_missing_columns(tmp_path):
    with pytest.raises(GraphFormatError) as err:
        read_graph(table(tmp_path, "holder,token,amount_usd,kind\na,b,1,debt\n"))
    assert str(err.value).endswith("exposures.csv: line 1: error: The table has no column 'token_or_issuer'; "
                                   "expected columns holder, token_or_issuer, amount_usd, kind, as_of, source. "
                                   "Found: holder, token, amount_usd, kind.")


def test_json_rows_are_located_by_path(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"nodes": [{"id": "a"}, {"id": "b"}],
                             "edges": [{"holder": "a", "token_or_issuer": "b", "amount_usd": "1", "kind": "debt"}]}))
    with pytest.raises(InvalidNetworkError) as err:
        read_graph(p, "table")
    assert str(err.value) == (f"{p}: $.edges[0].amount_usd (line 1): error: Field 'amount_usd' of row 'a->b' "
                              "must be a finite number. Got the string '1' instead.")


def test_table_from_stdin_csv_and_json(monkeypatch):
    import io
    text = HEADER + "fund,aave,25,deposit,2026,s4\nfund,aave,-1,deposit,2026,s5\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    net, problems = check_graph("-", "table")
    assert [str(p) for p in problems] == [
        "<stdin>: line 3: error: Field 'amount_usd' of row 'fund->aave' must be a finite non-negative number. "
        "Got -1.0 instead."]
    assert net.n_claims == 1
    rows = json.dumps([{"holder": "fund", "token_or_issuer": "aave", "amount_usd": 25, "kind": "deposit"}])
    assert read_graph(io.StringIO(rows), "table").n_claims == 1


@st.composite
def tables(draw):
    ids = [f"n{i}" for i in range(draw(st.integers(2, 6)))]
    kinds = draw(st.lists(st.sampled_from(["protocol", "token", "asset", "venue"]), min_size=len(ids),
                          max_size=len(ids)))
    rows = []
    for _ in range(draw(st.integers(0, 10))):
        h, t = draw(st.sampled_from(ids)), draw(st.sampled_from(ids))
        if h == t or kinds[ids.index(h)] == "asset":
            continue  # a base asset holds nothing
        rows.append((h, t, draw(st.integers(0, 10**6)), draw(st.sampled_from(["backing", "collateral",
                                                                               "deposit", "debt"]))))
    return pd.DataFrame({"id": ids, "kind": kinds}), rows


@given(tables())
def test_version_2_mapping_regroups_the_claims_of_version_1(tmp_path_factory, data):
    # every row is one claim (token_or_issuer -> holder) in version 1, and in version 2 either the same
    # claim or a holding of the same amount by the same holder: the two multisets of
    # (token_or_issuer, holder, amount, relation) are equal
    nodes, rows = data
    p = tmp_path_factory.mktemp("t") / "t.csv"
    p.write_text(HEADER + "".join(f"{h},{t},{a},{k},2026,s\n" for h, t, a, k in rows))
    v1, v2 = (to_frames(read_graph(p, nodes=nodes, version=v))[1] for v in (1, 2))
    one = sorted(zip(v1["debtor"], v1["creditor"], v1["amount"], v1["relation"])) if rows else []
    two = []
    for r in (v2.astype(object).where(v2.notna(), None).to_dict("records") if rows else []):
        if r["kind"] == "claim":
            two.append((r["debtor"], r["creditor"], r["amount"], r["relation"]))
        else:
            assert r["relation"] in ("deposit", "collateral")
            two.append((r["token"], r["holder"], r["amount"], r["relation"]))
    assert one == sorted(two)
    assert len(one) == len(rows)
