"""The componentwise stopping rule: every node's payment within ``tol`` of its own obligations.

Reference: a dense fictitious default algorithm written here (each round's linear system solved
by ``numpy.linalg.solve``), an independent method, on random networks whose node sizes are
spread over 8 orders of magnitude, with more defaults than ``DIRECT_LIMIT`` so that the rounds
are solved by sweeps (where the stopping rule decides the accuracy).
"""

import numpy as np
import pytest
import scipy.sparse as sp

from exposure.clearing import clear_vectors
from exposure.clearing._solvers import OBLIGATION_FLOOR, residual_weights

TOL = 1e-9


def dense_clearing(L, e, x, alpha, beta, tol=TOL):
    """Greatest clearing vector by fictitious default rounds, each solved exactly (dense)."""
    pbar = L.sum(axis=1) + x
    Pi = np.divide(L, pbar[:, None], out=np.zeros_like(L), where=pbar[:, None] > 0)
    p = pbar.copy()
    D = np.zeros(len(pbar), bool)
    while True:
        new = ~D & (e + Pi.T @ p < pbar * (1 - tol))
        if not new.any():
            return p, pbar, Pi
        D |= new
        S = ~D
        A = np.eye(D.sum()) - beta * Pi[np.ix_(D, D)].T
        b = alpha * e[D] + beta * Pi[np.ix_(S, D)].T @ pbar[S]
        p = pbar.copy()
        p[D] = np.minimum(np.linalg.solve(A, b), pbar[D])


def spread_network(seed, n=800):
    """Sizes 10^U(0, 8); each node owes a few others amounts proportional to its own size."""
    rng = np.random.default_rng(seed)
    size = 10.0 ** rng.uniform(0, 8, n)
    L = np.zeros((n, n))
    for i in range(n):
        k = rng.integers(1, 6)
        to = rng.choice(np.delete(np.arange(n), i), size=k, replace=False)
        L[i, to] = size[i] * rng.dirichlet(np.ones(k)) * rng.uniform(0.3, 0.9)
    x = size * rng.uniform(0.0, 0.3, n)
    held = L.sum(axis=0)
    e = np.maximum(size * rng.uniform(0.9, 1.1, n) - held, 0.0) + 0.02 * size
    shocked = rng.choice(n, size=3 * n // 5, replace=False)
    e[shocked] *= rng.uniform(0.0, 0.3, shocked.size)
    return L, e, x


@pytest.mark.parametrize("alpha, beta", [(1.0, 1.0), (0.8, 0.9)])
@pytest.mark.parametrize("method", ["fictitious-default", "fixed-point"])
def test_every_node_within_tol_of_its_own_obligations(method, alpha, beta):
    for seed in range(3):
        L, e, x = spread_network(seed)
        ref, pbar, Pi = dense_clearing(L, e, x, alpha, beta)
        # more defaults than DIRECT_LIMIT: the rounds are solved by sweeps, where the rule matters
        assert (ref < pbar * (1 - 1e-6)).sum() > 200
        Pi_s = sp.csr_array(Pi)
        r = clear_vectors(Pi_s, pbar, e, alpha=alpha, beta=beta, method=method, tol=TOL)
        assert r.converged and r.residual <= TOL, r.message
        err = np.abs(r.payments - ref) / pbar
        assert err.max() <= TOL, (seed, err.max(), pbar[err.argmax()])


def test_floor_is_absolute_and_counted():
    # a node owing 1e-8 (below the floor of 1e-6 units) is held to tol * 1e-6 and counted
    L = np.array([[0.0, 1e-8, 0.0], [0.0, 0.0, 5.0], [0.0, 0.0, 0.0]])
    pbar = L.sum(axis=1)
    Pi = sp.csr_array(L / np.where(pbar > 0, pbar, 1.0)[:, None])
    e = np.array([0.0, 1.0, 0.0])
    w = residual_weights(Pi, pbar, e, TOL)
    # c owes nothing and is owed 5: its floor is the rounding allowance 64 ε · 5 / tol
    assert w[0] == OBLIGATION_FLOOR and w[1] == 5.0 and w[2] == pytest.approx(64 * np.finfo(float).eps * 5 / TOL)
    r = clear_vectors(Pi, pbar, e, tol=TOL)
    assert r.n_floor == 1 and "1 node owing less than the floor" in r.message
    # a owes 1e-8 and has nothing: pays 0; b owes 5 and holds 1 + 0: pays 1
    np.testing.assert_allclose(r.payments, [0.0, 1.0, 0.0], rtol=0, atol=1e-15)
