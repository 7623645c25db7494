"""Ranking: hand-derived cases, the result object, centralities, properties."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exposure import ConvergenceError, ConvergenceWarning, ExposureNetwork, InvalidShockError
from exposure.contagion import METHODS, RankingResult, economic_value, impact_weights, rank

ALL = METHODS


def network(nodes, claims):
    """nodes: {id: (external_assets, external_liabilities)}; claims: [(debtor, creditor, amount)]."""
    ids = list(nodes)
    return ExposureNetwork.from_frames(
        pd.DataFrame({"id": ids, "external_assets": [nodes[i][0] for i in ids],
                      "external_liabilities": [nodes[i][1] for i in ids]}),
        pd.DataFrame(claims, columns=["debtor", "creditor", "amount"]))


def scores(result):
    return result.ranking.set_index("node")["score"].to_dict()


# Chain a -> b -> c -> d, each owes the next 5. External assets 20, 15, 15, 15 make every total
# asset 20 (v = 1/4 each); external liabilities 5, 5, 5, 10 make every equity 10, so every
# W = min(1, 5 / 10) = 0.5.
CHAIN = network({"a": (20, 5), "b": (15, 5), "c": (15, 5), "d": (15, 10)},
                [("a", "b", 5), ("b", "c", 5), ("c", "d", 5)])

# Ring a -> b -> c -> a, each owes the next 5: assets 15 + 5 = 20, obligations 5 + 5 = 10,
# every equity 10, every W = 0.5.
RING = network({"a": (15, 5), "b": (15, 5), "c": (15, 5)}, [("a", "b", 5), ("b", "c", 5), ("c", "a", 5)])

# Star: the centre owes 4 to each of four leaves; l1 owes the centre 1. Equities: centre
# 30 + 1 − 16 − 4 = 11, l1 6 + 4 − 1 − 4 = 5, l2..l4 6 + 4 − 5 = 5. "rich" has external assets
# 1000, no claims either way and no external debt.
STAR = network({"centre": (30, 4), "l1": (6, 4), "l2": (6, 5), "l3": (6, 5), "l4": (6, 5), "rich": (1000, 0)},
               [("centre", "l1", 4), ("centre", "l2", 4), ("centre", "l3", 4), ("centre", "l4", 4),
                ("l1", "centre", 1)])


# --------------------------------------------------------------------------- DebtRank
def test_chain_debtrank_decays_along_the_chain():
    # hand derivation: from a, h_b = 0.5, h_c = 0.25, h_d = 0.125; DebtRank(a) = (0.5+0.25+0.125)/4,
    # DebtRank(b) = (0.5+0.25)/4, DebtRank(c) = 0.5/4, DebtRank(d) = 0 (d has no creditors)
    r = rank(CHAIN, "debtrank")
    assert scores(r) == pytest.approx({"a": 0.21875, "b": 0.1875, "c": 0.125, "d": 0.0}, abs=1e-15)
    assert r.ranking["node"].tolist() == ["a", "b", "c", "d"]
    assert r.ranking["rank"].tolist() == [1, 2, 3, 4]
    assert r.ranking.set_index("node")["rounds"].to_dict() == {"a": 3, "b": 2, "c": 1, "d": 0}
    assert r.ranking["defaults_caused"].tolist() == [0, 0, 0, 0]


def test_chain_initial_distress_scales_the_linear_chain():
    # no h reaches 1, so every h is proportional to psi: DebtRank(a) = 0.3 * 0.21875
    r = rank(CHAIN, "debtrank", initial_distress=0.3)
    assert scores(r)["a"] == pytest.approx(0.3 * 0.21875, abs=1e-15)


def test_ring_debtrank_every_node_ties():
    # hand derivation: from a, h_b = 0.5 (step 1), h_c = 0.25 (step 2), then c hits a, already at 1;
    # DebtRank = (0.5 + 0.25) / 3 = 0.25 for every node by symmetry, so all share rank 1
    r = rank(RING, "debtrank")
    assert list(scores(r).values()) == pytest.approx([0.25] * 3, abs=1e-15)
    assert r.ranking["rank"].tolist() == [1, 1, 1]


def test_ring_differential_equals_debtrank_when_the_seed_is_saturated():
    # least fixed point of h = min(1, e_a + Λh) with Λ = 0.5 around the ring: h_a = 1,
    # h_b = 0.5, h_c = 0.25 (h_a = min(1, 1 + 0.125) stays 1): again 0.75 / 3
    r = rank(RING, "differential-debtrank")
    assert list(scores(r).values()) == pytest.approx([0.25] * 3, abs=1e-12)


def test_differential_exceeds_debtrank_on_a_two_node_cycle():
    # a <-> b with Λ = 0.5 both ways and psi = 0.2. DebtRank: step 1 h_b = 0.1; step 2 b hits a,
    # h_a = 0.2 + 0.05 = 0.25, and both are inactive: score (0.25 + 0.1)/2 − 0.1 = 0.075.
    # Differential (stable regime, Bardoscia et al. 2015): h = (I − Λ)^-1 h0 gives
    # h_a = 0.2 / (1 − 0.25) = 0.26667, h_b = 0.13333: score (0.26667 + 0.13333)/2 − 0.1 = 0.1.
    net = network({"a": (15, 5), "b": (15, 5)}, [("a", "b", 5), ("b", "a", 5)])
    dr = scores(rank(net, "debtrank", initial_distress=0.2))
    diff = scores(rank(net, "differential-debtrank", initial_distress=0.2, tol=1e-15))
    assert dr["a"] == pytest.approx(0.075, abs=1e-15)
    assert diff["a"] == pytest.approx(0.1, abs=1e-12)


def test_stable_regime_matches_the_linear_solve():
    # Bardoscia et al. (2015): when no h reaches 1 the increments are Λ^t h(0), so
    # h(∞) = (I − Λ)^-1 h(0); the random network below is scaled so that nothing saturates
    rng = np.random.default_rng(3)
    n = 15
    A = np.where(rng.random((n, n)) < 0.3, rng.uniform(0.5, 1.5, (n, n)), 0.0)
    np.fill_diagonal(A, 0)
    ids = [f"n{i}" for i in range(n)]
    d, c = np.nonzero(A)
    claims = A.sum(axis=0)
    owed = A.sum(axis=1)
    equity = 4 * claims + 1                      # Λ = A/E small: spectral radius well below 1
    e = equity + owed + 1
    net = ExposureNetwork.from_frames(
        pd.DataFrame({"id": ids, "external_assets": e, "external_liabilities": e + claims - owed - equity}),
        pd.DataFrame({"debtor": [ids[i] for i in d], "creditor": [ids[j] for j in c], "amount": A[d, c]}))
    np.testing.assert_allclose(net.equity(), equity)
    Lam = impact_weights(net, cap=False).toarray().T
    v = economic_value(net)
    psi = 0.5
    got = rank(net, "differential-debtrank", initial_distress=psi, tol=1e-15).ranking.set_index("node")
    for s in range(n):
        h = np.linalg.solve(np.eye(n) - Lam, psi * np.eye(n)[s])
        assert h.max() < 1
        assert got.loc[ids[s], "score"] == pytest.approx(v @ h - v[s] * psi, rel=1e-10)


def test_star_centre_first_and_rich_node_last():
    # hand derivation: the centre's loss hits every leaf with W = 4/5; l1 hits only the centre
    # (W = 1/11), the other leaves nobody; "rich" owes nothing, so every method scores it 0
    for method in ("debtrank", "differential-debtrank", "furfine", "impact", "pagerank", "katz"):
        r = rank(STAR, method)
        assert r.ranking["node"].iloc[0] == "centre", method
        s = scores(r)
        assert s["rich"] == min(s.values()), method
        assert r.ranking.set_index("node").loc["rich", "rank"] == r.ranking["rank"].max(), method


def test_star_furfine_counts_by_hand():
    # centre defaults: each leaf loses 4 < equity 5, no further default; equity lost 4 * 4 = 16
    r = rank(STAR, "furfine").ranking.set_index("node")
    assert r.loc["centre", "score"] == pytest.approx(16.0)
    assert r.loc["centre", "defaults_caused"] == 0 and r.loc["centre", "rounds"] == 0
    # l1 defaulting costs the centre its claim 1 < equity 11
    assert r.loc["l1", "score"] == pytest.approx(1.0)


def test_furfine_cascade_rounds_by_hand():
    # chain where each loss exceeds the next equity: a defaults, b loses 5 >= 4 (round 1),
    # c loses 5 >= 4 (round 2), d loses 5 < 10. Equity lost: 4 + 4 + 5 = 13, 2 defaults, 2 rounds
    net = network({"a": (20, 5), "b": (14, 10), "c": (14, 10), "d": (15, 10)},
                  [("a", "b", 5), ("b", "c", 5), ("c", "d", 5)])
    np.testing.assert_allclose(net.equity(), [10, 4, 4, 10])
    r = rank(net, "furfine").ranking.set_index("node")
    assert r.loc["a", "score"] == pytest.approx(13.0)
    assert (r.loc["a", "defaults_caused"], r.loc["a", "rounds"]) == (2, 2)
    half = rank(net, "furfine", lgd=0.5).ranking.set_index("node")
    assert half.loc["a", "score"] == pytest.approx(2.5)        # b loses 2.5 < 4: no cascade


def test_impact_by_hand_on_the_chain():
    # a loses its external assets 20: assets 0 < obligations 10, a pays 0: b loses its claim 5
    # (equity 10 -> 5) and a's external creditors lose 5; nothing else moves. Impact = 5 + 5.
    r = rank(CHAIN, "impact").ranking.set_index("node")
    assert r.loc["a", "score"] == pytest.approx(10.0)
    assert r.loc["a", "n_defaults"] == 0
    # d loses its external assets 15: assets 5 (its claim on c) < obligations 10 (all external),
    # d pays 5 and its external creditors lose 5
    assert r.loc["d", "score"] == pytest.approx(5.0)
    assert r.loc["d", "n_defaults"] == 0
    # half the shock: a keeps 10 = obligations, pays in full: no loss to anybody else
    assert rank(CHAIN, "impact", shock_size=0.5).ranking.set_index("node").loc["a", "score"] == pytest.approx(0.0)


def test_vulnerability_by_hand_on_the_chain():
    # a shocked: a pays 0, b loses its claim 5. b shocked: b has 5 < 10, pays 5, c receives half
    # of its claim, loses 2.5; c still pays in full. c shocked: likewise d loses 2.5. Nobody's
    # shock reaches a. Means over the 3 other nodes: a 0, b 5/3, c 2.5/3, d 2.5/3.
    r = rank(CHAIN, "vulnerability").ranking.set_index("node")
    assert r["score"].to_dict() == pytest.approx({"a": 0.0, "b": 5 / 3, "c": 2.5 / 3, "d": 2.5 / 3})
    assert r.loc["b", "relative_loss"] == pytest.approx(5.0 / 3 / 10)
    assert r["rank"].to_dict() == {"b": 1, "c": 2, "d": 2, "a": 4}


# ---------------------------------------------------------------------- result object
def test_result_table_and_dict():
    r = rank(CHAIN, "debtrank", top=2)
    assert isinstance(r, RankingResult)
    assert list(r.to_frame().columns) == ["node", "score", "rank", "rounds", "defaults_caused", "reached"]
    assert r.to_frame()["node"].tolist() == ["a", "b"]
    d = r.to_dict()
    assert d["method"] == "debtrank" and d["parameters"]["top"] == 2 and len(d["ranking"]) == 2
    with pytest.raises(Exception):
        r.method = "x"


def test_ties_share_the_smallest_rank_and_top_keeps_them():
    r = rank(RING, "debtrank", top=1)
    assert r.ranking["rank"].tolist() == [1, 1, 1]


def test_method_all_side_by_side_with_kendall_tau():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r = rank(CHAIN, "all")
    cols = ["node"] + [c for m in ALL for c in (m, f"{m}_rank")]
    assert list(r.ranking.columns) == cols
    assert r.ranking["node"].tolist() == ["a", "b", "c", "d"]
    ag = r.agreement
    assert len(ag) == len(ALL) * (len(ALL) - 1) // 2
    # DebtRank and Furfine order the chain the same way... except Furfine ties b, c, d at 0
    # (no default); DebtRank vs differential DebtRank: identical order on the chain -> tau = 1
    pair = ag[(ag.method_a == "debtrank") & (ag.method_b == "differential-debtrank")]
    assert pair["tau"].iloc[0] == pytest.approx(1.0)
    assert ((ag["tau"].dropna() >= -1) & (ag["tau"].dropna() <= 1)).all()


def test_unknown_method_and_bad_parameters():
    with pytest.raises(ValueError, match="'method' parameter of rank must be one of"):
        rank(CHAIN, "betweenness")
    with pytest.raises(ValueError, match="'initial_distress' parameter of rank must be a number in"):
        rank(CHAIN, initial_distress=1.5)
    with pytest.raises(ValueError, match="'top' parameter"):
        rank(CHAIN, top=0)
    with pytest.raises(ValueError, match="'value' parameter"):
        rank(CHAIN, value="size")
    with pytest.raises(InvalidShockError):
        rank(CHAIN, shock={"zz": 0.5})


def test_shock_ranks_the_shocked_network():
    # after a loses half its external assets (20 -> 10) its equity is 0: a is fully vulnerable,
    # so c's loss (W[c,d] = 0.5) is unchanged but b's distress reaches a? No: a is nobody's
    # creditor. The shocked network's impact of b equals that computed on the shocked copy.
    from exposure.shocks import apply_shock
    r1 = rank(CHAIN, "impact", shock={"a": 0.5})
    r2 = rank(apply_shock(CHAIN, {"a": 0.5}), "impact")
    pd.testing.assert_frame_equal(r1.ranking, r2.ranking)
    assert r1.parameters["shock"] == {"a": 0.5}


# ----------------------------------------------------------------------- centralities
def test_centralities_follow_the_exposure_direction():
    # exposure graph edges run creditor -> debtor; in the chain a -> b -> c -> d (a owes b, ...)
    # the edges are b->a, c->b, d->c: d is a source, a the sink; PageRank piles up at a
    pr = rank(CHAIN, "pagerank")
    assert pr.ranking["node"].tolist() == ["a", "b", "c", "d"]
    k = rank(CHAIN, "katz")
    assert k.ranking["node"].tolist() == ["a", "b", "c", "d"]


def test_centrality_non_convergence_is_reported():
    with pytest.warns(ConvergenceWarning, match="did not converge within 1 power iterations"):
        r = rank(RING, "eigenvector", max_iter=1)
    assert not r.converged and r.ranking["score"].isna().all()
    # The star is not strongly connected (the leaves l2..l4 and "rich" reach nobody), so its
    # leading eigenvector is not unique: that is said, rather than iterating in vain.
    with pytest.warns(ConvergenceWarning, match="not strongly connected"):
        r = rank(STAR, "eigenvector")
    assert not r.converged and r.ranking["score"].isna().all()
    with pytest.raises(ConvergenceError) as info:
        rank(STAR, "katz", max_iter=1, strict=True)
    assert isinstance(info.value.result, RankingResult)


def test_differential_non_convergence_is_reported():
    with pytest.warns(ConvergenceWarning, match="did not converge within 1 iterations"):
        r = rank(CHAIN, "differential-debtrank", max_iter=1)
    assert not r.converged and r.residual > 0
    assert r.ranking.set_index("node").loc["a", "residual"] == pytest.approx(0.25)  # h_c's pending step


# ------------------------------------------------------------------------- properties
@st.composite
def networks(draw):
    n = draw(st.integers(2, 9))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    L = np.where(rng.random((n, n)) < draw(st.floats(0.1, 0.7)), rng.lognormal(0, 1, (n, n)), 0.0)
    np.fill_diagonal(L, 0)
    claims, owed = L.sum(axis=0), L.sum(axis=1)
    e = rng.uniform(0, 3, n) * (claims + owed + 1)
    x = rng.uniform(0, 1.2, n) * (e + claims)
    ids = [f"n{i}" for i in range(n)]
    d, c = np.nonzero(L)
    return ExposureNetwork.from_frames(
        pd.DataFrame({"id": ids, "external_assets": e, "external_liabilities": x}),
        pd.DataFrame({"debtor": [ids[i] for i in d], "creditor": [ids[j] for j in c], "amount": L[d, c]}))


@settings(max_examples=40, deadline=None)
@given(networks(), st.floats(0.01, 1.0), st.sampled_from(["debtrank", "differential-debtrank"]))
def test_debtrank_bounded_and_monotone_in_initial_distress(net, psi, method):
    # score in [0, 1 − v_s ψ]; the final total distress Σ v h(T) = score + v_s ψ never falls when
    # ψ grows (every step is monotone in h). The score itself need not grow: it subtracts v_s ψ.
    v = economic_value(net)
    ids = list(net.node_ids)
    opts = {"tol": 1e-14} if method == "differential-debtrank" else {}    # debtrank is exact: no tol
    lo = rank(net, method, initial_distress=psi * 0.5, **opts).ranking.set_index("node").loc[ids, "score"]
    hi = rank(net, method, initial_distress=psi, **opts).ranking.set_index("node").loc[ids, "score"]
    assert (hi >= -1e-15).all() and (hi.to_numpy() <= 1 - v * psi + 1e-12).all()
    assert (hi.to_numpy() + v * psi >= lo.to_numpy() + v * psi * 0.5 - 1e-12).all()


@settings(max_examples=30, deadline=None)
@given(networks(), st.randoms(use_true_random=False), st.sampled_from(["debtrank", "furfine", "impact",
                                                                        "differential-debtrank"]))
def test_relabelling_nodes_permutes_the_scores(net, rnd, method):
    order = list(range(net.n))
    rnd.shuffle(order)
    ids = list(net.node_ids)
    new_ids = {ids[i]: f"m{k}" for k, i in enumerate(order)}
    nodes = pd.DataFrame({"id": [new_ids[ids[i]] for i in order],
                          "external_assets": net.external_assets[order],
                          "external_liabilities": net.external_liabilities[order]})
    edges = net.claims[["debtor", "creditor", "amount"]].astype({"debtor": str, "creditor": str})
    edges = edges.assign(debtor=edges.debtor.map(new_ids), creditor=edges.creditor.map(new_ids))
    other = ExposureNetwork.from_frames(nodes, edges)
    opts = {"tol": 1e-14} if method in ("impact", "differential-debtrank") else {}   # the others are exact
    a = rank(net, method, **opts).ranking.set_index("node")["score"]
    b = rank(other, method, **opts).ranking.set_index("node")["score"]
    np.testing.assert_allclose(b.loc[[new_ids[i] for i in ids]].to_numpy(), a.loc[ids].to_numpy(),
                               rtol=1e-9, atol=1e-9)


def _reachable(net, s):
    L = net.liabilities
    seen, stack = {s}, [s]
    while stack:
        i = stack.pop()
        for j in L.indices[L.indptr[i]:L.indptr[i + 1]]:
            if j not in seen:
                seen.add(int(j))
                stack.append(int(j))
    return seen


@settings(max_examples=40, deadline=None)
@given(networks(), st.floats(0.05, 1.0))
def test_impact_never_exceeds_the_value_it_can_reach(net, f):
    # bound: the base equity of the other nodes it can reach plus what the reachable nodes pay
    # outside; under Eisenberg-Noe also the shock itself (value is only moved, never destroyed)
    from exposure.clearing import clear_vectors
    base = clear_vectors(net.relative_liabilities(), net.total_obligations(), net.external_assets, tol=1e-13)
    pbar = net.total_obligations()
    E0 = np.maximum(0, base.assets - pbar)
    paid_out = np.divide(net.external_liabilities * base.payments, pbar, out=np.zeros(net.n), where=pbar > 0)
    r = rank(net, "impact", shock_size=f, tol=1e-13).ranking.set_index("node")
    for s, node in enumerate(net.node_ids):
        reach = _reachable(net, s)
        bound = sum(E0[j] for j in reach if j != s) + sum(paid_out[j] for j in reach)
        assert r.loc[node, "score"] <= bound + 1e-7 * max(1, pbar.max())
        assert r.loc[node, "score"] <= f * net.external_assets[s] + 1e-7 * max(1, pbar.max())


# ------------------------------------------------------------------ version-2 networks
def test_impact_on_a_version_2_network_goes_through_the_mechanics():
    # expected: solve_system run directly on the base and on lido's asset loss; the loss to the
    # others is the equity lost by every other non-token node plus the extra unpaid external debt
    import pathlib
    from exposure.io import read_graph
    from exposure.defi import MarketShock, solve_system
    net = read_graph(pathlib.Path(__file__).resolve().parent.parent / "graphs" / "defi.json")
    assert len(net.holdings) and len(net.positions)
    r = rank(net, "impact").ranking.set_index("node")
    base = solve_system(net, MarketShock())
    hit = solve_system(net, MarketShock(asset_loss={"lido": 1.0}))
    token = np.asarray(base.kinds) == "token"
    dE = np.where(token, 0, base.equity_after - hit.equity_after)
    i = net.index_of("lido")
    expected = dE.sum() - dE[i] + hit.external_creditor_loss - base.external_creditor_loss
    assert r.loc["lido", "score"] == pytest.approx(expected, rel=1e-12)
    assert r.loc["lido", "score"] > 0
    assert (r["score"] >= -1e-6 * abs(r["score"]).max()).all()
    # vulnerability uses the same runs: lido's shock counts in every other node's mean
    vul = rank(net, "vulnerability").ranking.set_index("node")
    assert vul["score"].max() > 0
