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
from ..executor import Executor
from ..shocks import MarketShock
from ._kernels import KERNEL_CHUNKS, blocks, numba_kernels, run_blocks, seed_run, use_compiled

#: Seeds per block of the version-2 runs (one full solve each): small blocks, so that a few dozen
#: seeds still spread over the workers.
SYSTEM_BLOCK = 4

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
        loss[a_:b_] = dE.sum(axis=0) + np.einsum("i,ij->j", ext, p0[:, None] - P)   # no BLAS: same sums in every mode
        newdef = (A < (pbar * thr)[:, None]) & ~dflt0[:, None]
        newdef[S, cols] = False
        n_def[a_:b_] = newdef.sum(axis=0)
        vul += dE.sum(axis=1)
        iters[a_:b_] = it
        moved[S, cols] = True
        reached[a_:b_] = moved.sum(axis=0)
    return loss, n_def, iters, residual, reached, done, vul


_PER_SEED = (np.float64, np.int64, np.int64, np.float64, np.int64, np.bool_)   # loss, n_def, iters, residual, ...


def _impact_part(shared, block: range):
    """Impact of the seeds of one block, and the block's partial sum of every node's loss."""
    s = shared
    seeds = s["seeds"][block.start:block.stop]
    if not s["compiled"]:
        return _impact_block(s["Pi"], s["pbar"], s["e"], s["x"], s["p0"], s["E0"], s["dflt0"], s["alpha"],
                             s["beta"], s["thr"], s["goal"], s["max_iter"], seeds, s["f"])
    m, n = seeds.size, s["pbar"].size
    loss, residual, n_def = np.zeros(m), np.zeros(m), np.zeros(m, np.int64)
    iters, reached, done = np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(m, np.bool_)
    chunks = max(1, min(m, KERNEL_CHUNKS))
    vul_c = np.zeros((chunks, n))
    numba_kernels().impact_many(seeds, s["f"], s["indptr"], s["indices"], s["data"], s["pbar"], s["e"], s["x"],
                                s["p0"], s["ib0"], s["E0"], s["dflt0"], s["alpha"], s["beta"], s["thr"], s["goal"],
                                s["max_pops"], chunks, loss, n_def, iters, residual, reached, done, vul_c)
    return loss, n_def, iters, residual, reached, done, vul_c.sum(axis=0)


def _sum_in_order(partials, n: int) -> np.ndarray:
    """The blocks' partial sums added one after another, in block order (the same in every mode)."""
    total = np.zeros(n)
    for (part,) in partials:
        total += part
    return total


def impact_scores(network, *, shock_size=1.0, alpha=1.0, beta=1.0, tol=1e-10, method="fictitious-default",
                  max_iter=10_000, seeds=None, compiled: bool | None = None, executor: Executor | None = None):
    """Impact of each seed and the vulnerability of every node (see the module docstring).

    Returns a dict: ``loss, n_defaults, iterations, residual, reached, converged`` per seed,
    ``vulnerability`` per node (mean over the seeds other than the node), ``base`` (the
    :class:`ClearingVectors` of the base clearing). ``compiled`` as for
    :func:`exposure.contagion._kernels.debtrank_seeds`. The base clearing is computed here once;
    the seeds run in the fixed blocks of :func:`~exposure.contagion._kernels.seed_blocks` on
    ``executor`` (in process when None), and the vulnerability is the sum of the blocks' partial
    sums in block order, so every result is the same in every mode.
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
    common = {"f": float(shock_size), "alpha": float(alpha), "beta": float(beta), "thr": thr, "goal": goal}
    if not use_compiled(compiled):
        shared = {"compiled": False, "Pi": Pi, "pbar": pbar, "e": e, "x": x, "p0": p0, "E0": E0, "dflt0": dflt0,
                  "max_iter": max(1, int(max_iter)), "seeds": seeds, **common}
        inv = None
    else:
        run = seed_run(Pi, seeds, compact=False)
        perm, inv = run.perm, run.inv
        shared = {"compiled": True, "seeds": run.seeds, "indptr": run.indptr, "indices": run.indices,
                  "data": run.data, "pbar": pbar[perm], "e": e[perm], "x": x[perm], "p0": p0[perm],
                  "ib0": ib0[perm], "E0": E0[perm], "dflt0": dflt0[perm], "max_pops": max(1, int(max_iter)) * max(n, 1),
                  **common}
    (loss, n_def, iters, residual, reached, done), partials = run_blocks(_impact_part, shared, m, _PER_SEED,
                                                                         executor)
    vul = _sum_in_order(partials, n)
    if inv is not None:
        vul = vul[inv]
    denom = max(m - 1, 1) if m == n else max(m, 1)
    return {"loss": loss, "n_defaults": n_def, "iterations": iters, "residual": residual, "reached": reached,
            "converged": done & (residual <= 10 * goal), "vulnerability": vul / denom, "base": base,
            "goal": goal}


def _system_part(shared, block: range):
    """The shocked solves of one block of nodes (version-2 network), and the block's partial sum of losses."""
    s = shared
    network, base, token, E0 = s["network"], s["base"], s["token"], s["E0"]
    nodes = s["seeds"][block.start:block.stop]
    m = nodes.size
    loss, n_def, iters = np.zeros(m), np.zeros(m, np.int64), np.zeros(m, np.int64)
    residual, reached, converged = np.zeros(m), np.ones(m, np.int64), np.ones(m, np.bool_)
    vul = np.zeros(network.n)
    for k, i in enumerate(nodes):
        shock = dict(s["base_shock"])
        shock[s["ids"][i]] = 1.0 - (1.0 - shock.get(s["ids"][i], 0.0)) * (1.0 - s["shock_size"])
        r = solve_system(network, MarketShock(asset_loss=shock), **s["options"])
        dE = E0 - np.where(token, 0.0, r.equity_after)
        dE[i] = 0.0
        loss[k] = dE.sum() + (r.external_creditor_loss - base["external_creditor_loss"])
        new = np.asarray(r.defaulted) & ~base["defaulted"]
        new[i] = False
        n_def[k] = int(new.sum())
        reached[k] = 1 + int(np.count_nonzero(dE))
        iters[k], residual[k], converged[k] = r.iterations, r.residual, r.converged
        vul += dE
    return loss, n_def, iters, residual, reached, converged, vul


