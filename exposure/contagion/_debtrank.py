"""Differential DebtRank of every node, sharing the work of seeds that reach the same core.

Differential DebtRank from seed ``s`` is the Picard iteration of the monotone map
``F_s(h) = min(1, h0 + Λ h)`` from ``h0 = ψ e_s`` (see :mod:`exposure.contagion`), so it
converges up to the least fixed point ``h*_s`` of ``F_s`` above ``h0``. On networks where
distress amplifies (``Λ`` with spectral radius above 1 on a strongly connected core),
almost every seed ends in nearly the same state, reached after many rounds in which
tiny distress spreads over the whole core and grows: one run costs ~30 passes over
the network. This module computes that shared state once and starts each run from it.

Anchor. Pick a node ``k`` (the creditor of most debtors) and a level ``ε``; compute
``y``, the least fixed point of ``G(h) = max(ε e_k, min(1, Λ h))``, by Picard iteration
from ``ε e_k``. For a seed whose run reaches ``h_k(t) ≥ ε`` at some round ``t``:

* ``y ≤ h*_s``: ``h*_s ≥ ε e_k`` and ``h*_s = F_s(h*_s) ≥ min(1, Λ h*_s)``, so ``h*_s`` is a
  post-fixed point of ``G`` and lies above its least fixed point (Knaster–Tarski);
* ``x0 = max(h(t), y)`` satisfies ``x0 ≤ h*_s`` and ``F_s(x0) ≥ x0`` (``F_s(h(t)) ≥ h(t)``
  along the run, ``F_s(y) ≥ min(1, Λ y) = y`` except at ``k``, where ``h_k(t) ≥ ε = y_k``).

So Picard iteration of ``F_s`` from ``x0`` increases to ``h*_s`` itself: the run switches to
``x0`` and only the nodes where ``x0`` differs from ``y`` (near the seed) do any work, with
``Λ y`` precomputed. Seeds that never lift ``h_k`` to ``ε`` run plainly to the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from . import _kernels as _k
from ._kernels import _collect, _jit, _prange

__all__ = ["DifferentialScores", "differential_debtrank_scores", "anchor_state"]

#: Level of the anchor's distress that switches a run to the shared state.
ANCHOR_LEVEL = 1e-9
#: Picard rounds allowed for the shared state (no warm start if it takes more).
ANCHOR_MAX_ITER = 5000


@dataclass(frozen=True, eq=False)
class DifferentialScores:
    score: np.ndarray
    iterations: np.ndarray
    residual: np.ndarray
    defaults: np.ndarray
    reached: np.ndarray
    converged: np.ndarray
    anchor: int
    anchor_iterations: int
    switched: np.ndarray | None = None     # per seed: the run moved to the shared state


def anchor_state(W: sp.csr_array, k: int, eps: float = ANCHOR_LEVEL, max_iter: int = ANCHOR_MAX_ITER):
    """Least fixed point ``y`` of ``max(ε e_k, min(1, Λ h))`` and ``U = Λ y``; None if not reached.

    ``W`` is by debtor (``W[i, j] = Λ[j, i]``). Returns ``(y, U, iterations)``.
    """
    Wt = sp.csr_array(W.T)
    y = np.zeros(W.shape[0])
    y[k] = eps
    for it in range(1, max_iter + 1):
        U = Wt @ y
        new = np.minimum(1.0, U)
        new[k] = max(new[k], eps)
        change = float(np.max(new - y, initial=0.0))
        y = np.maximum(y, new)
        if change <= 0.0:
            return y, Wt @ y, it
    return None


@_jit
def _spread(i, d, indptr, indices, w, base, h, acc, mark, stamp, touched, n_t, inq, cand, n_c):
    """Add ``Λ[:, i] d`` to ``acc`` of the creditors of ``i``; first touches start from ``base``."""
    for q in range(indptr[i], indptr[i + 1]):
        j = indices[q]
        inc = w[q] * d
        if inc <= 0.0:
            continue
        if mark[j] != stamp:
            mark[j] = stamp
            touched[n_t] = j
            n_t += 1
            h[j] = base[j]
        acc[j] += inc
        if inq[j] != stamp:
            inq[j] = stamp
            cand[n_c] = j
            n_c += 1
    return n_t, n_c


@_jit
def _update(cand, n_c, h, acc, U, warm, inq, tol, nxt, nd):
    """One Picard round on the candidates: ``h ← min(1, h + acc)`` (plain, ``acc`` = Λ Δh) or
    ``h ← min(1, U + acc)`` (warm, ``acc`` = the running excess of ``h0 + Λ h`` over ``Λ y``)."""
    n_next = 0
    for q0 in range(n_c):
        j = cand[q0]
        inq[j] = -1
        if warm:
            new = U[j] + acc[j]
        else:
            new = h[j] + acc[j]
            acc[j] = 0.0
        if new > 1.0:
            new = 1.0
        d = new - h[j]
        if d > 0.0:
            h[j] = new
            if d > tol:
                nxt[n_next] = j
                nd[n_next] = d
                n_next += 1
    return n_next


@_jit
def _warm_one(s, psi, indptr, indices, w, v, tol, max_iter, k, eps, y, U, zero, base_score, base_defaults,
              base_reached, h, acc, mark, stamp, nxt, nd, touched, cand, inq):
    """One run: plain rounds until ``h_k ≥ eps`` (never when ``k < 0``), then Picard from ``max(h, y)``.

    Returns (score, iterations, residual, defaults caused, reached, switched)."""
    h[s] = psi
    mark[s] = stamp
    touched[0] = s
    n_t = 1
    n_c = 0
    if psi > 0.0:
        n_t, n_c = _spread(s, psi, indptr, indices, w, zero, h, acc, mark, stamp, touched, n_t, inq, cand, n_c)
    it = 0
    warm = False
    while n_c > 0 and it < max_iter:
        it += 1
        n_next = _update(cand, n_c, h, acc, U, warm, inq, tol, nxt, nd)
        n_c = 0
        if not warm and k >= 0 and n_next > 0 and mark[k] == stamp and h[k] >= eps:
            warm = True                    # restart from x0 = max(h, y): acc = h0 + Λ(x0 − y)
            acc[s] += psi
            inq[s] = stamp
            cand[0] = s
            n_c = 1
            n_old = n_t
            for q0 in range(n_old):
                i = touched[q0]
                excess = h[i] - y[i]
                if excess <= 0.0:
                    h[i] = y[i]
                else:
                    n_t, n_c = _spread(i, excess, indptr, indices, w, y, h, acc, mark, stamp, touched, n_t,
                                       inq, cand, n_c)
            continue
        base = y if warm else zero
        for q0 in range(n_next):
            n_t, n_c = _spread(nxt[q0], nd[q0], indptr, indices, w, base, h, acc, mark, stamp, touched, n_t,
                               inq, cand, n_c)
    residual = 0.0                         # converged: nothing left to propagate
    if n_c > 0:                            # iteration limit: what was still to move
        for q0 in range(n_c):
            j = cand[q0]
            inq[j] = -1
            d = min(1.0, (U[j] if warm else h[j]) + acc[j]) - h[j]
            if d > residual:
                residual = d
    if not warm:
        for q0 in range(n_t):
            acc[touched[q0]] = 0.0
        score, defaults = _collect(s, psi, v, h, touched, n_t)
        return score, it, residual, defaults, n_t, False
    score = base_score - v[s] * psi
    defaults = base_defaults - (1 if h[s] >= 1.0 else 0)     # the seed is not a default it caused
    reached = base_reached
    for q0 in range(n_t):
        j = touched[q0]
        score += v[j] * (h[j] - y[j])
        if h[j] >= 1.0 and y[j] < 1.0:
            defaults += 1
        if h[j] > 0.0 and y[j] <= 0.0:
            reached += 1
        h[j] = 0.0
        acc[j] = 0.0
    return score, it, residual, defaults, reached, True


@_jit(parallel=True)
def _warm_many(seeds, psi, indptr, indices, w, v, tol, max_iter, k, eps, y, U, base_score, base_defaults,
               base_reached, n_chunks, score, iters, residual, defaults, reached, warm):
    n = v.shape[0]
    for c in _prange(n_chunks):
        zero = np.zeros(n)
        h = np.zeros(n)
        acc = np.zeros(n)
        mark = np.full(n, -1, np.int64)
        inq = np.full(n, -1, np.int64)
        nxt = np.empty(n, np.int64)
        nd = np.empty(n)
        touched = np.empty(n, np.int64)
        cand = np.empty(n, np.int64)
        for q in range(c, seeds.shape[0], n_chunks):
            r = _warm_one(seeds[q], psi, indptr, indices, w, v, tol, max_iter, k, eps, y, U, zero, base_score,
                          base_defaults, base_reached, h, acc, mark, q, nxt, nd, touched, cand, inq)
            score[q] = r[0]
            iters[q] = r[1]
            residual[q] = r[2]
            defaults[q] = r[3]
            reached[q] = r[4]
            warm[q] = r[5]


def differential_debtrank_scores(W: sp.csr_array, v: np.ndarray, psi: float, *, tol: float = 1e-10,
                                 max_iter: int = 10_000, seeds=None, anchor: bool = True) -> DifferentialScores:
    """Differential DebtRank of each seed (default: every node); ``W`` by debtor, uncapped.

    With ``anchor`` (and numba), runs that lift the anchor's distress to ``ε`` switch to the
    shared state (module docstring); the result is the same fixed point.
    """
    n = W.shape[0]
    seeds = np.arange(n, dtype=np.int64) if seeds is None else np.ascontiguousarray(seeds, dtype=np.int64)
    if not _k.HAVE_NUMBA:
        score, iters, residual, defaults, reached = _k.differential_block(W, v, seeds, psi, tol, max_iter)
        return DifferentialScores(score, iters, residual, defaults, reached, residual <= tol, -1, 0)
    perm, inv = _k.locality_order(W)
    W, v, seeds = _k.permuted(W, perm), np.asarray(v, np.float64)[perm], inv[seeds]
    k, it_anchor, state = -1, 0, None
    if anchor and n > 1 and W.nnz and psi > 0:
        k = int(np.argmax(np.diff(sp.csc_array(W).indptr)))   # creditor of the most debtors
        state = anchor_state(W, k)
    if state is None:
        k, y, U = -1, np.zeros(n), np.zeros(n)
    else:
        y, U, it_anchor = state
    m = seeds.size
    score, residual = np.zeros(m), np.zeros(m)
    iters, defaults, reached = np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(m, np.int64)
    warm = np.zeros(m, np.bool_)
    n_chunks = max(1, min(m, 8 * _k.n_threads()))
    _warm_many(seeds, float(psi), W.indptr.astype(np.int64), W.indices.astype(np.int64),
               np.asarray(W.data, np.float64), np.asarray(v, np.float64), float(tol), int(max_iter), k,
               float(ANCHOR_LEVEL), y, U, float(v @ y), int((y >= 1.0).sum()), int((y > 0).sum()),
               n_chunks, score, iters, residual, defaults, reached, warm)
    converged = residual <= tol
    return DifferentialScores(score, iters, residual, defaults, reached, converged,
                              int(perm[k]) if k >= 0 else -1, it_anchor, warm)
