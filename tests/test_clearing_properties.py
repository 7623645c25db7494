"""Property-based tests of the clearing engine (hypothesis), against the dense reference implementation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from hypothesis import assume, given
from hypothesis import strategies as st

from exposure import ExposureNetwork
from exposure import clear
from exposure.clearing import clear_vectors, eisenberg_noe, rogers_veraart
from test_clearing_reference import dense_fictitious_default, dense_picard, relative

TOL = 1e-9
METHODS = ("fictitious-default", "fixed-point")


@st.composite
def systems(draw, max_n=9):
    """A random balance-sheet system: dense L (zero diagonal), e ≥ 0, x ≥ 0."""
    n = draw(st.integers(1, max_n))
    cells = st.one_of(st.just(0.0), st.floats(0.5, 50.0, allow_nan=False, allow_infinity=False))
    L = np.array(draw(st.lists(cells, min_size=n * n, max_size=n * n)), dtype=float).reshape(n, n)
    np.fill_diagonal(L, 0.0)
    e = np.array(draw(st.lists(st.floats(0.0, 60.0, allow_subnormal=False), min_size=n, max_size=n)), dtype=float)
    x = np.array(draw(st.lists(st.one_of(st.just(0.0), st.floats(0.0, 20.0, allow_subnormal=False)),
                                min_size=n, max_size=n)))
    return L, e, x


costs = st.sampled_from([(1.0, 1.0), (0.5, 0.7), (0.9, 0.95), (0.0, 1.0), (1.0, 0.3)])


def vectors(L, x):
    Pi, pbar = relative(L, x)
    return sp.csr_array(Pi), pbar


def scale(pbar):
    return max(1.0, float(pbar.max()))


def margin(L, e, x, p):
    """Smallest distance of any node's assets from its default threshold, relative to the scale."""
    Pi, pbar = relative(L, x)
    a = e + Pi.T @ p
    return float(np.min(np.abs(a - pbar * (1 - TOL)))) / scale(pbar)


@given(systems(), costs, st.sampled_from(METHODS))
def test_payments_are_bounded_and_a_fixed_point(system, ab, method):
    L, e, x = system
    Pi, pbar = vectors(L, x)
    r = clear_vectors(Pi, pbar, e, alpha=ab[0], beta=ab[1], method=method)
    assert r.converged and r.residual <= TOL
    assert (r.payments >= 0).all() and (r.payments <= pbar).all()
    # the residual is that of the clearing map, recomputed here independently
    a = e + Pi.T @ r.payments
    solvent = a >= pbar * (1 - TOL)
    phi = np.where(solvent, pbar, np.minimum(pbar, ab[0] * e + ab[1] * (a - e)))
    assert np.max(np.abs(phi - r.payments), initial=0.0) <= 2 * TOL * scale(pbar)
    np.testing.assert_array_equal(r.defaulted, ~solvent)


@given(systems(), costs)
def test_sparse_solver_matches_the_dense_reference(system, ab):
    L, e, x = system
    Pi, pbar = vectors(L, x)
    expected, rounds = dense_fictitious_default(L, e, x, *ab)
    r = clear_vectors(Pi, pbar, e, alpha=ab[0], beta=ab[1])
    np.testing.assert_allclose(r.payments, expected, rtol=0, atol=1e-9 * scale(pbar))
    assume(margin(L, e, x, expected) > 1e-7)         # no node on its threshold: rounds are well defined
    np.testing.assert_array_equal(r.default_round, rounds)


@given(systems(max_n=5), costs)
def test_both_methods_agree_with_plain_picard(system, ab):
    # Three independent routes to the greatest clearing vector: rounds (sparse), Picard (sparse),
    # Picard node by node in pure Python.
    L, e, x = system
    Pi, pbar = vectors(L, x)
    fd = clear_vectors(Pi, pbar, e, alpha=ab[0], beta=ab[1], method="fictitious-default")
    fp = clear_vectors(Pi, pbar, e, alpha=ab[0], beta=ab[1], method="fixed-point")
    slow = dense_picard(L, e, x, *ab)
    atol = 4 * TOL * scale(pbar)
    np.testing.assert_allclose(fd.payments, fp.payments, rtol=0, atol=atol)
    np.testing.assert_allclose(fd.payments, slow, rtol=0, atol=atol)


@given(systems(), costs, st.data())
def test_payments_never_increase_when_the_shock_grows(system, ab, data):
    L, e, x = system
    n = len(e)
    f1 = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    extra = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    f2 = np.minimum(1.0, f1 + extra * (1 - f1))
    Pi, pbar = vectors(L, x)
    p1 = clear_vectors(Pi, pbar, e * (1 - f1), alpha=ab[0], beta=ab[1]).payments
    p2 = clear_vectors(Pi, pbar, e * (1 - f2), alpha=ab[0], beta=ab[1]).payments
    assert (p2 <= p1 + 2 * TOL * scale(pbar)).all()


