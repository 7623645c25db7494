"""Slow, obvious dense implementations of the clearing models: the oracles of the sparse solvers.

``dense_fictitious_default`` follows the algorithm as the papers state it (Eisenberg & Noe
2001 §3; Rogers & Veraart 2013, Greatest Clearing Vector Algorithm), one dense
``numpy.linalg.solve`` per round. ``dense_picard`` iterates the clearing map node by node in
pure Python. Neither shares code with :mod:`exposure.clearing`.
"""

from __future__ import annotations

import numpy as np

TOL = 1e-9


def relative(L, x):
    pbar = L.sum(axis=1) + x
    Pi = np.zeros_like(L)
    owes = pbar > 0
    Pi[owes] = L[owes] / pbar[owes, None]
    return Pi, pbar


def random_system(seed, n, density, e_high, x_high):
    """A seeded random system: lognormal(0, 1) claims with the given density, e ~ U(0, e_high), x ~ U(0, x_high)."""
    rng = np.random.default_rng(seed)
    L = np.where(rng.random((n, n)) < density, rng.lognormal(0, 1, (n, n)), 0.0)
    np.fill_diagonal(L, 0.0)
    return L, rng.uniform(0, e_high, n), rng.uniform(0, x_high, n)


def dense_fictitious_default(L, e, x, alpha=1.0, beta=1.0, tol=TOL):
    """Return (payments, default_round) by the fictitious default algorithm on dense arrays."""
    L, e, x = (np.asarray(v, dtype=float) for v in (L, e, x))
    n = len(e)
    Pi, pbar = relative(L, x)
    rounds = np.zeros(n, dtype=int)
    D = np.zeros(n, dtype=bool)
    p = pbar.copy()
    k = 0
    while True:
        assets = e + Pi.T @ p
        new = ~D & (assets < pbar * (1 - tol))
        if not new.any():
            return p, rounds
        k += 1
        rounds[new] = k
        D |= new
        idx, rest = np.flatnonzero(D), np.flatnonzero(~D)
        A = np.eye(idx.size) - beta * Pi[np.ix_(idx, idx)].T
        b = alpha * e[idx] + beta * Pi[np.ix_(rest, idx)].T @ pbar[rest]
        p = pbar.copy()
        p[idx] = np.clip(np.linalg.solve(A, b), 0.0, pbar[idx])


def dense_picard(L, e, x, alpha=1.0, beta=1.0, tol=TOL, max_iter=200_000):
    """Return payments by plain Picard iteration of the clearing map from p̄ (Python loops)."""
    L, e, x = (np.asarray(v, dtype=float) for v in (L, e, x))
    n = len(e)
    Pi, pbar = relative(L, x)
    p = list(pbar)
    for _ in range(max_iter):
        new = []
        for i in range(n):
            received = sum(Pi[j, i] * p[j] for j in range(n))
            if e[i] + received >= pbar[i] * (1 - tol):
                new.append(pbar[i])
            else:
                new.append(min(pbar[i], alpha * e[i] + beta * received))
        if max(abs(a - b) for a, b in zip(new, p)) <= 1e-15 * max(1.0, max(pbar)):
            return np.array(new)
        p = new
    raise RuntimeError("dense_picard did not converge")


# The oracles are checked on their own against a hand derivation before they judge anything.
def test_references_on_a_hand_derived_chain():
    # a owes b 10, b owes 8 outside; e = (4, 2). By hand: a pays 4 (round 1), b holds 2 + 4 = 6 < 8
    # and pays 6 (round 2).
    L = np.array([[0.0, 10.0], [0.0, 0.0]])
    e, x = np.array([4.0, 2.0]), np.array([0.0, 8.0])
    p, rounds = dense_fictitious_default(L, e, x)
    np.testing.assert_allclose(p, [4.0, 6.0])
    assert rounds.tolist() == [1, 2]
    np.testing.assert_allclose(dense_picard(L, e, x), [4.0, 6.0])
