"""Ranking methods against slow, literal reference implementations on random networks.

The references below follow the papers' rules step by step on dense matrices, with node
states kept explicitly; the library's kernels (compiled per-seed traversals, batched
sparse × dense-block products, the shared-core warm start of differential DebtRank, the
worklist clearing of the impact) must give the same numbers.
"""

import numpy as np
import pandas as pd
import pytest

from exposure import ExposureNetwork
from exposure.contagion import _kernels as K
from exposure.contagion._debtrank import anchor_state, differential_debtrank_scores
from exposure.contagion._impact import impact_scores
from exposure.clearing import clear_vectors
from exposure.contagion import economic_value, impact_weights, rank

U, D, I = 0, 1, 2   # undistressed, distressed, inactive


# ----------------------------------------------------------------------- references
def debtrank_dense(W, v, seed, psi):
    """Battiston et al. (2012), Sci. Rep. 2:541, the update rule as written there."""
    n = len(v)
    h = np.zeros(n)
    s = np.full(n, U)
    h[seed] = psi
    if psi > 0:
        s[seed] = D
    h0 = h.copy()
    while (s == D).any():
        dist = s == D
        new_h = np.minimum(1.0, h + W[dist].T @ h[dist])
        new_s = s.copy()
        new_s[dist] = I                                   # distressed -> inactive
        new_s[(s == U) & (new_h > 0)] = D                 # undistressed with h > 0 -> distressed
        h, s = new_h, new_s
    return float(v @ h - v @ h0), h


def differential_dense(Lam, v, seed, psi, tol=1e-14, max_iter=100_000):
    """Bardoscia et al. (2015), PLoS ONE 10(6):e0130406: h(t+1) = min(1, h(t) + Λ(h(t) − h(t−1)))."""
    n = len(v)
    prev = np.zeros(n)
    h = np.zeros(n)
    h[seed] = psi
    for _ in range(max_iter):
        new = np.minimum(1.0, h + Lam @ (h - prev))
        prev, h = h, new
        if np.max(h - prev) <= tol:
            break
    return float(v @ h - v[seed] * psi), h


def furfine_dense(L, E, seed, lgd):
    """Furfine (2003): round by round, a node defaults when its losses reach its equity."""
    n = len(E)
    dead = np.zeros(n, bool)
    dead[seed] = True
    front = dead.copy()
    loss = np.zeros(n)
    rounds = 0
    while front.any():
        loss += lgd * (L[front].sum(axis=0))
        thr = np.where(E > 0, E, np.finfo(float).tiny)
        new = (loss >= thr) & ~dead
        rounds += bool(new.any())
        dead |= new
        front = new
    lost = np.minimum(loss, np.maximum(E, 0))
    lost[seed] = 0
    return float(lost.sum()), int(dead.sum() - 1), rounds


def impact_reference(net, seed, f, alpha, beta):
    """Impact by two full clearings (the clearing engine, from scratch)."""
    Pi, pbar, e, x = net.relative_liabilities(), net.total_obligations(), net.external_assets, net.external_liabilities
    base = clear_vectors(Pi, pbar, e, alpha=alpha, beta=beta, tol=1e-13)
    e2 = e.copy()
    e2[seed] *= 1 - f
    shocked = clear_vectors(Pi, pbar, e2, alpha=alpha, beta=beta, tol=1e-13)
    E0 = np.maximum(0, base.assets - pbar)
    E1 = np.maximum(0, shocked.assets - pbar)
    dE = E0 - E1
    own = dE[seed]
    dE[seed] = 0
    ext = np.divide(x * (base.payments - shocked.payments), pbar, out=np.zeros_like(pbar), where=pbar > 0)
    new_def = shocked.defaulted & ~base.defaulted
    new_def[seed] = False
    return float(dE.sum() + ext.sum()), int(new_def.sum()), dE, own