@given(systems(), costs, st.randoms(use_true_random=False))
def test_relabelling_nodes_permutes_the_result(system, ab, rnd):
    L, e, x = system
    n = len(e)
    perm = np.array(rnd.sample(range(n), n))
    Pi, pbar = vectors(L, x)
    r = clear_vectors(Pi, pbar, e, alpha=ab[0], beta=ab[1])
    Pi2, pbar2 = vectors(L[np.ix_(perm, perm)], x[perm])
    r2 = clear_vectors(Pi2, pbar2, e[perm], alpha=ab[0], beta=ab[1])
    np.testing.assert_allclose(r2.payments, r.payments[perm], rtol=0, atol=1e-9 * scale(pbar))
    assume(margin(L, e, x, r.payments) > 1e-7)
    np.testing.assert_array_equal(r2.default_round, r.default_round[perm])


@given(systems(), costs, st.sampled_from(METHODS))
def test_payments_inside_the_network_balance(system, ab, method):
    # Σ_i (Πᵀp)_i (all that nodes receive) = Σ_i p_i · (L·1)_i / p̄_i (all that nodes pay to other nodes).
    L, e, x = system
    Pi, pbar = vectors(L, x)
    r = clear_vectors(Pi, pbar, e, alpha=ab[0], beta=ab[1], method=method)
    received = (r.assets - e).sum()
    inside_share = np.divide(L.sum(1), pbar, out=np.zeros_like(pbar), where=pbar > 0)
    paid_inside = (r.payments * inside_share).sum()
    assert abs(received - paid_inside) <= 1e-9 * max(1.0, pbar.sum())


def _network(L, e, x):
    n = len(e)
    ids = [f"v{i}" for i in range(n)]
    d, c = np.nonzero(L)
    edges = pd.DataFrame({"debtor": [ids[i] for i in d], "creditor": [ids[j] for j in c], "amount": L[d, c]})
    return ExposureNetwork.from_frames(
        pd.DataFrame({"id": ids, "external_assets": e, "external_liabilities": x}), edges)


@given(systems())
def test_unit_default_costs_equal_eisenberg_noe_and_value_is_conserved(system):
    L, e, x = system
    net = _network(L, e, x)
    en = eisenberg_noe(net)
    rv = rogers_veraart(net, alpha=1.0, beta=1.0)
    np.testing.assert_array_equal(rv.payments, en.payments)
    np.testing.assert_array_equal(clear(net).payments, en.payments)
    # Eisenberg–Noe conserves value: Σ e = Σ equity + Σ x · recovery
    assert abs(e.sum() - en.equity.sum() - (x * en.recovery).sum()) <= 1e-8 * max(1.0, e.sum() + L.sum())


@given(systems(), st.sampled_from([(0.5, 0.7), (0.9, 0.95), (0.0, 0.0)]))
def test_default_costs_only_lower_payments(system, ab):
    # Rogers–Veraart with α, β ≤ 1 never pays more than Eisenberg–Noe, and the books balance with the costs:
    # Σ e = Σ equity + Σ x · recovery + default costs.
    L, e, x = system
    net = _network(L, e, x)
    en, rv = eisenberg_noe(net), rogers_veraart(net, alpha=ab[0], beta=ab[1])
    assert (rv.payments <= en.payments + 1e-9 * scale(en.obligations)).all()
    total = rv.equity.sum() + (x * rv.recovery).sum() + rv.default_costs
    assert abs(e.sum() - total) <= 1e-8 * max(1.0, e.sum() + L.sum())


@given(systems(), costs, st.sampled_from(METHODS), st.data())
def test_warm_start_from_the_unshocked_clearing_gives_the_same_payments(system, ab, method, data):
    # The clearing before a shock is an upper bound of the clearing after it (payments are monotone
    # in e): warm-starting from it must give the cold-start answer.
    L, e, x = system
    n = len(e)
    f = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    Pi, pbar = vectors(L, x)
    before = clear_vectors(Pi, pbar, e, alpha=ab[0], beta=ab[1]).payments
    cold = clear_vectors(Pi, pbar, e * (1 - f), alpha=ab[0], beta=ab[1])
    warm = clear_vectors(Pi, pbar, e * (1 - f), alpha=ab[0], beta=ab[1], method=method, start=before)
    assert warm.converged
    np.testing.assert_allclose(warm.payments, cold.payments, rtol=0, atol=4 * TOL * scale(pbar))
