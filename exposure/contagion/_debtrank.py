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

from ._kernels import can_default, differential_block, numba_kernels, seed_run, use_compiled

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


def differential_debtrank_scores(W: sp.csr_array, v: np.ndarray, psi: float, *, tol: float = 1e-10,
                                 max_iter: int = 10_000, seeds=None, anchor: bool = True, counted=None,
                                 compiled: bool | None = None) -> DifferentialScores:
    """Differential DebtRank of each seed (default: every node); ``W`` by debtor, uncapped.

    With ``anchor`` (and the compiled kernel), runs that lift the anchor's distress to ``ε``
    switch to the shared state (module docstring); the result is the same fixed point.
    ``counted`` (the nodes that can default) and ``compiled`` as for
    :func:`exposure.contagion._kernels.debtrank_seeds`.
    """
    n = W.shape[0]
    counted = can_default(counted, n)
    seeds = np.arange(n, dtype=np.int64) if seeds is None else np.ascontiguousarray(seeds, dtype=np.int64)
    if not use_compiled(compiled):
        score, iters, residual, defaults, reached = differential_block(W, v, seeds, psi, tol, max_iter, counted)
        return DifferentialScores(score, iters, residual, defaults, reached, residual <= tol, -1, 0)
    run = seed_run(W, seeds, compact=False)
    W, v, counted = run.matrix, np.asarray(v, np.float64)[run.perm], counted[run.perm]
    k, it_anchor, state = -1, 0, None
    if anchor and n > 1 and W.nnz and psi > 0:
        k = int(np.argmax(np.diff(sp.csc_array(W).indptr)))   # creditor of the most debtors
        state = anchor_state(W, k)
    if state is None:
        k, y, U = -1, np.zeros(n), np.zeros(n)
    else:
        y, U, it_anchor = state
    score, iters, residual, defaults, reached, warm = run.outputs(np.float64, np.int64, np.float64, np.int64,
                                                                  np.int64, np.bool_)
    numba_kernels().warm_many(run.seeds, float(psi), run.indptr, run.indices, run.data, v, counted, float(tol),
                              int(max_iter), k, float(ANCHOR_LEVEL), y, U, float(v @ y),
                              int(((y >= 1.0) & counted).sum()),
                              int((y > 0).sum()), run.n_chunks, score, iters, residual, defaults, reached, warm)
    converged = residual <= tol
    return DifferentialScores(score, iters, residual, defaults, reached, converged,
                              int(run.perm[k]) if k >= 0 else -1, it_anchor, warm)
