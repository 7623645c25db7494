"""Per-seed contagion kernels behind :mod:`exposure.contagion`.

Each kernel runs one contagion per seed node and returns, per seed, the score and
the counters the ranking reports. The graph is given in CSR form by *debtor*: row
``i`` lists the creditors ``j`` of ``i`` with the weight of the link ``i → j``
(distress flows from a debtor to its creditors).

Two implementations of each kernel:

* a per-seed sparse traversal (compiled with numba when it is installed, seeds split
  over the cores): the work of one seed is the number of links leaving the nodes
  its contagion reaches, so a seed whose distress stays local costs little;
* a batched one in numpy/scipy: the seeds of a block are the columns of a dense
  ``n × b`` state, every step is one sparse × dense-block product. Used without
  numba, and by the tests as a second algorithm.

DebtRank (Battiston et al. 2012) has a property both exploit: a node propagates
exactly once, in the step after it first becomes distressed, so the set of nodes
that propagate at step ``t`` is the ``t``-th breadth-first layer from the seed and
a run ends after at most ``n`` steps.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

try:  # pragma: no cover - exercised whichever way the environment is
    import numba
    HAVE_NUMBA = os.environ.get("EXPOSURE_NO_NUMBA", "") != "1"
except ImportError:  # pragma: no cover
    numba = None
    HAVE_NUMBA = False

__all__ = ["HAVE_NUMBA", "debtrank_seeds", "furfine_seeds", "locality_order",
           "debtrank_block", "differential_block", "furfine_block", "n_threads"]

#: Networks at least this large are renumbered for memory locality before per-seed runs.
REORDER_MIN_NODES = 2000


def n_threads() -> int:
    """Threads the compiled kernels use: numba's setting, else the number of cores."""
    if numba is not None:
        return int(numba.get_num_threads())
    return os.cpu_count() or 1


def locality_order(M: sp.csr_array):
    """Reverse Cuthill–McKee order of ``M + Mᵀ``: ``(perm, inv)`` with ``new = M[perm][:, perm]``.

    The per-seed kernels touch the creditors of the nodes they reach in an order that
    follows the links; numbering linked nodes close together keeps their state in cache
    (about 5× faster on 10⁵ heavy-tailed nodes). Scores do not depend on the numbering.
    Identity below :data:`REORDER_MIN_NODES` nodes.
    """
    n = M.shape[0]
    if n < REORDER_MIN_NODES:
        perm = np.arange(n)
        return perm, perm
    from scipy.sparse.csgraph import reverse_cuthill_mckee
    pattern = sp.csr_array(abs(M) + abs(M).T)
    perm = np.asarray(reverse_cuthill_mckee(pattern, symmetric_mode=True), dtype=np.int64)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(n)
    return perm, inv


def permuted(M: sp.csr_array, perm: np.ndarray) -> sp.csr_array:
    """``M[perm][:, perm]`` as a CSR array with sorted indices."""
    if np.array_equal(perm, np.arange(M.shape[0])):
        return M
    out = sp.csr_array(M[perm][:, perm])
    out.sort_indices()
    return out


def _jit(fn=None, parallel=False):
    def wrap(f):
        if numba is None:
            return f
        return numba.njit(cache=True, parallel=parallel, nogil=True)(f)
    return wrap(fn) if fn is not None else wrap


_prange = numba.prange if numba is not None else range


# --------------------------------------------------------------------------- DebtRank
@_jit
def _collect(s, psi, v, h, touched, n_t):
    """Score ``Σ v h − v_s ψ`` and defaults caused over the touched nodes; resets ``h`` to 0."""
    score = 0.0
    defaults = 0
    for k in range(n_t):
        j = touched[k]
        score += v[j] * h[j]
        if j != s and h[j] >= 1.0:
            defaults += 1
        h[j] = 0.0
    return score - v[s] * psi, defaults