# ------------------------------------------------------------------------- networks
def random_network(n, seed, density=0.15, equity_ratio=(0.05, 0.4), ext_share=(0.3, 0.8), negative=0):
    rng = np.random.default_rng(seed)
    L = np.where(rng.random((n, n)) < density, rng.lognormal(0, 1, (n, n)), 0.0)
    np.fill_diagonal(L, 0.0)
    claims = L.sum(axis=0)
    owed = L.sum(axis=1)
    total = np.maximum(claims / rng.uniform(*ext_share, n), owed * 1.2 + 0.1)
    e = total - claims
    x = np.maximum(0.0, (1 - rng.uniform(*equity_ratio, n)) * total - owed)
    for k in range(negative):                       # some nodes insolvent at face value
        x[k] = total[k] - owed[k] + 0.5
    ids = [f"v{i}" for i in range(n)]
    d, c = np.nonzero(L)
    return ExposureNetwork.from_frames(
        pd.DataFrame({"id": ids, "external_assets": e, "external_liabilities": x}),
        pd.DataFrame({"debtor": [ids[i] for i in d], "creditor": [ids[j] for j in c], "amount": L[d, c]}))


NETWORKS = [(12, 0, 0.2, 0), (25, 1, 0.1, 0), (30, 2, 0.15, 2), (40, 3, 0.06, 0), (20, 4, 0.3, 3)]


@pytest.fixture(params=NETWORKS, ids=lambda p: f"n{p[0]}-seed{p[1]}")
def net(request):
    n, seed, density, negative = request.param
    return random_network(n, seed, density=density, negative=negative)


# ---------------------------------------------------------------------------- tests
@pytest.mark.parametrize("psi", [1.0, 0.3])
@pytest.mark.parametrize("value", ["assets", "equity"])
def test_debtrank_matches_the_literal_rule(net, psi, value):
    # expected: debtrank_dense, the paper's update with explicit U/D/I states
    W = impact_weights(net).toarray()
    v = economic_value(net, value)
    expected = np.array([debtrank_dense(W, v, s, psi)[0] for s in range(net.n)])
    r = rank(net, "debtrank", initial_distress=psi, value=value)
    got = r.ranking.set_index("node").loc[list(net.node_ids), "score"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    # defaults caused = other nodes with h = 1 in the reference
    dc = [int(((debtrank_dense(W, v, s, psi)[1] >= 1) & (np.arange(net.n) != s)).sum()) for s in range(net.n)]
    assert r.ranking.set_index("node").loc[list(net.node_ids), "defaults_caused"].tolist() == dc


def test_debtrank_kernel_and_block_agree(net):
    # two algorithms: per-seed traversal vs batched sparse x dense-block rounds
    W, v, seeds = impact_weights(net), economic_value(net), np.arange(net.n)
    a = K.debtrank_seeds(W, v, seeds, 0.7, compiled=True)
    b = K.debtrank_block(W, v, seeds, 0.7)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12, atol=1e-15)
    for x, y in zip(a[1:], b[1:]):
        np.testing.assert_array_equal(x, y)


def test_debtrank_kernel_keeps_zero_links_and_zero_distress_inert():
    # a link of weight 0 must not mark its creditor distressed (the kernel's frontier slot is
    # kept only for a positive increment), and psi = 0 distresses nobody; expected values from
    # debtrank_dense, the literal rule, and by hand for psi = 0 (score 0, no rounds, 1 node)
    net = random_network(30, 7, density=0.2)
    W = impact_weights(net)
    W.data[::3] = 0.0                               # explicit zeros kept in the CSR structure
    v, seeds = economic_value(net), np.arange(net.n)
    score, rounds, defaults, reached = K.debtrank_seeds(W, v, seeds, 1.0, compiled=True)
    Wd = W.toarray()
    ref = [debtrank_dense(Wd, v, s, 1.0) for s in seeds]
    np.testing.assert_allclose(score, [r[0] for r in ref], rtol=1e-12, atol=1e-15)
    assert reached.tolist() == [int((r[1] > 0).sum()) for r in ref]
    z = K.debtrank_seeds(W, v, seeds, 0.0, compiled=True)
    assert not z[0].any() and not z[1].any() and not z[2].any() and (z[3] == 1).all()


def test_batched_kernels_count_the_seed_as_reached_at_zero_distress():
    # by hand: with psi = 0 nobody is distressed, so each run scores 0, takes no round and reaches
    # only its seed, as the compiled kernels count it (the seed is always the first node touched)
    net = random_network(30, 7, density=0.2)
    W, v, seeds = impact_weights(net), economic_value(net), np.arange(net.n)
    score, rounds, defaults, reached = K.debtrank_block(W, v, seeds, 0.0)
    assert not score.any() and not rounds.any() and not defaults.any() and (reached == 1).all()
    d = K.differential_block(impact_weights(net, cap=False), v, seeds, 0.0, 1e-12, 100)
    assert not d[0].any() and (d[4] == 1).all()


