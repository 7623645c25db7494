"""Clearing-based rankings: systemic impact, vulnerability, loss amplification.

Impact of node ``i``: ``i`` loses a fraction ``f`` (``shock_size``) of its external assets,
``e'_i = (1 − f) e_i``, and the network is cleared again (Eisenberg–Noe, or Rogers–Veraart
with ``α, β``). The loss to everybody else is::

    loss_i = Σ_{j ≠ i} (E_j − E'_j) + Σ_k x_k (p_k − p'_k) / p̄_k

with ``E = max(0, e + Πᵀp − p̄)`` the equity after clearing: the equity lost by every other
node plus the drop in payments to all creditors outside the network (``i``'s own external
creditors included). Unprimed quantities are those of the *base* clearing (the network as
given, after ``shock`` if one was given). ``n_defaults`` counts the other nodes that default
because of the shock. The vulnerability of ``j`` is its own equity loss averaged over the
single-node shocks of all the others, ``(1 / (n − 1)) Σ_{i ≠ j} (E_j − E'_j(i))``.

Each run starts from the base clearing vector, an upper bound of the shocked one (external
assets only fall, and the clearing map is monotone), and updates only the nodes whose
payments or assets move: a worklist holds the nodes whose inflows changed; a node whose
payment falls by more than ``tol · max(1, max p̄)`` passes the fall on to its creditors.
The iteration is a chaotic (asynchronous) iteration of the monotone clearing map from an
upper bound, so it decreases to the greatest clearing vector; nodes the shock cannot
reach are never visited. Without numba, the seeds of a block are the columns of a dense
``n × b`` Picard iteration instead.

On a version-2 network (holdings, secured positions) the shocked states come from
:func:`exposure.defi.solve_system` instead (:func:`system_impact_scores`): prices,
liquidations and fire sales move with the clearing.

Amplification (Liu & Staum, via :func:`exposure.clearing.loss_amplification`): obligations
left unpaid across the network per dollar of external assets lost at each node, at the
base clearing; 0 for a node that is solvent there.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..clearing import clear_vectors
from ..defi import solve_system
from ..shocks import MarketShock
from ._kernels import blocks, numba_kernels, seed_run, use_compiled

__all__ = ["impact_scores", "system_impact_scores"]


def _impact_block(Pi, pbar, e, x, p0, E0, dflt0, alpha, beta, thr, goal, max_iter, seeds, f):
    """Batched Picard from the base clearing: each column is one seed's shocked network."""
    n = pbar.size
    PiT = sp.csr_array(Pi.T)
    m = seeds.size
    loss, n_def, iters = np.zeros(m), np.zeros(m, np.int64), np.zeros(m, np.int64)
    residual, reached, done = np.zeros(m), np.zeros(m, np.int64), np.ones(m, bool)
    vul = np.zeros(n)
    ext = np.divide(x, pbar, out=np.zeros(n), where=pbar > 0)
    for a_, b_ in blocks(m, n, budget=5e6):
        cols = np.arange(b_ - a_)
        S = seeds[a_:b_]
        Ecol = np.repeat(e[:, None], b_ - a_, axis=1)
        Ecol[S, cols] *= (1.0 - f)
        P = np.repeat(p0[:, None], b_ - a_, axis=1)
        it = 0
        while True:
            IB = np.maximum(PiT @ P, 0.0)
            A = Ecol + IB
            new = np.where(A >= (pbar * thr)[:, None], pbar[:, None],
                           np.clip(alpha * Ecol + beta * IB, 0.0, pbar[:, None]))
            new = np.minimum(new, P)
            delta = np.abs(new - P).max(axis=0, initial=0.0)
            P = new
            it += 1
            if delta.max(initial=0.0) <= goal or it >= max_iter:
                break
        IB = np.maximum(PiT @ P, 0.0)
        A = Ecol + IB
        phi = np.where(A >= (pbar * thr)[:, None], pbar[:, None], np.clip(alpha * Ecol + beta * IB, 0.0, pbar[:, None]))
        residual[a_:b_] = np.abs(phi - P).max(axis=0, initial=0.0)
        done[a_:b_] = delta <= goal
        dE = E0[:, None] - np.maximum(0.0, A - pbar[:, None])
        dE[S, cols] = 0.0
        moved = (np.abs(P - p0[:, None]) > 0) | (np.abs(dE) > 0)
        loss[a_:b_] = dE.sum(axis=0) + ext @ (p0[:, None] - P)
        newdef = (A < (pbar * thr)[:, None]) & ~dflt0[:, None]
        newdef[S, cols] = False
        n_def[a_:b_] = newdef.sum(axis=0)
        vul += dE.sum(axis=1)
        iters[a_:b_] = it
        moved[S, cols] = True
        reached[a_:b_] = moved.sum(axis=0)
    return loss, n_def, iters, residual, reached, done, vul