@_jit
def _debtrank_one(s, psi, indptr, indices, w, v, h, front, nxt, hp, touched):
    """One DebtRank run from seed ``s``; returns (score, rounds, defaults, n_touched).

    ``h`` is all zeros on entry and on exit; a node has been distressed iff its ``h > 0``
    (every contribution is positive), so no separate state array is read per link. The
    inner loop has no data-dependent branch: every creditor is written to the next
    frontier's slot and the slot is kept only when the node is newly distressed (which a
    processor cannot predict in the large middle layers; with 32-bit indices 1.3x less time
    per run at 10⁵ nodes on one thread, 1.14x with both cores busy, see docs/ranking.md).
    ``touched`` lists the seed,
    then every layer in order, so the score is summed in the same order as before.
    """
    h[s] = psi
    touched[0] = s
    n_t = 1
    front[0] = s
    n_front = 1
    rounds = 0
    while n_front > 0:
        for k in range(n_front):          # h(t-1) of the nodes that propagate now
            hp[k] = h[front[k]]
        n_next = 0
        for k in range(n_front):
            i = front[k]
            hi = hp[k]
            for q in range(indptr[i], indptr[i + 1]):
                j = indices[q]
                inc = w[q] * hi
                hj = h[j]
                nxt[n_next] = j           # kept iff undistressed -> distressed (positive increment)
                n_next += (hj == 0.0) & (inc > 0.0)
                hj += inc
                h[j] = min(hj, 1.0)
        for k in range(n_next):
            touched[n_t + k] = nxt[k]
        n_t += n_next
        if n_next > 0:
            rounds += 1
        front, nxt = nxt, front
        n_front = n_next
    score, defaults = _collect(s, psi, v, h, touched, n_t)
    return score, rounds, defaults, n_t


@_jit(parallel=True)
def _debtrank_many(seeds, psi, indptr, indices, w, v, n_chunks, score, rounds, defaults, reached):
    n = v.shape[0]
    for c in _prange(n_chunks):
        h = np.zeros(n)
        front = np.empty(n, np.int64)
        nxt = np.empty(n, np.int64)
        hp = np.empty(n)
        touched = np.empty(n, np.int64)
        for k in range(c, seeds.shape[0], n_chunks):
            r = _debtrank_one(seeds[k], psi, indptr, indices, w, v, h, front, nxt, hp, touched)
            score[k] = r[0]
            rounds[k] = r[1]
            defaults[k] = r[2]
            reached[k] = r[3]


def debtrank_seeds(W: sp.csr_array, v: np.ndarray, seeds: np.ndarray, psi: float):
    """DebtRank of each seed: arrays (score, rounds, defaults_caused, reached)."""
    seeds = np.ascontiguousarray(seeds, dtype=np.int64)
    if not HAVE_NUMBA:
        return debtrank_block(W, v, seeds, psi)
    m = seeds.size
    out = (np.zeros(m), np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(m, np.int64))
    n_chunks = max(1, min(m, 8 * n_threads()))
    perm, inv = locality_order(W)
    W = permuted(W, perm)
    _debtrank_many(inv[seeds], float(psi), W.indptr.astype(np.int64), _compact_indices(W),
                   np.asarray(W.data, np.float64), np.asarray(v, np.float64)[perm], n_chunks, *out)
    return out


def _compact_indices(W: sp.csr_array) -> np.ndarray:
    """Column indices as 32-bit integers when they fit: a third less memory streamed per link."""
    return W.indices.astype(np.int32 if W.shape[1] < 2**31 else np.int64)