def system_impact_scores(network, *, shock_size=1.0, alpha=1.0, beta=1.0, tol=1e-9, max_iter=1000,
                         base_shock=None, executor: Executor | None = None):
    """Impact and vulnerability on a version-2 network through :func:`exposure.defi.solve_system`.

    Node ``i``'s shock is an asset loss of ``shock_size`` (combined with ``base_shock`` at ``i``:
    ``1 − (1 − f₀)(1 − f)``); the base is the network under ``base_shock`` alone. Losses are
    those of the joint fixed point (clearing, token prices, liquidations, fire sales): the
    equity lost by every other node that is not a token (a token's value is counted at its
    holders) plus the rise in what external creditors are not paid. Nodes that own nothing
    outright cannot lose anything to an asset-loss shock and are not run. The base is solved here
    once; the shocked nodes run in fixed blocks of :data:`SYSTEM_BLOCK` on ``executor`` (in process
    when None), the vulnerability summed block by block in block order.
    """
    base_shock = dict(base_shock or {})
    n = network.n
    ids = [str(x) for x in network.node_ids]
    options = {"alpha": alpha, "beta": beta, "tol": tol, "max_iter": max_iter}
    base = solve_system(network, MarketShock(asset_loss=base_shock), **options)
    token = network.is_token()
    owns = np.flatnonzero(network.owned_assets() > 0)
    E0 = np.where(token, 0.0, base.equity_after)
    shared = {"network": network, "ids": ids, "options": options, "base_shock": base_shock,
              "shock_size": float(shock_size), "token": token, "E0": E0, "seeds": owns,
              "base": {"external_creditor_loss": base.external_creditor_loss,
                       "defaulted": np.asarray(base.defaulted, dtype=np.bool_)}}
    arrays, partials = run_blocks(_system_part, shared, owns.size, _PER_SEED, executor, min_size=SYSTEM_BLOCK)
    loss, n_def, reached = np.zeros(n), np.zeros(n, np.int64), np.ones(n, np.int64)
    iters, residual = np.zeros(n, np.int64), np.zeros(n)
    converged = np.ones(n, bool)
    for out, part in zip((loss, n_def, iters, residual, reached, converged), arrays):
        out[owns] = part
    vul = _sum_in_order(partials, n)
    return {"loss": loss, "n_defaults": n_def, "iterations": iters, "residual": residual,
            "reached": reached, "converged": converged & bool(base.converged),
            "vulnerability": vul / max(n - 1, 1), "base_converged": bool(base.converged),
            "base_message": base.message, "base_equity": E0, "goal": tol}
