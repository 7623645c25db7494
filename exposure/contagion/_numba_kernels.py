"""The compiled (numba) per-seed kernels of :mod:`exposure.contagion`.

Imported only when a run uses compiled kernels (:func:`exposure._compiled.use_compiled`), so
that numba is neither imported nor asked to compile anything otherwise. Each kernel runs one
contagion per seed on a CSR matrix by debtor and writes per-seed results into arrays it is
given; the seeds are split over ``n_chunks`` chunks that run on numba's threads. The numpy
kernels next to the dispatchers (:mod:`exposure.contagion._kernels`,
:mod:`~exposure.contagion._debtrank`, :mod:`~exposure.contagion._impact`) compute the same
results and are the tests' second algorithm.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["debtrank_many", "furfine_many", "warm_many", "impact_many"]


def _jit(fn=None, parallel=False):
    def wrap(f):
        return numba.njit(cache=True, parallel=parallel, nogil=True)(f)
    return wrap(fn) if fn is not None else wrap


_prange = numba.prange


# ---------------------------------------------------------------------- from _kernels
@_jit
def _collect(s, psi, v, h, touched, n_t, counted):
    """Score ``Σ v h − v_s ψ`` and defaults caused over the touched nodes (those that can default,
    ``counted``); resets ``h`` to 0."""
    score = 0.0
    defaults = 0
    for k in range(n_t):
        j = touched[k]
        score += v[j] * h[j]
        if j != s and h[j] >= 1.0 and counted[j]:
            defaults += 1
        h[j] = 0.0
    return score - v[s] * psi, defaults


@_jit
def _debtrank_one(s, psi, indptr, indices, w, v, counted, h, front, nxt, hp, touched):
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
    score, defaults = _collect(s, psi, v, h, touched, n_t, counted)
    return score, rounds, defaults, n_t


@_jit(parallel=True)
def debtrank_many(seeds, psi, indptr, indices, w, v, counted, n_chunks, score, rounds, defaults, reached):
    n = v.shape[0]
    for c in _prange(n_chunks):
        h = np.zeros(n)
        front = np.empty(n, np.int64)
        nxt = np.empty(n, np.int64)
        hp = np.empty(n)
        touched = np.empty(n, np.int64)
        for k in range(c, seeds.shape[0], n_chunks):
            r = _debtrank_one(seeds[k], psi, indptr, indices, w, v, counted, h, front, nxt, hp, touched)
            score[k] = r[0]
            rounds[k] = r[1]
            defaults[k] = r[2]
            reached[k] = r[3]


@_jit
def _furfine_one(s, indptr, indices, lgd_amount, thr, pos, counted, loss, mark, stamp, front, nxt, touched):
    """Sequential defaults from ``s``; returns (equity lost by others, rounds, defaults, n_touched).

    Every node whose loss reaches its threshold passes losses on; only those ``counted`` are defaults."""
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
            for k in range(n_next):
                if counted[nxt[k]]:
                    defaults += 1
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
def furfine_many(seeds, indptr, indices, lgd_amount, thr, pos, counted, n_chunks, score, rounds, defaults, reached):
    n = thr.shape[0]
    for c in _prange(n_chunks):
        loss = np.zeros(n)
        mark = np.full(n, -2, np.int64)
        front = np.empty(n, np.int64)
        nxt = np.empty(n, np.int64)
        touched = np.empty(n, np.int64)
        for k in range(c, seeds.shape[0], n_chunks):
            # stamps 2k (touched) and 2k+1 (defaulted) are unique to seed k; the seed is defaulted
            r = _furfine_one(seeds[k], indptr, indices, lgd_amount, thr, pos, counted, loss, mark, 2 * k,
                             front, nxt, touched)
            score[k] = r[0]
            rounds[k] = r[1]
            defaults[k] = r[2]
            reached[k] = r[3]



# ---------------------------------------------------------------------- from _debtrank
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
def _warm_one(s, psi, indptr, indices, w, v, counted, tol, max_iter, k, eps, y, U, zero, base_score,
              base_defaults, base_reached, h, acc, mark, stamp, nxt, nd, touched, cand, inq):
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
        score, defaults = _collect(s, psi, v, h, touched, n_t, counted)
        return score, it, residual, defaults, n_t, False
    score = base_score - v[s] * psi
    defaults = base_defaults - (1 if h[s] >= 1.0 and counted[s] else 0)   # the seed is not a default it caused
    reached = base_reached
    for q0 in range(n_t):
        j = touched[q0]
        score += v[j] * (h[j] - y[j])
        if h[j] >= 1.0 and y[j] < 1.0 and counted[j]:
            defaults += 1
        if h[j] > 0.0 and y[j] <= 0.0:
            reached += 1
        h[j] = 0.0
        acc[j] = 0.0
    return score, it, residual, defaults, reached, True


@_jit(parallel=True)
def warm_many(seeds, psi, indptr, indices, w, v, counted, tol, max_iter, k, eps, y, U, base_score, base_defaults,
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
            r = _warm_one(seeds[q], psi, indptr, indices, w, v, counted, tol, max_iter, k, eps, y, U, zero,
                          base_score, base_defaults, base_reached, h, acc, mark, q, nxt, nd, touched, cand, inq)
            score[q] = r[0]
            iters[q] = r[1]
            residual[q] = r[2]
            defaults[q] = r[3]
            reached[q] = r[4]
            warm[q] = r[5]



# ---------------------------------------------------------------------- from _impact
@_jit
def _impact_one(s, f, indptr, indices, pi, pbar, e, x, p0, ib0, E0, dflt0, alpha, beta, thr, goal, max_pops,
                p, ib, mark, stamp, inq, queue, touched, vul):
    """One shocked clearing from the base; returns (loss, n_defaults, pops, residual, n_touched, done)."""
    n = pbar.shape[0]
    es = (1.0 - f) * e[s]
    mark[s] = stamp
    p[s] = p0[s]
    ib[s] = ib0[s]
    touched[0] = s
    n_t = 1
    head = 0
    size = 1
    queue[0] = s
    inq[s] = stamp
    pops = 0
    while size > 0 and pops < max_pops:
        j = queue[head]
        head = (head + 1) % n
        size -= 1
        inq[j] = -1
        pops += 1
        ej = es if j == s else e[j]
        a = ej + ib[j]
        if a >= pbar[j] * thr:
            new = pbar[j]
        else:
            new = alpha * ej + beta * ib[j]
            if new > pbar[j]:
                new = pbar[j]
            if new < 0.0:
                new = 0.0
        d = p[j] - new
        if d <= 0.0:
            continue
        p[j] = new
        if d <= goal:
            continue
        for q in range(indptr[j], indptr[j + 1]):
            m = indices[q]
            if mark[m] != stamp:
                mark[m] = stamp
                p[m] = p0[m]
                ib[m] = ib0[m]
                touched[n_t] = m
                n_t += 1
            ib[m] -= pi[q] * d
            if inq[m] != stamp:
                inq[m] = stamp
                queue[(head + size) % n] = m
                size += 1
    done = size == 0
    loss = 0.0
    n_def = 0
    residual = 0.0
    for q0 in range(n_t):
        j = touched[q0]
        inq[j] = -1
        ej = es if j == s else e[j]
        if ib[j] < 0.0:
            ib[j] = 0.0
        a = ej + ib[j]
        if a >= pbar[j] * thr:
            phi = pbar[j]
        else:
            phi = min(pbar[j], max(0.0, alpha * ej + beta * ib[j]))
        r = abs(phi - p[j])
        if r > residual:
            residual = r
        if pbar[j] > 0.0:
            loss += x[j] * (p0[j] - p[j]) / pbar[j]
        if j != s:
            eq = a - pbar[j]
            if eq < 0.0:
                eq = 0.0
            dE = E0[j] - eq
            loss += dE
            vul[j] += dE
            if a < pbar[j] * thr and not dflt0[j]:
                n_def += 1
    return loss, n_def, pops, residual, n_t, done


@_jit(parallel=True)
def impact_many(seeds, f, indptr, indices, pi, pbar, e, x, p0, ib0, E0, dflt0, alpha, beta, thr, goal,
                 max_pops, n_chunks, loss, n_def, pops, residual, reached, done, vul_out):
    n = pbar.shape[0]
    for c in _prange(n_chunks):
        p = np.zeros(n)
        ib = np.zeros(n)
        mark = np.full(n, -1, np.int64)
        inq = np.full(n, -1, np.int64)
        queue = np.empty(n, np.int64)
        touched = np.empty(n, np.int64)
        vul = np.zeros(n)
        for k in range(c, seeds.shape[0], n_chunks):
            r = _impact_one(seeds[k], f, indptr, indices, pi, pbar, e, x, p0, ib0, E0, dflt0, alpha, beta, thr,
                            goal, max_pops, p, ib, mark, k, inq, queue, touched, vul)
            loss[k] = r[0]
            n_def[k] = r[1]
            pops[k] = r[2]
            residual[k] = r[3]
            reached[k] = r[4]
            done[k] = r[5]
        vul_out[c, :] = vul


