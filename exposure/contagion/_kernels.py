"""Per-seed contagion kernels behind :mod:`exposure.contagion`.

Each kernel runs one contagion per seed node and returns, per seed, the score and
the counters the ranking reports. The graph is given in CSR form by *debtor*: row
``i`` lists the creditors ``j`` of ``i`` with the weight of the link ``i → j``
(distress flows from a debtor to its creditors).

Two implementations of each kernel:

* a per-seed sparse traversal compiled with numba (:mod:`exposure.contagion._numba_kernels`,
  seeds split over the cores): the work of one seed is the number of links leaving the nodes
  its contagion reaches, so a seed whose distress stays local costs little;
* a batched one in numpy/scipy: the seeds of a block are the columns of a dense
  ``n × b`` state, every step is one sparse × dense-block product. Used without
  numba (:func:`exposure._compiled.use_compiled`), and by the tests as a second algorithm.

DebtRank (Battiston et al. 2012) has a property both exploit: a node propagates
exactly once, in the step after it first becomes distressed, so the set of nodes
that propagate at step ``t`` is the ``t``-th breadth-first layer from the seed and
a run ends after at most ``n`` steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

from .._compiled import HAVE_NUMBA, n_threads, use_compiled
from ..executor import Executor

__all__ = ["HAVE_NUMBA", "debtrank_seeds", "furfine_seeds", "locality_order", "SeedRun", "seed_run", "numba_kernels",
           "debtrank_block", "differential_block", "furfine_block", "n_threads", "use_compiled", "seed_blocks",
           "run_blocks", "KERNEL_CHUNKS"]

#: Seeds of a per-node ranking are computed in fixed blocks (:func:`seed_blocks`): at least this many
#: seeds a block, at most :data:`MAX_SEED_BLOCKS` blocks.
MIN_SEED_BLOCK = 1024
MAX_SEED_BLOCKS = 64
#: Chunks a compiled kernel splits a block of seeds into (run on numba's threads): a constant, so that a
#: sum over the seeds of a block (vulnerability) is added in the same order whatever the thread count.
KERNEL_CHUNKS = 16

#: Networks at least this large are renumbered for memory locality before per-seed runs.
REORDER_MIN_NODES = 2000


def numba_kernels():
    """The compiled kernels (:mod:`exposure.contagion._numba_kernels`), imported on first use only,
    so that numba is loaded (and its kernels compiled) only by a run that needs them."""
    from . import _numba_kernels
    return _numba_kernels


@dataclass(frozen=True, eq=False)
class SeedRun:
    """The set-up every compiled per-seed kernel shares: the matrix renumbered for locality
    (:func:`locality_order`), the seeds in the new numbering, and the chunks they are split in.

    ``indptr``, ``indices`` (32-bit when they fit) and ``data`` are the renumbered CSR arrays;
    ``perm`` maps new positions to old (``vector[perm]`` renumbers a per-node vector) and
    ``inv`` old to new.
    """

    perm: np.ndarray
    inv: np.ndarray
    seeds: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_chunks: int
    matrix: sp.csr_array

    def outputs(self, *dtypes):
        """One zeroed array per seed and dtype (the kernels' per-seed results)."""
        return tuple(np.zeros(self.seeds.size, dtype) for dtype in dtypes)


def seed_run(M: sp.csr_array, seeds: np.ndarray, *, compact: bool = True) -> SeedRun:
    """Renumber ``M`` for locality and split ``seeds`` into chunks for the compiled kernels."""
    seeds = np.ascontiguousarray(seeds, dtype=np.int64)
    perm, inv = locality_order(M)
    P = permuted(M, perm)
    indices = _compact_indices(P) if compact else P.indices.astype(np.int64)
    return SeedRun(perm=perm, inv=inv, seeds=np.ascontiguousarray(inv[seeds]), indptr=P.indptr.astype(np.int64),
                   indices=indices, data=np.asarray(P.data, np.float64),
                   n_chunks=max(1, min(seeds.size, 8 * n_threads())), matrix=P)


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


# --------------------------------------------------------------------------- DebtRank


def can_default(counted, n: int) -> np.ndarray:
    """The nodes whose full distress counts as a default (every node when ``counted`` is None; a node
    that owes shares passes distress on but never defaults)."""
    return np.ones(n, np.bool_) if counted is None else np.ascontiguousarray(counted, dtype=np.bool_)


def seed_blocks(m: int, min_size: int = MIN_SEED_BLOCK) -> list[range]:
    """The fixed blocks ``m`` seeds are computed in: consecutive ranges of
    ``max(min_size, ⌈m / MAX_SEED_BLOCKS⌉)`` seeds (the last one shorter).

    They depend on ``m`` (and the method's ``min_size``) only, never on the workers, so every
    execution mode computes the same blocks and adds their partial sums in the same order.

    >>> [(r.start, r.stop) for r in seed_blocks(2500)]
    [(0, 1024), (1024, 2048), (2048, 2500)]
    """
    size = max(int(min_size), -(-int(m) // MAX_SEED_BLOCKS), 1)
    return [range(a, min(m, a + size)) for a in range(0, m, size)]


def run_blocks(fn, shared, m: int, dtypes, executor: Executor | None = None, *, min_size: int = MIN_SEED_BLOCK):
    """``fn(shared, block)`` for every block of :func:`seed_blocks` ``(m)`` on ``executor`` (in process
    when None); the per-seed arrays of the blocks concatenated in block order, one per dtype, then the
    list of the blocks' extra outputs (those after the per-seed arrays), in block order."""
    blocks = seed_blocks(m, min_size)
    parts = (executor or Executor()).map(fn, blocks, shared=shared)
    k = len(dtypes)
    arrays = tuple(np.concatenate([p[j] for p in parts]).astype(dt, copy=False) if parts else np.zeros(0, dt)
                   for j, dt in enumerate(dtypes))
    return arrays, [p[k:] for p in parts]


def _debtrank_part(shared, block: range):
    """DebtRank of the seeds of one block (on a worker or in process)."""
    seeds = shared["seeds"][block.start:block.stop]
    if not shared["compiled"]:
        return debtrank_block(shared["W"], shared["v"], seeds, shared["psi"], shared["counted"])
    out = tuple(np.zeros(seeds.size, dt) for dt in (np.float64, np.int64, np.int64, np.int64))
    numba_kernels().debtrank_many(seeds, shared["psi"], shared["indptr"], shared["indices"], shared["data"],
                                  shared["v"], shared["counted"], max(1, min(seeds.size, KERNEL_CHUNKS)), *out)
    return out


def debtrank_seeds(W: sp.csr_array, v: np.ndarray, seeds: np.ndarray, psi: float, *, counted=None,
                   compiled: bool | None = None, executor: Executor | None = None):
    """DebtRank of each seed: arrays (score, rounds, defaults_caused, reached).

    ``counted``: the nodes that can default (:func:`can_default`). ``compiled``: None (default) uses the
    compiled kernel when numba is available, False the numpy kernel (:func:`exposure._compiled.use_compiled`).
    The set-up (renumbering, weights) is done here once; the seeds run in the fixed blocks of
    :func:`seed_blocks` on ``executor`` (:class:`exposure.executor.Executor`; in process when None), each
    seed's run the same computation in every mode.
    """
    seeds = np.ascontiguousarray(seeds, dtype=np.int64)
    counted = can_default(counted, W.shape[0])
    if not use_compiled(compiled):
        shared = {"compiled": False, "W": W, "v": np.asarray(v, np.float64), "seeds": seeds, "psi": float(psi),
                  "counted": counted}
    else:
        run = seed_run(W, seeds)
        shared = {"compiled": True, "seeds": run.seeds, "psi": float(psi), "indptr": run.indptr,
                  "indices": run.indices, "data": run.data, "v": np.asarray(v, np.float64)[run.perm],
                  "counted": counted[run.perm]}
    out, _ = run_blocks(_debtrank_part, shared, seeds.size, (np.float64, np.int64, np.int64, np.int64), executor)
    return out


def _compact_indices(W: sp.csr_array) -> np.ndarray:
    """Column indices as 32-bit integers when they fit: a third less memory streamed per link."""
    return W.indices.astype(np.int32 if W.shape[1] < 2**31 else np.int64)


def _weighted_sum(v: np.ndarray, H: np.ndarray) -> np.ndarray:
    """``v @ H`` summed over the rows in order, column by column, without BLAS: each column's sum is
    the same whatever the other columns of the block and the BLAS thread count."""
    return np.einsum("i,ij->j", v, H)


def blocks(m: int, n: int, budget: float = 2.5e7):
    """``(start, stop)`` of blocks of seeds whose dense ``n × b`` state stays within ``budget`` values."""
    b = int(max(1, min(m, budget // max(n, 1))))
    for start in range(0, m, b):
        yield start, min(m, start + b)


def debtrank_block(W: sp.csr_array, v: np.ndarray, seeds: np.ndarray, psi: float, counted=None):
    """Batched DebtRank: the seeds of a block are the columns of an ``n × b`` state."""
    n = W.shape[0]
    counted = can_default(counted, n)
    Wt = W.T.tocsr()
    m = seeds.size
    score, rounds = np.zeros(m), np.zeros(m, np.int64)
    defaults, reached = np.zeros(m, np.int64), np.zeros(m, np.int64)
    for a, b in blocks(m, n):
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
        score[a:b] = _weighted_sum(v, H) - v[seeds[a:b]] * psi
        hit = (H >= 1.0) & counted[:, None]
        hit[seeds[a:b], cols] = False
        defaults[a:b] = hit.sum(axis=0)
        reached[a:b] = seen.sum(axis=0)
    return score, rounds, defaults, reached


# --------------------------------------------------------------- differential DebtRank
def differential_block(W: sp.csr_array, v: np.ndarray, seeds: np.ndarray, psi: float,
                       tol: float, max_iter: int, counted=None):
    """Batched differential DebtRank: ``H ← min(1, H + Λ ΔH)`` on an ``n × b`` block."""
    n = W.shape[0]
    counted = can_default(counted, n)
    Wt = W.T.tocsr()
    m = seeds.size
    score, iters, residual = np.zeros(m), np.zeros(m, np.int64), np.zeros(m)
    defaults, reached = np.zeros(m, np.int64), np.zeros(m, np.int64)
    for a, b in blocks(m, n):
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
        score[a:b] = _weighted_sum(v, H) - v[seeds[a:b]] * psi
        hit = (H >= 1.0) & counted[:, None]
        hit[seeds[a:b], cols] = False
        defaults[a:b] = hit.sum(axis=0)
        reached[a:b] = seen.sum(axis=0)
        iters[a:b] = it
        residual[a:b] = res
    return score, iters, residual, defaults, reached


# ----------------------------------------------------------------------------- Furfine


def _furfine_threshold(equity: np.ndarray, buffer=None) -> np.ndarray:
    """The loss at which a node fails: its equity plus its first-loss buffer; a node with neither
    fails on its first positive loss."""
    equity = np.asarray(equity, np.float64)
    room = np.maximum(equity, 0.0) + (0.0 if buffer is None else np.asarray(buffer, np.float64))
    return np.where(room > 0, room, np.finfo(float).tiny)


def furfine_seeds(LG: sp.csr_array, equity: np.ndarray, seeds: np.ndarray, *, buffer=None, counted=None,
                  compiled: bool | None = None):
    """Furfine cascade of each seed on ``LG = lgd · L``: (equity lost by others, rounds, defaults, reached).

    A node fails when its loss reaches its equity plus its first-loss ``buffer`` (0 when None); only
    the failures of nodes ``counted`` (:func:`can_default`) are defaults.
    """
    seeds = np.ascontiguousarray(seeds, dtype=np.int64)
    counted = can_default(counted, LG.shape[0])
    if not use_compiled(compiled):
        return furfine_block(LG, equity, seeds, buffer=buffer, counted=counted)
    run = seed_run(LG, seeds, compact=False)
    out = run.outputs(np.float64, np.int64, np.int64, np.int64)
    thr = _furfine_threshold(equity, buffer)[run.perm]
    equity = np.asarray(equity, np.float64)[run.perm]
    numba_kernels().furfine_many(run.seeds, run.indptr, run.indices, run.data, thr,
                                 np.maximum(equity, 0.0), counted[run.perm], run.n_chunks, *out)
    return out


def furfine_block(LG: sp.csr_array, equity: np.ndarray, seeds: np.ndarray, *, buffer=None, counted=None):
    """Batched Furfine cascade: defaulted sets are the columns of an ``n × b`` boolean block."""
    n = LG.shape[0]
    LGt = LG.T.tocsr()
    thr = _furfine_threshold(equity, buffer)
    counted = can_default(counted, n)
    pos = np.maximum(equity, 0.0)
    m = seeds.size
    score, rounds = np.zeros(m), np.zeros(m, np.int64)
    defaults, reached = np.zeros(m, np.int64), np.zeros(m, np.int64)
    for a, b in blocks(m, n):
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
        counts = dead & counted[:, None]
        counts[seeds[a:b], cols] = False
        defaults[a:b] = counts.sum(axis=0)
        touched = loss > 0
        touched[seeds[a:b], cols] = True
        reached[a:b] = touched.sum(axis=0)
    return score, rounds, defaults, reached