def _blocks(m: int, n: int, budget: float = 2.5e7):
    b = int(max(1, min(m, budget // max(n, 1))))
    for start in range(0, m, b):
        yield start, min(m, start + b)


def debtrank_block(W: sp.csr_array, v: np.ndarray, seeds: np.ndarray, psi: float):
    """Batched DebtRank: the seeds of a block are the columns of an ``n × b`` state."""
    n = W.shape[0]
    Wt = W.T.tocsr()
    m = seeds.size
    score, rounds = np.zeros(m), np.zeros(m, np.int64)
    defaults, reached = np.zeros(m, np.int64), np.zeros(m, np.int64)
    for a, b in _blocks(m, n):
        cols = np.arange(b - a)
        H = np.zeros((n, b - a))
        H[seeds[a:b], cols] = psi
        seen = H > 0
        seen[seeds[a:b], cols] = True                 # the seed is reached even at psi = 0
        F = H.copy()                                  # h of the nodes that propagate next
        while True:
            H = np.minimum(1.0, H + Wt @ F)
            new = (H > 0) & ~seen
            if not new.any():
                break
            rounds[a:b] += new.any(axis=0)
            seen |= new
            F = np.where(new, H, 0.0)
        score[a:b] = v @ H - v[seeds[a:b]] * psi
        hit = H >= 1.0
        hit[seeds[a:b], cols] = False
        defaults[a:b] = hit.sum(axis=0)
        reached[a:b] = seen.sum(axis=0)
    return score, rounds, defaults, reached


# --------------------------------------------------------------- differential DebtRank
def differential_block(W: sp.csr_array, v: np.ndarray, seeds: np.ndarray, psi: float,
                       tol: float, max_iter: int):
    """Batched differential DebtRank: ``H ← min(1, H + Λ ΔH)`` on an ``n × b`` block."""
    n = W.shape[0]
    Wt = W.T.tocsr()
    m = seeds.size
    score, iters, residual = np.zeros(m), np.zeros(m, np.int64), np.zeros(m)
    defaults, reached = np.zeros(m, np.int64), np.zeros(m, np.int64)
    for a, b in _blocks(m, n):
        cols = np.arange(b - a)
        H = np.zeros((n, b - a))
        H[seeds[a:b], cols] = psi
        D = H.copy()
        seen = H > 0
        seen[seeds[a:b], cols] = True                 # the seed is reached even at psi = 0
        active = np.full(b - a, psi > 0)
        it = np.zeros(b - a, np.int64)
        while active.any() and it.max() < max_iter:
            it += active
            new = np.minimum(1.0, H + Wt @ D)
            D = new - H
            H = new
            seen |= H > 0
            D[D <= tol] = 0.0          # increments at or below tol are not propagated
            active = (D > 0).any(axis=0)
        # not converged: the increment the next round would still add
        res = np.where(active, (np.minimum(1.0, H + Wt @ D) - H).max(axis=0, initial=0.0), 0.0)
        score[a:b] = v @ H - v[seeds[a:b]] * psi
        hit = H >= 1.0
        hit[seeds[a:b], cols] = False
        defaults[a:b] = hit.sum(axis=0)
        reached[a:b] = seen.sum(axis=0)
        iters[a:b] = it
        residual[a:b] = res
    return score, iters, residual, defaults, reached


# ----------------------------------------------------------------------------- Furfine
@_jit
def _furfine_one(s, indptr, indices, lgd_amount, thr, pos, loss, mark, stamp, front, nxt, touched):
    """Sequential defaults from ``s``; returns (equity lost by others, rounds, defaults, n_touched)."""
    mark[s] = stamp + 1
    touched[0] = s
    n_t = 1
    front[0] = s
    n_front = 1
    rounds = 0
    defaults = 0
    while n_front > 0:
        n_next = 0
        for k in range(n_front):
            i = front[k]
            for q in range(indptr[i], indptr[i + 1]):
                j = indices[q]
                a = lgd_amount[q]
                if a <= 0.0:
                    continue
                if mark[j] < stamp:          # first loss of j in this run
                    mark[j] = stamp
                    touched[n_t] = j
                    n_t += 1
                loss[j] += a
                if mark[j] == stamp and loss[j] >= thr[j]:
                    mark[j] = stamp + 1        # defaulted: passes losses on next round
                    nxt[n_next] = j
                    n_next += 1
        if n_next > 0:
            rounds += 1
            defaults += n_next
        for k in range(n_next):
            front[k] = nxt[k]
        n_front = n_next
    lost = 0.0
    for k in range(n_t):
        j = touched[k]
        if j != s:
            lost += loss[j] if loss[j] < pos[j] else pos[j]
        loss[j] = 0.0
    return lost, rounds, defaults, n_t


@_jit(parallel=True)
def _furfine_many(seeds, indptr, indices, lgd_amount, thr, pos, n_chunks, score, rounds, defaults, reached):
    n = thr.shape[0]
    for c in _prange(n_chunks):
        loss = np.zeros(n)
        mark = np.full(n, -2, np.int64)
        front = np.empty(n, np.int64)
        nxt = np.empty(n, np.int64)
        touched = np.empty(n, np.int64)
        for k in range(c, seeds.shape[0], n_chunks):
            # stamps 2k (touched) and 2k+1 (defaulted) are unique to seed k; the seed is defaulted
            r = _furfine_one(seeds[k], indptr, indices, lgd_amount, thr, pos, loss, mark, 2 * k,
                             front, nxt, touched)
            score[k] = r[0]
            rounds[k] = r[1]
            defaults[k] = r[2]
            reached[k] = r[3]


def _furfine_threshold(equity: np.ndarray) -> np.ndarray:
    # a node without positive equity defaults on its first positive loss
    return np.where(equity > 0, equity, np.finfo(float).tiny)


def furfine_seeds(LG: sp.csr_array, equity: np.ndarray, seeds: np.ndarray):
    """Furfine cascade of each seed on ``LG = lgd · L``: (equity lost by others, rounds, defaults, reached)."""
    seeds = np.ascontiguousarray(seeds, dtype=np.int64)
    if not HAVE_NUMBA:
        return furfine_block(LG, equity, seeds)
    m = seeds.size
    out = (np.zeros(m), np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(m, np.int64))
    n_chunks = max(1, min(m, 8 * n_threads()))
    perm, inv = locality_order(LG)
    LG = permuted(LG, perm)
    equity = np.asarray(equity, np.float64)[perm]
    _furfine_many(inv[seeds], LG.indptr.astype(np.int64), LG.indices.astype(np.int64),
                  np.asarray(LG.data, np.float64), _furfine_threshold(equity), np.maximum(equity, 0.0),
                  n_chunks, *out)
    return out


def furfine_block(LG: sp.csr_array, equity: np.ndarray, seeds: np.ndarray):
    """Batched Furfine cascade: defaulted sets are the columns of an ``n × b`` boolean block."""
    n = LG.shape[0]
    LGt = LG.T.tocsr()
    thr = _furfine_threshold(equity)
    pos = np.maximum(equity, 0.0)
    m = seeds.size
    score, rounds = np.zeros(m), np.zeros(m, np.int64)
    defaults, reached = np.zeros(m, np.int64), np.zeros(m, np.int64)
    for a, b in _blocks(m, n):
        cols = np.arange(b - a)
        dead = np.zeros((n, b - a), bool)
        dead[seeds[a:b], cols] = True
        front = dead.astype(float)
        loss = np.zeros((n, b - a))
        while True:
            loss += LGt @ front
            new = (loss >= thr[:, None]) & ~dead
            if not new.any():
                break
            rounds[a:b] += new.any(axis=0)
            dead |= new
            front = new.astype(float)
        lost = np.minimum(loss, pos[:, None])
        lost[seeds[a:b], cols] = 0.0
        score[a:b] = lost.sum(axis=0)
        defaults[a:b] = dead.sum(axis=0) - 1
        touched = loss > 0
        touched[seeds[a:b], cols] = True
        reached[a:b] = touched.sum(axis=0)
    return score, rounds, defaults, reached