def impact_scores(network, *, shock_size=1.0, alpha=1.0, beta=1.0, tol=1e-10, method="fictitious-default",
                  max_iter=10_000, seeds=None, compiled: bool | None = None):
    """Impact of each seed and the vulnerability of every node (see the module docstring).

    Returns a dict: ``loss, n_defaults, iterations, residual, reached, converged`` per seed,
    ``vulnerability`` per node (mean over the seeds other than the node), ``base`` (the
    :class:`ClearingVectors` of the base clearing). ``compiled`` as for
    :func:`exposure.contagion._kernels.debtrank_seeds`.
    """
    n = network.n
    seeds = np.arange(n, dtype=np.int64) if seeds is None else np.asarray(seeds, dtype=np.int64)
    Pi = network.relative_liabilities()
    pbar = network.total_obligations()
    e = np.asarray(network.external_assets, dtype=np.float64)
    x = np.asarray(network.external_liabilities, dtype=np.float64)
    tol_c = max(float(tol), 1e-15)
    base = clear_vectors(Pi, pbar, e, alpha=alpha, beta=beta, method=method, tol=tol_c)
    p0 = base.payments
    PiT = sp.csr_array(Pi.T)
    ib0 = np.maximum(PiT @ p0, 0.0)
    E0 = np.maximum(0.0, e + ib0 - pbar)
    dflt0 = np.asarray(base.defaulted, dtype=np.bool_)
    thr = 1.0 - tol_c
    goal = tol_c * max(1.0, float(pbar.max(initial=0.0)))
    m = seeds.size
    if not use_compiled(compiled):
        loss, n_def, iters, residual, reached, done, vul = _impact_block(
            Pi, pbar, e, x, p0, E0, dflt0, alpha, beta, thr, goal, max(1, int(max_iter)), seeds, shock_size)
    else:
        run = seed_run(Pi, seeds, compact=False)
        loss, residual, n_def, iters, reached, done = run.outputs(np.float64, np.float64, np.int64, np.int64,
                                                                  np.int64, np.bool_)
        vul_c = np.zeros((run.n_chunks, n))
        max_pops = max(1, int(max_iter)) * max(n, 1)
        perm = run.perm
        numba_kernels().impact_many(run.seeds, float(shock_size), run.indptr, run.indices, run.data, pbar[perm],
                                    e[perm], x[perm], p0[perm], ib0[perm], E0[perm], dflt0[perm], float(alpha),
                                    float(beta), thr, goal, max_pops, run.n_chunks, loss, n_def, iters, residual,
                                    reached, done, vul_c)
        vul = vul_c.sum(axis=0)[run.inv]
    denom = max(m - 1, 1) if m == n else max(m, 1)
    return {"loss": loss, "n_defaults": n_def, "iterations": iters, "residual": residual, "reached": reached,
            "converged": done & (residual <= 10 * goal), "vulnerability": vul / denom, "base": base,
            "goal": goal}


def system_impact_scores(network, *, shock_size=1.0, alpha=1.0, beta=1.0, tol=1e-9, max_iter=1000,
                         base_shock=None):
    """Impact and vulnerability on a version-2 network through :func:`exposure.defi.solve_system`.

    Node ``i``'s shock is an asset loss of ``shock_size`` (combined with ``base_shock`` at ``i``:
    ``1 − (1 − f₀)(1 − f)``); the base is the network under ``base_shock`` alone. Losses are
    those of the joint fixed point (clearing, token prices, liquidations, fire sales): the
    equity lost by every other node that is not a token (a token's value is counted at its
    holders) plus the rise in what external creditors are not paid. Nodes that own nothing
    outright cannot lose anything to an asset-loss shock and are not run.
    """
    base_shock = dict(base_shock or {})
    n = network.n
    ids = [str(x) for x in network.node_ids]
    base = solve_system(network, MarketShock(asset_loss=base_shock), alpha=alpha, beta=beta, tol=tol,
                        max_iter=max_iter)
    token = network.is_token()
    owns = network.owned_assets() > 0
    E0 = np.where(token, 0.0, base.equity_after)
    loss, n_def, reached = np.zeros(n), np.zeros(n, np.int64), np.ones(n, np.int64)
    iters, residual = np.zeros(n, np.int64), np.zeros(n)
    converged = np.ones(n, bool)
    vul = np.zeros(n)
    for i in np.flatnonzero(owns):
        shock = dict(base_shock)
        shock[ids[i]] = 1.0 - (1.0 - shock.get(ids[i], 0.0)) * (1.0 - shock_size)
        r = solve_system(network, MarketShock(asset_loss=shock), alpha=alpha, beta=beta, tol=tol,
                         max_iter=max_iter)
        dE = E0 - np.where(token, 0.0, r.equity_after)
        dE[i] = 0.0
        loss[i] = dE.sum() + (r.external_creditor_loss - base.external_creditor_loss)
        new = np.asarray(r.defaulted) & ~np.asarray(base.defaulted)
        new[i] = False
        n_def[i] = int(new.sum())
        reached[i] = 1 + int(np.count_nonzero(dE))
        iters[i], residual[i], converged[i] = r.iterations, r.residual, r.converged
        vul += dE
    return {"loss": loss, "n_defaults": n_def, "iterations": iters, "residual": residual,
            "reached": reached, "converged": converged & bool(base.converged),
            "vulnerability": vul / max(n - 1, 1), "base_converged": bool(base.converged),
            "base_message": base.message, "base_equity": E0, "goal": tol}