@pytest.mark.parametrize("top", [1, 5, 20])
@pytest.mark.parametrize("n, seed", [(200, 11), (300, 12)])
def test_debtrank_top_is_the_first_ranks_of_the_literal_rule(n, seed, top):
    # expected: every node's score by debtrank_dense (the paper's update), ranked with ties at
    # the smallest rank; --top keeps exactly the nodes of rank <= top, in rank order
    net = random_network(n, seed, density=4.0 / n)
    W, v = impact_weights(net).toarray(), economic_value(net)
    expected = np.array([debtrank_dense(W, v, s, 1.0)[0] for s in range(n)])
    got = rank(net, "debtrank", top=top).ranking
    order = np.argsort(-expected, kind="stable")
    cut = expected[order[top - 1]] * (1 - 1e-9)
    keep = order[expected[order] >= cut]
    assert sorted(got["node"]) == sorted(net.node_ids[keep])
    np.testing.assert_allclose(got["score"], np.sort(expected[keep])[::-1], rtol=1e-12)
    assert (got["rank"] <= top).all() and got["rank"].iloc[0] == 1


@pytest.mark.parametrize("psi", [1.0, 0.05])
def test_differential_matches_the_literal_rule(net, psi):
    # expected: differential_dense iterated to increments below 1e-14
    Lam = impact_weights(net, cap=False).toarray().T        # Λ[j, i]
    v = economic_value(net)
    expected = np.array([differential_dense(Lam, v, s, psi)[0] for s in range(net.n)])
    r = rank(net, "differential-debtrank", initial_distress=psi, tol=1e-14)
    got = r.ranking.set_index("node").loc[list(net.node_ids), "score"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    assert r.converged


def test_differential_warm_start_plain_and_block_agree(net):
    # three algorithms for the same fixed point: shared-core warm start, plain per-seed, batched
    W, v = impact_weights(net, cap=False), economic_value(net)
    warm = differential_debtrank_scores(W, v, 1.0, tol=1e-14, compiled=True)
    plain = differential_debtrank_scores(W, v, 1.0, tol=1e-14, anchor=False, compiled=True)
    block = K.differential_block(W, v, np.arange(net.n), 1.0, 1e-14, 100_000)
    np.testing.assert_allclose(warm.score, plain.score, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(block[0], plain.score, rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(warm.defaults, plain.defaults)
    np.testing.assert_array_equal(warm.reached, plain.reached)


@pytest.mark.skipif(not K.HAVE_NUMBA, reason="the shared-core warm start belongs to the compiled kernel; "
                    "without numba differential DebtRank runs the batched algorithm, checked above")
def test_warm_start_is_used_and_exact_on_an_amplifying_network():
    # thin equity (2-5% of assets) and dense claims: distress amplifies, most runs switch to the
    # shared state; the scores equal the plain runs' and the literal rule's
    net = random_network(30, 7, density=0.3, equity_ratio=(0.02, 0.05))
    W, v = impact_weights(net, cap=False), economic_value(net)
    warm = differential_debtrank_scores(W, v, 1.0, tol=1e-14, compiled=True)
    assert warm.switched.sum() >= net.n // 2
    plain = differential_debtrank_scores(W, v, 1.0, tol=1e-14, anchor=False, compiled=True)
    np.testing.assert_allclose(warm.score, plain.score, rtol=1e-10, atol=1e-13)
    Lam = W.toarray().T
    np.testing.assert_allclose(warm.score, [differential_dense(Lam, v, s, 1.0)[0] for s in range(net.n)],
                               rtol=1e-9, atol=1e-12)


def test_anchor_state_is_a_fixed_point_below_every_seed_that_lifts_it():
    # y = max(eps e_k, min(1, Λ y)) (residual check) and y <= h* of a seed that reaches k
    net = random_network(30, 7, density=0.3, equity_ratio=(0.02, 0.05))
    W = impact_weights(net, cap=False)
    Lam = W.toarray().T
    k = int(np.argmax((W.toarray() > 0).sum(axis=0)))
    y, Uy, _ = anchor_state(W, k)
    fixed = np.minimum(1.0, Lam @ y)
    fixed[k] = max(fixed[k], 1e-9)
    np.testing.assert_allclose(y, fixed, atol=1e-14)
    np.testing.assert_allclose(Uy, Lam @ y, rtol=1e-13)
    for s in range(net.n):
        _, h = differential_dense(Lam, economic_value(net), s, 1.0)
        if h[k] >= 1e-9:
            assert np.all(y <= h + 1e-12)


def test_differential_limit_is_the_linear_debtrank_valuation(net):
    # Barucca et al. (2020) valuation, iterated in equity space from E0 downwards:
    # E_i = e_i − shock_i + Σ_j L[j, i] clip(E_j / E0_j, 0, 1) − p̄_i, shock = ψ E0_s at the seed;
    # then h = 1 − clip(E / E0, 0, 1). Only for networks where every node has E0 > 0.
    E0 = net.equity()
    if (E0 <= 0).any():
        return
    L = net.liabilities.toarray()
    e, pbar, v = net.external_assets, net.total_obligations(), economic_value(net)
    psi = 0.4
    got = rank(net, "differential-debtrank", initial_distress=psi, tol=1e-15).ranking.set_index("node")
    for s in range(net.n):
        E = E0.copy()
        ext = e.copy()
        ext[s] -= psi * E0[s]
        for _ in range(20_000):
            new = ext + L.T @ np.clip(E / E0, 0, 1) - pbar
            if np.max(np.abs(new - E)) <= 1e-13 * max(1.0, np.abs(E0).max()):
                E = new
                break
            E = new
        h = 1 - np.clip(E / E0, 0, 1)
        expected = v @ h - v[s] * psi
        assert got.loc[f"v{s}", "score"] == pytest.approx(expected, rel=1e-8, abs=1e-11)


def test_furfine_matches_the_round_by_round_rule(net):
    # expected: furfine_dense, losses summed round by round on the dense L
    L, E = net.liabilities.toarray(), net.equity()
    for lgd in (1.0, 0.4):
        exp = [furfine_dense(L, E, s, lgd) for s in range(net.n)]
        r = rank(net, "furfine", lgd=lgd).ranking.set_index("node").loc[list(net.node_ids)]
        np.testing.assert_allclose(r["score"], [x[0] for x in exp], rtol=1e-12, atol=1e-12)
        assert r["defaults_caused"].tolist() == [x[1] for x in exp]
        assert r["rounds"].tolist() == [x[2] for x in exp]


def test_furfine_kernel_and_block_agree(net):
    LG = net.liabilities.copy()
    LG.data = LG.data * 0.6
    a = K.furfine_seeds(LG, net.equity(), np.arange(net.n), compiled=True)
    b = K.furfine_block(LG, net.equity(), np.arange(net.n))
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12, atol=1e-12)
    for x, y in zip(a[1:], b[1:]):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("alpha,beta,f", [(1.0, 1.0, 1.0), (1.0, 1.0, 0.4), (0.6, 0.8, 1.0)])
def test_impact_matches_two_full_clearings(net, alpha, beta, f):
    # expected: the clearing engine run from scratch on the base and on each shocked network
    refs = [impact_reference(net, s, f, alpha, beta) for s in range(net.n)]
    r = impact_scores(net, shock_size=f, alpha=alpha, beta=beta, tol=1e-13, compiled=True)
    scale = max(1.0, net.total_obligations().max())
    np.testing.assert_allclose(r["loss"], [x[0] for x in refs], rtol=1e-8, atol=1e-9 * scale)
    np.testing.assert_array_equal(r["n_defaults"], [x[1] for x in refs])
    vul = np.sum([x[2] for x in refs], axis=0) / (net.n - 1)
    np.testing.assert_allclose(r["vulnerability"], vul, rtol=1e-8, atol=1e-9 * scale)
    assert r["converged"].all()
    # the batched Picard gives the same
    b = impact_scores(net, shock_size=f, alpha=alpha, beta=beta, tol=1e-13, compiled=False)
    np.testing.assert_allclose(b["loss"], r["loss"], rtol=1e-8, atol=1e-9 * scale)
    np.testing.assert_array_equal(b["n_defaults"], r["n_defaults"])


def test_impact_and_vulnerability_through_rank(net):
    r = rank(net, "impact", alpha=0.7, beta=0.9).ranking.set_index("node").loc[list(net.node_ids)]
    refs = [impact_reference(net, s, 1.0, 0.7, 0.9) for s in range(net.n)]
    scale = max(1.0, net.total_obligations().max())
    np.testing.assert_allclose(r["score"], [x[0] for x in refs], rtol=1e-8, atol=1e-8 * scale)
    np.testing.assert_allclose(r["loss"], r["score"])
    vr = rank(net, "vulnerability", alpha=0.7, beta=0.9).ranking.set_index("node").loc[list(net.node_ids)]
    np.testing.assert_allclose(vr["score"], np.sum([x[2] for x in refs], axis=0) / (net.n - 1),
                               rtol=1e-8, atol=1e-8 * scale)


def test_amplification_is_the_clearing_sensitivity(net):
    # expected: exposure.clearing.loss_amplification (Liu & Staum), read back unchanged
    from exposure.clearing import loss_amplification
    frame = loss_amplification(net)
    r = rank(net, "amplification").ranking.set_index("node").loc[list(net.node_ids)]
    np.testing.assert_allclose(r["score"], frame["loss_amplification"].to_numpy())


def sparse_random_network(n, seed, degree=4):
    rng = np.random.default_rng(seed)
    d = np.repeat(np.arange(n), degree)
    c = rng.integers(0, n, d.size)
    keep = d != c
    d, c = d[keep], c[keep]
    a = rng.lognormal(0, 1, d.size)
    claims = np.bincount(c, weights=a, minlength=n)
    owed = np.bincount(d, weights=a, minlength=n)
    total = np.maximum(claims / rng.uniform(0.2, 0.6, n), owed * 1.1 + 0.1)
    e = total - claims
    x = np.maximum(0.0, (1 - rng.uniform(0.03, 0.1, n)) * total - owed)
    ids = np.array([f"v{i}" for i in range(n)], dtype=object)
    return ExposureNetwork.from_frames(
        pd.DataFrame({"id": ids, "external_assets": e, "external_liabilities": x}),
        pd.DataFrame({"debtor": ids[d], "creditor": ids[c], "amount": a}))


def test_renumbering_for_locality_changes_no_score(monkeypatch):
    # the kernels renumber networks of REORDER_MIN_NODES nodes or more (reverse Cuthill-McKee);
    # the same runs without renumbering must give the same scores, seed by seed
    net = sparse_random_network(2500, 11)
    seeds = np.arange(0, net.n, 7)
    W, Lam, v = impact_weights(net), impact_weights(net, cap=False), economic_value(net)
    LG = net.liabilities
    assert K.locality_order(W)[0].tolist() != list(range(net.n))
    runs = {
        "debtrank": lambda: K.debtrank_seeds(W, v, seeds, 1.0, compiled=True),
        "differential": lambda: differential_debtrank_scores(Lam, v, 1.0, seeds=seeds, tol=1e-14, compiled=True),
        "furfine": lambda: K.furfine_seeds(LG, net.equity(), seeds, compiled=True),
        "impact": lambda: impact_scores(net, seeds=seeds, tol=1e-13, compiled=True),
    }
    renumbered = {k: f() for k, f in runs.items()}
    monkeypatch.setattr(K, "REORDER_MIN_NODES", 10**9)
    plain = {k: f() for k, f in runs.items()}
    np.testing.assert_allclose(renumbered["debtrank"][0], plain["debtrank"][0], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(renumbered["debtrank"][2], plain["debtrank"][2])
    np.testing.assert_allclose(renumbered["differential"].score, plain["differential"].score, rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(renumbered["furfine"][0], plain["furfine"][0], rtol=1e-12)
    np.testing.assert_array_equal(renumbered["furfine"][1], plain["furfine"][1])
    np.testing.assert_allclose(renumbered["impact"]["loss"], plain["impact"]["loss"], rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(renumbered["impact"]["vulnerability"], plain["impact"]["vulnerability"],
                               rtol=1e-8, atol=1e-8)
