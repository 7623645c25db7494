"""Statistics of `exposure info`: double counting by hand on a layered graph, cycles, components."""

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph

from exposure import ExposureNetwork
from exposure.metrics import double_counting, exposure_graph, shortest_cycles, summarize


def layered():
    # ETH is a base asset. lido holds 100 ETH (claim on an asset: external assets of lido).
    # stETH is a token, a claim of 100 on its issuer lido. A venue holds 40 stETH (a holding).
    # A fund has lent 25 to the venue and holds 10 outside the network.
    # A borrower posted 30 of collateral with the venue against a debt of 20 (secured position).
    nodes = pd.DataFrame({"id": ["ETH", "lido", "stETH", "venue", "fund", "borrower"],
                          "kind": ["asset", "protocol", "token", "venue", "protocol", "position"],
                          "external_assets": [0, 0, 0, 0, 10.0, 0]})
    edges = pd.DataFrame([
        {"kind": "claim", "debtor": "ETH", "creditor": "lido", "amount": 100.0},
        {"kind": "claim", "debtor": "lido", "creditor": "stETH", "amount": 100.0},
        {"kind": "holding", "holder": "venue", "token": "stETH", "amount": 40.0},
        {"kind": "claim", "debtor": "venue", "creditor": "fund", "amount": 25.0},
        {"kind": "collateral", "lender": "venue", "borrower": "borrower", "collateral_token": "stETH",
         "debt_token": "ETH", "collateral": 30.0, "debt": 20.0, "liquidation_threshold": 0.8},
    ])
    return ExposureNetwork.from_frames(nodes, edges, meta={"version": 2})


def test_double_counting_by_hand():
    dc = double_counting(layered())
    # base = external assets (fund 10 + lido's 100 of ETH) = 110; no holdings of base assets
    # double counted = claims in L (lido->stETH 100 + venue->fund 25) + token holdings (40) + position debt (20)
    # gross = base + double counted = 110 + 185 = 295, layering = 295 / 110
    assert dc == {"gross": 295.0, "base": 110.0, "double_counted": 185.0, "layering": 295.0 / 110.0,
                  "claims": 125.0, "token_holdings": 40.0, "position_debt": 20.0}


def test_double_counting_equals_sum_of_face_value_assets_minus_base():
    # independent route: sum the face-value balance sheets node by node
    s = summarize(layered())
    # lido 100 (ETH), stETH 100 (claim on lido), venue 40 (stETH) + min(30, 20) = 60, fund 25 + 10 = 35,
    # borrower max(0, 30 - 20) = 10: total 305. The position is worth 20 to the lender and the borrower's
    # 10 of net collateral is outside the double-counting identity (its collateral is not a network claim):
    # 305 - 10 = 295 = gross.
    assert s.totals["total_assets"] == 305.0
    assert s.double_counting["gross"] == s.totals["total_assets"] - 10.0


def test_counts_by_kind():
    s = summarize(layered())
    assert s.nodes_by_kind.set_index("kind")["nodes"].to_dict() == {
        "asset": 1, "position": 1, "protocol": 2, "token": 1, "venue": 1}
    assert s.edges_by_kind[["kind", "edges", "amount"]].values.tolist() == [
        ["claim", 3, 225.0], ["holding", 1, 40.0], ["collateral", 1, 20.0]]
    assert s.largest_exposures["amount"].tolist()[:2] == [100.0, 100.0]


def test_cycles_on_a_ring_with_a_chord():
    # a -> b -> c -> d -> a and a chord b -> a: shortest cycles a->b->a (2) and a->b->c->d->a (4)
    nodes = pd.DataFrame({"id": list("abcde")})
    edges = pd.DataFrame({"debtor": list("abcdb") + ["e"], "creditor": list("bcdaa") + ["a"],
                          "amount": [1.0, 2, 3, 4, 5, 6]})
    s = summarize(ExposureNetwork.from_frames(nodes, edges))
    assert s.cycles["cycle"].tolist() == ["a -> b -> a", "a -> b -> c -> d -> a"]
    assert s.cycles["min_amount"].tolist() == [1.0, 1.0]
    # e feeds the cycle but is not on it
    assert s.components["nodes_on_cycles"] == 4 and s.components["mutual_pairs"] == 1
    assert s.components["strongly_connected"] == 2


def test_shortest_cycle_search_is_bounded_on_a_complete_graph():
    # a complete digraph on 60 nodes has astronomically many cycles; only the shortest are listed
    n = 60
    A = sp.csr_array(np.ones((n, n)) - np.eye(n))
    cycles = shortest_cycles(A, np.arange(n), max_cycles=5)
    assert len(cycles) == 5 and all(len(c) == 2 for c in cycles)


def test_shortest_cycle_agrees_with_a_dense_search():
    rng = np.random.default_rng(3)
    A = sp.random_array((40, 40), density=0.06, rng=rng, format="csr")
    A.setdiag(0)
    A.eliminate_zeros()
    D = csgraph.shortest_path(A, unweighted=True)  # dense hop distances, independent oracle
    for v in range(40):
        cyc = shortest_cycles(A, np.array([v]), 1)
        succ = A.indices[A.indptr[v]:A.indptr[v + 1]]
        best = min((D[u, v] + 1 for u in succ if np.isfinite(D[u, v])), default=None)
        if best is None:
            assert cyc == []
        else:
            assert len(cyc[0]) == best


def test_exposure_graph_directions():
    A = exposure_graph(layered()).toarray()
    ids = ["ETH", "lido", "stETH", "venue", "fund", "borrower"]
    i = {k: n for n, k in enumerate(ids)}
    assert A[i["lido"], i["stETH"]] == 100 and A[i["stETH"], i["venue"]] == 40
    assert A[i["borrower"], i["venue"]] == 20 and A[i["ETH"], i["lido"]] == 100
