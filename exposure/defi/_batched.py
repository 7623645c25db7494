r"""The joint loop of :mod:`exposure.defi._system` run on a block of draws at once.

Every quantity of the single-draw loop becomes a matrix with one column per draw: price and
payment states ``(n, k)``, position states ``(P, k)``. Gathers (``m[c_token]``) read rows;
aggregations by node (``bincount`` in the single loop) are products of a fixed sparse
incidence matrix with the dense block (``A @ X``, ``A`` of shape ``(n, P)``); the clearing
products ``Πᵀ P`` are sparse × dense (``P`` of shape ``(n, k)``). Nothing loops over draws,
nodes or positions in Python.

The clearing of a round
    The single loop clears with the fictitious default algorithm [1]_, each round's linear system
    solved by sparse LU (small default sets) or sweeps. Here every draw runs the same fictitious
    default rounds, each round's system ``s_D = b_D + β (Πᵀ s)_D`` solved by sweeps vectorised
    over the draws, with the stopping rule of :func:`exposure.clearing.clear_vectors` per draw
    (the componentwise residual and the error it implies at the observed contraction below
    ``tol / 2``). The default set of each round, hence the default rounds, are those of the
    single clearing; the payments agree with its exact round solutions to the clearing's
    tolerance. First-loss buffers are drawn in passes exactly as
    :func:`exposure.clearing.clear_bearing` does, per draw.

Per-draw stopping
    All draws start in round 1 and advance in lockstep; a draw stops when its own change in a
    round (price ratio, payment relative to its obligation, liquidation relative to the
    position's collateral) is within ``tol``, or its clearing fails, exactly as the single loop.
    Finished draws are taken out of the block (its columns compacted), so a round costs in
    proportion to the draws still moving.

A draw whose sweeps contract so slowly that a round's system is not solved in
:data:`SWEEP_LIMIT` sweeps is handed back to the caller (``hard``), which solves it with
:func:`~exposure.defi.solve_system` (sparse LU / GMRES); no approximation is kept.

References
----------
.. [1] L. Eisenberg and T. H. Noe, "Systemic risk in financial systems", Management Science
   47(2), 236–249, 2001.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..clearing._loss import MAX_PASSES
from ..clearing._solvers import DEFAULT_MAX_ITER, OBLIGATION_FLOOR
from ._model import (EXCHANGE_RATE, HEALTH_EPS, MARKET, MechanicsModel, denomination_factor, oracle_ratio,
                     redemption_values)

__all__ = ["BlockModel", "run_block", "SWEEP_LIMIT"]

#: Sweeps of one fictitious default round after which a draw leaves the block and is solved by
#: :func:`~exposure.defi.solve_system` (its LU / GMRES round solves). The claim graph of the
#: bundled DeFi network is acyclic, so its rounds are solved exactly in at most its depth of sweeps.
SWEEP_LIMIT = 500

_ROUNDING = 64 * np.finfo(np.float64).eps


def _incidence(rows: np.ndarray, n: int, m: int | None = None) -> sp.csr_array:
    """``A`` of shape ``(n, len(rows))`` with ``A[rows[q], q] = 1``: ``A @ X`` sums the rows of ``X`` by
    ``rows`` in their order, as ``bincount`` does."""
    q = len(rows)
    return sp.csr_array((np.ones(q), (np.asarray(rows, dtype=np.int64), np.arange(q))), shape=(n, q))


@dataclass(frozen=True, eq=False)
class BlockModel:
    """What the block loop needs of a network beyond :class:`MechanicsModel`, built once."""

    model: MechanicsModel
    col: callable = None
    A_hold: sp.csr_array = None
    A_lender: sp.csr_array = None
    A_borrower: sp.csr_array = None
    A_ctoken: sp.csr_array = None
    A_provider: sp.csr_array = None
    provider_rows: np.ndarray = None
    by_node_rows: np.ndarray = None
    by_node_provider: np.ndarray = None
    promised: np.ndarray = None
    LT: sp.csr_array = None
    PiT: sp.csc_array = None
    U_pos: np.ndarray = None
    U_rows: np.ndarray = None
    U_cols: np.ndarray = None
    U_base: np.ndarray = None
    A_claim_U: sp.csr_array = None
    A_U_rows: sp.csr_array = None
    A_U_cols: sp.csr_array = None
    rowsum: np.ndarray = None
    owe: np.ndarray = None
    PiT_d: sp.csr_array = None
    PiT_dd: sp.csr_array = None
    LT_d: sp.csr_array = None
    LT_dd: sp.csr_array = None
    U_rows_d: np.ndarray = None
    A_U_cols_dd: sp.csr_array = None
    impact_rows: np.ndarray = None

    @classmethod
    def from_model(cls, model: MechanicsModel) -> "BlockModel":
        n = model.n
        b = model.bearing
        by_node = (b.provider >= 0) & (b.buffer > 0)
        provider_rows = np.flatnonzero(b.provider >= 0)
        kw = {}
        if len(model.h_amount):
            kw["A_hold"] = _incidence(model.h_holder, n)
        if model.n_positions:
            kw.update(A_lender=_incidence(model.lender, n), A_borrower=_incidence(model.borrower, n),
                      A_ctoken=_incidence(model.ctoken, n))
        if len(provider_rows):
            kw.update(A_provider=_incidence(b.provider[provider_rows], n), provider_rows=provider_rows)
        if by_node.any():
            rows = np.flatnonzero(by_node)
            kw.update(by_node_rows=rows, by_node_provider=b.provider[rows],
                      promised=np.bincount(b.provider[rows], weights=b.buffer[rows], minlength=n))
        L = model.L
        rows_all = np.repeat(np.arange(n), np.diff(L.indptr))
        # the nodes that owe something: the only ones that can default (p̄ = 0 never does, and
        # prices only scale the denominated entries of L, so no other row ever owes)
        owe = np.flatnonzero((np.diff(L.indptr) > 0) | (model.x > 0))
        pos = np.full(n, -1, np.int64)
        pos[owe] = np.arange(len(owe))
        kw["owe"] = owe
        kw["impact_rows"] = np.flatnonzero(np.isfinite(model.depth) & np.isfinite(model.slippage))
        if model.has_denominated_claims:
            # the entries of L.data that hold a denominated claim, and which claims move each
            U_pos, inverse = np.unique(model.claim_pos, return_inverse=True)
            kw.update(LT=sp.csr_array(L.T), U_pos=U_pos, U_rows=rows_all[U_pos], U_cols=L.indices[U_pos],
                      U_base=L.data[U_pos], A_claim_U=_incidence(inverse, len(U_pos)),
                      A_U_rows=_incidence(rows_all[U_pos], n), A_U_cols=_incidence(L.indices[U_pos], n),
                      rowsum=np.bincount(rows_all, weights=L.data, minlength=n))
            LT_d = sp.csr_array(L[owe].T)
            kw.update(LT_d=LT_d, LT_dd=sp.csr_array(LT_d[owe]), U_rows_d=pos[rows_all[U_pos]],
                      A_U_cols_dd=sp.csr_array(kw["A_U_cols"][owe]))
        else:
            kw["PiT"] = sp.csr_array(model.Pi.T)
            PiT_d = sp.csr_array(model.Pi[owe].T)
            kw.update(PiT_d=PiT_d, PiT_dd=sp.csr_array(PiT_d[owe]))
        return cls(model=model, **kw)


# ============================================================================ obligations
class _Obligations:
    """``p̄`` and ``Πᵀ·`` of the current columns at their price states (:meth:`MechanicsModel.obligations`).

    Without denominated claims ``Π`` is the network's. Otherwise only the entries of ``L`` that hold
    denominated claims move, by ``amount·(m_a − 1)``: ``L = L₀ + Δ`` with ``Δ`` on those entries,
    ``p̄ = L·1 + x`` and ``Πᵀy = Lᵀ(y/p̄) = L₀ᵀz + Δᵀz``, ``z = y/p̄``, so per draw only the
    denominated entries are stored (never a copy of ``L`` per draw).
    """

    __slots__ = ("bm", "pbar", "inv", "corr", "_c")

    def __init__(self, bm: BlockModel, m: np.ndarray | None = None, *, pbar=None, inv=None, corr=None, c=None):
        self.bm = bm
        self._c = c
        model = bm.model
        if m is None:
            self.pbar, self.inv, self.corr = pbar, inv, corr
            return
        k = m.shape[1]
        if not model.has_denominated_claims:
            self.pbar = np.broadcast_to(model.pbar[:, None], (model.n, k))
            self.inv = None
            self.corr = None
            return
        moved = bm.A_claim_U @ (model.claim_amount[:, None] * (m[model.claim_den] - 1.0))
        data_U = np.maximum(bm.U_base[:, None] + moved, 0.0)
        self.corr = data_U - bm.U_base[:, None]
        self.pbar = (bm.rowsum[:, None] + bm.A_U_rows @ self.corr) + model.x[:, None]
        self.inv = np.divide(1.0, self.pbar, out=np.zeros_like(self.pbar), where=self.pbar > 0)

    def take(self, cols) -> "_Obligations":
        pick = (lambda a: None if a is None else a[:, cols])
        return _Obligations(self.bm, pbar=np.ascontiguousarray(self.pbar[:, cols]), inv=pick(self.inv),
                            corr=pick(self.corr), c=pick(self._c))

    @property
    def c(self) -> np.ndarray:
        """``Πᵀ p̄``: what every node receives when everybody pays in full."""
        if self._c is None:
            self._c = self.PiT(self.pbar)
        return self._c

    def PiT(self, y: np.ndarray) -> np.ndarray:
        """``Πᵀ y`` for every column."""
        bm = self.bm
        if self.inv is None:
            return bm.PiT @ y
        z = y * self.inv
        return bm.LT @ z + bm.A_U_cols @ (self.corr * z[bm.U_rows])

    def PiT_owing(self, y_d: np.ndarray, inv_d, rows_too: bool) -> np.ndarray:
        """``Πᵀ y`` for a ``y`` that is zero outside the owing rows (``y_d`` its owing rows): on every
        node, or (``rows_too``) on the owing nodes only."""
        bm = self.bm
        if self.inv is None:
            return (bm.PiT_dd if rows_too else bm.PiT_d) @ y_d
        z = y_d * inv_d
        if rows_too:
            return bm.LT_dd @ z + bm.A_U_cols_dd @ (self.corr * z[bm.U_rows_d])
        return bm.LT_d @ z + bm.A_U_cols @ (self.corr * z[bm.U_rows_d])


# ============================================================================ the clearing
def _fictitious_default(ob: _Obligations, e, start, alpha, beta, tol):
    """Fictitious default rounds on every column, each round solved by vectorised sweeps.

    ``start`` (n, k) is the warm start of each column (``p̄`` itself for a cold start: the same
    thing). The rounds and sweeps read only the rows of the nodes that owe something (no other node
    can default). Returns ``(payments, assets, defaulted, rounds, residual, converged, hard)``.
    """
    bm = ob.bm
    pbar = ob.pbar
    n, k = pbar.shape
    owe = bm.owe
    c = ob.c
    pd_, ed, cd = pbar[owe], e[owe], c[owe]
    inv_d = None if ob.inv is None else ob.inv[owe]
    # the weights of the componentwise stopping rule (exposure.clearing._solvers.residual_weights)
    w = np.maximum(pd_, np.maximum(OBLIGATION_FLOOR, _ROUNDING * (np.abs(ed) + cd) / tol))
    inv_goal = 2.0 / (tol * w)
    thresh = pd_ * (1.0 - tol)
    warm = not (start is pbar)
    received = ob.PiT(start)[owe] if warm else cd
    b_full = pd_ - alpha * ed - beta * cd
    nd = len(owe)
    s = np.zeros((nd, k))
    t = np.zeros((nd, k))
    in_d = np.zeros((nd, k), bool)
    rounds = np.zeros((nd, k), np.int64)
    count = np.zeros(k, np.int64)
    live = np.ones(k, bool)
    hard = np.zeros(k, bool)
    sweeps_total = 0
    any_default = False
    while True:
        new = ~in_d & (ed + received < thresh) & live
        live &= new.any(axis=0)
        if not live.any():
            break
        any_default = True
        count += live
        rounds[new] = np.broadcast_to(count, (nd, k))[new]
        in_d |= new
        if warm:
            s[new] = (pd_ - start[owe])[new]
            t = ob.PiT_owing(s, inv_d, True)
        solving = live.copy()
        prev = np.full(k, np.inf)
        last_rate = np.ones(k)
        sweeps = 0
        while True:
            cand = b_full + beta * t
            np.maximum(cand, 0.0, out=cand)
            np.minimum(cand, pd_, out=cand)
            cand[~in_d] = 0.0
            delta = np.max(np.abs(cand - s) * inv_goal, axis=0, initial=0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                rate = np.where((prev > 0) & (prev < np.inf), delta / prev, 1.0)
                r2 = np.maximum(rate, last_rate)
                small = (delta == 0.0) | ((delta <= 1.0) & (r2 < 1.0) & (delta * r2 / (1.0 - r2) <= 1.0))
            solving &= ~small
            if not solving.any():
                break
            if sweeps >= SWEEP_LIMIT or sweeps_total >= DEFAULT_MAX_ITER:
                hard |= solving
                live &= ~solving
                break
            s = np.where(solving, cand, s)
            last_rate = np.where(solving, rate, last_rate)
            prev = np.where(solving, delta, prev)
            t = ob.PiT_owing(s, inv_d, True)
            sweeps += 1
            sweeps_total += 1
        received = np.maximum(cd - t, 0.0)
    # _finish: the clearing map at the final p, its residual and the default set (only an owing
    # node can be in default: elsewhere p̄ = 0 and the assets are ≥ 0)
    defaulted = np.zeros((n, k), bool)
    rounds_full = np.zeros((n, k), np.int64)
    if any_default:
        p = np.array(pbar)
        p[owe] -= s
        received_full = np.maximum(c - ob.PiT_owing(s, inv_d, False), 0.0)
        received = received_full[owe]
    else:
        p = np.array(pbar)
        received_full = c
        received = cd
    assets = e + received_full
    dd = (ed + received) < thresh
    defaulted[owe] = dd
    phi = np.minimum(np.where(dd, alpha * ed + beta * received, pd_), pd_)
    residual = np.max(np.abs(phi - p[owe]) * (1.0 / w), axis=0, initial=0.0)
    rounds_full[owe] = np.where(dd, np.maximum(rounds, 1), 0)
    return p, assets, defaulted, rounds_full, residual, residual <= tol, hard


def _available(bm: BlockModel, e):
    """First-loss buffers each node can draw, node providers' cut to what they hold (``LossBearing.available``)."""
    b = bm.model.bearing.buffer
    out = np.repeat(b[:, None], e.shape[1], axis=1)
    if bm.by_node_rows is None:
        return out
    promised = bm.promised[:, None]
    factor = np.minimum(1.0, np.divide(np.maximum(e, 0.0), promised, out=np.ones_like(e), where=promised > 0))
    rows = bm.by_node_rows
    out[rows] = b[rows, None] * factor[bm.by_node_provider]
    return out


def clear_block(bm: BlockModel, ob: _Obligations, e, start, *, alpha, beta, tol):
    """:func:`exposure.clearing.clear_bearing` on every column: buffers drawn first, in passes when
    a node provides a buffer. Returns a dict of ``(n, k)`` arrays and ``(k,)`` flags."""
    bearing = bm.model.bearing
    n, k = e.shape
    if not bearing.has_buffers:
        p, assets, dflt, rounds, resid, ok, hard = _fictitious_default(ob, e, start, alpha, beta, tol)
        return dict(payments=p, assets=assets, defaulted=dflt, rounds=rounds, converged=ok, hard=hard,
                    buffer_used=np.zeros((n, k)), e_cur=e, e_clear=e)
    by_node = bm.by_node_rows is not None
    goal = tol * np.maximum(1.0, np.max(ob.pbar, axis=0, initial=0.0))
    b = _available(bm, e)
    if by_node:
        start = ob.pbar                               # later passes start cold (clear_bearing)
    clear_in = e + b
    p, assets, dflt, rounds, resid, ok, hard = _fictitious_default(ob, clear_in, start, alpha, beta, tol)
    own = assets - b
    used = np.minimum(np.maximum(ob.pbar - own, 0.0), b)
    out = dict(payments=p, assets=own, defaulted=dflt, rounds=rounds, converged=ok, hard=hard,
               buffer_used=used, e_cur=e, e_clear=clear_in)
    if not by_node:
        return out
    change = np.max(used, axis=0, initial=0.0)           # from no draw
    out["converged"] = ok & ~((change > goal) & ok)
    go = (change > goal) & ok & ~hard & (1 < MAX_PASSES)
    # a column whose node-provided buffers drew nothing clears its second pass from the same
    # e (e ≥ 0, so max(e − 0, 0) = e) and the same buffers, cold again: the same clearing, a change
    # of 0, and clear_bearing stops there. Only the other columns need the pass.
    moved = np.any(used[bm.by_node_rows] > 0, axis=0)
    out["converged"] = np.where(go & ~moved, ok, out["converged"])
    go &= moved
    if not go.any():
        return out
    out = {name: np.array(v) for name, v in out.items()}   # own copies: columns are updated below
    used, e_cur = out["buffer_used"], out["e_cur"]
    cols = np.arange(k)[go]
    passes = 1
    while True:
        passes += 1
        losses = bm.A_provider @ used[bm.provider_rows][:, cols]
        e_cur[:, cols] = np.maximum(e[:, cols] - losses, 0.0)
        sub = ob.take(cols)
        bc = b[:, cols]
        clear_in = e_cur[:, cols] + bc
        p, assets, dflt, rounds, resid, ok, hard = _fictitious_default(sub, clear_in, sub.pbar, alpha, beta, tol)
        own = assets - bc
        new_used = np.minimum(np.maximum(sub.pbar - own, 0.0), bc)
        change = np.max(np.abs(new_used - used[:, cols]), axis=0, initial=0.0)
        out["payments"][:, cols] = p
        out["assets"][:, cols] = own
        out["defaulted"][:, cols] = dflt
        out["rounds"][:, cols] = rounds
        out["e_clear"][:, cols] = clear_in
        used[:, cols] = new_used
        out["hard"][cols] = hard
        # clear_bearing: converged unless the draws still moved after the last pass
        out["converged"][cols] = ok & ~((change > goal[cols]) & ok)
        go = (change > goal[cols]) & ok & ~hard & (passes < MAX_PASSES)
        if not go.any():
            return out
        cols = cols[go]


# ============================================================================ the loop
def _impact(bm, Q, df):
    """:func:`exposure.defi._model.price_impact` on every column (rows with a depth and a slippage only)."""
    model = bm.model
    out = np.zeros_like(Q)
    rows = bm.impact_rows
    if not len(rows):
        return out
    q = Q[rows]
    eff = model.depth[rows, None] * df[rows]
    s, a = model.slippage[rows, None], model.exponent[rows, None]
    active = np.isfinite(eff) & (q > 0)
    if not active.any():
        return out
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        val = np.where(eff > 0, s * (q / np.where(eff > 0, eff, 1.0)) ** a, 1.0)
    out[rows] = np.where(active, np.minimum(1.0, val), 0.0)
    return out


def _market(bm, r, Q, pf, df):
    return r * pf * (1.0 - _impact(bm, Q, df))


def _liquidate(model, C, D, repaid, seized, o, m):
    """:func:`exposure.defi._model.liquidation_step` on every column; returns the new state and ``sold``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        H = C * o * model.lt[:, None] / D
    # health() maps NaN to inf (and inf to the largest float): only H < 1 − ε is read, the same test
    H = np.where((D > 0) & ~np.isnan(H), H, np.inf)
    moving = ((model.oracle == MARKET) | (model.oracle == EXCHANGE_RATE))[:, None]
    bonus = model.bonus[:, None]
    with np.errstate(invalid="ignore"):
        pays = (1.0 + bonus) * m[model.ctoken] >= o * m[model.dtoken] * (1.0 - HEALTH_EPS)
    liq = moving & (H < 1.0 - HEALTH_EPS) & np.isfinite(o) & (o > 0) & pays
    if not liq.any():
        return C, D, repaid, seized, np.zeros_like(C)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        R = np.where(liq, np.minimum(model.close[:, None] * D, C * o / (1.0 + bonus)), 0.0)
        S = np.where(liq, np.minimum(R * (1.0 + bonus) / o, C), 0.0)
    return C - S, D - R, repaid + R, seized + S, S


def _external(bm, m, C, D, repaid, f, a):
    """:func:`exposure.defi._model.external_values` on every column: ``(e, bad)``."""
    model = bm.model
    v = np.broadcast_to(model.declared[:, None], m.shape)
    if len(model.ac_amount):
        v = v + _incidence(model.ac_holder, model.n) @ (model.ac_amount[:, None] * m[model.ac_asset])
    if len(model.h_amount):
        v = v + bm.A_hold @ (model.h_amount[:, None] * m[model.h_token])
    e = np.maximum(0.0, (1.0 - f) * v - a)
    if not model.n_positions:
        return e, None
    md = m[model.dtoken]
    cv = C * m[model.ctoken]
    dv = D * md
    lender = repaid * md + np.minimum(dv, cv)
    borrower = np.maximum(0.0, cv - dv)
    bad = np.maximum(0.0, dv - cv)
    return e + bm.A_lender @ lender + bm.A_borrower @ borrower, bad


#: The per-column state of the loop, compacted together when draws finish.
_STATE = ("m", "r", "Q", "C", "D", "repaid", "seized", "p", "e_prev", "factors", "default_round",
          "fundamental", "pf", "forged", "df", "f", "a")
_FINAL = ("m", "Q", "payments", "assets", "defaulted", "default_round", "pbar", "buffer_used", "bad")


def run_block(bm: BlockModel, shock: dict, *, alpha, beta, tol, max_iter):
    """The joint loop of ``_run`` (:mod:`exposure.defi._system`) on every column of ``shock``.

    ``shock`` holds the ``MarketShock.vectors`` entries as ``(n, k)`` arrays. Returns a dict of
    the final per-draw state: ``payments, assets, defaulted, default_round, pbar, buffer_used, Q``
    ``(n, k)``, ``bad (P, k)``, ``iterations, residual, converged, status (k,)`` and ``hard (k,)``
    (draws to solve with ``solve_system``).
    """
    model = bm.model
    n, P = model.n, model.n_positions
    k = shock["change"].shape[1]
    inner_tol = tol * 1e-2 if model.has_mechanics else tol
    issued = (model.issuer >= 0)[:, None]
    has_den = bool((model.denomination >= 0).any())
    # start: every issuer solvent, no liquidation, prices at their shocked values (as in _run)
    fundamental = np.where(issued, 1.0, 1.0 + shock["change"])
    pf = (1.0 + shock["depeg"]) * np.where(issued, 1.0 + shock["change"], 1.0)
    forged, df = shock["forged"], shock["depth_factor"]
    r = fundamental / (1.0 + forged)
    Q = np.zeros((n, k))
    m = _market(bm, r, Q, pf, df)
    if has_den:
        r = r * denomination_factor(model, m)
        m = _market(bm, r, Q, pf, df)
    S = dict(m=m, r=r, Q=Q, C=np.repeat(model.C0[:, None], k, axis=1), D=np.repeat(model.D0[:, None], k, axis=1),
             repaid=np.zeros((P, k)), seized=np.zeros((P, k)), p=None, e_prev=None, factors=None,
             default_round=np.zeros((n, k), np.int64), fundamental=fundamental, pf=pf, forged=forged, df=df,
             f=shock["loss_fraction"], a=shock["loss_amount"])
    out = {name: np.zeros((n, k)) for name in ("m", "Q", "payments", "assets", "pbar", "buffer_used")}
    out.update(defaulted=np.zeros((n, k), bool), default_round=np.zeros((n, k), np.int64), bad=np.zeros((P, k)),
               iterations=np.zeros(k, np.int64), residual=np.full(k, np.inf), converged=np.zeros(k, bool),
               status=np.ones(k, np.int64), hard=np.zeros(k, bool))
    cols = np.arange(k)
    last = None
    for it in range(1, max_iter + 1):
        m, r = S["m"], S["r"]
        C, D, repaid, seized = S["C"], S["D"], S["repaid"], S["seized"]
        if P:
            o = oracle_ratio(model, m, r)
            C, D, repaid, seized, sold = _liquidate(model, C, D, repaid, seized, o, m)
            Q = S["Q"] + bm.A_ctoken @ sold
        else:
            Q = S["Q"]
        e, bad = _external(bm, m, C, D, repaid, S["f"], S["a"])
        factors = m[model.claim_den] if model.has_denominated_claims else None
        ob = _Obligations(bm, m)
        pbar = ob.pbar
        if S["p"] is None:
            start = pbar
        else:
            same = (np.all(factors == S["factors"], axis=0) if factors is not None
                    else np.ones(len(cols), bool))
            warm = same & np.all(e <= S["e_prev"], axis=0)
            start = np.where(warm, np.clip(S["p"], 0.0, pbar), pbar) if warm.any() else pbar
        cv = clear_block(bm, ob, e, start, alpha=alpha, beta=beta, tol=inner_tol)
        p_new = cv["payments"]
        dflt = cv["defaulted"] & ~model.bearing.shares[:, None]
        dr = S["default_round"]
        dr = np.where(dflt & (dr == 0), it, dr)
        r_new = np.minimum(r, redemption_values(model, p_new, S["forged"], S["fundamental"], pbar, m))
        m_new = np.minimum(m, _market(bm, r_new, Q, S["pf"], S["df"]))
        if has_den:
            r_new = np.minimum(r_new, redemption_values(model, p_new, S["forged"], S["fundamental"], pbar, m_new))
            m_new = np.minimum(m_new, _market(bm, r_new, Q, S["pf"], S["df"]))
        residual = np.maximum(np.max(np.abs(m_new - m), axis=0, initial=0.0),
                              np.max(np.abs(r_new - r), axis=0, initial=0.0))
        if S["p"] is not None:
            residual = np.maximum(residual, np.max(np.abs(p_new - S["p"]) / np.maximum(pbar, 1e-300), axis=0,
                                                   initial=0.0))
        if P:
            residual = np.maximum(residual, np.max(sold / np.maximum(model.C0, 1e-300)[:, None], axis=0,
                                                   initial=0.0))
        failed = ~cv["converged"]
        done = failed | (residual <= tol) | cv["hard"]
        final = dict(m=m_new, Q=Q, payments=p_new, assets=cv["assets"], defaulted=cv["defaulted"],
                     default_round=(cv["rounds"] if not model.has_mechanics else dr), pbar=pbar,
                     buffer_used=cv["buffer_used"], bad=bad if P else None)
        S = dict(S, m=m_new, r=r_new, Q=Q, C=C, D=D, repaid=repaid, seized=seized, p=p_new, e_prev=e,
                 factors=factors, default_round=dr)
        last = (final, residual)
        if it == max_iter:
            done = np.ones(len(cols), bool)
        if done.any():
            idx = cols[done]
            for name in _FINAL:
                if final[name] is not None:
                    out[name][:, idx] = final[name][:, done]
            out["iterations"][idx] = it
            out["residual"][idx] = residual[done]
            ok = (residual <= tol) & ~failed
            out["converged"][idx] = ok[done]
            out["status"][idx] = np.where(failed, 2, np.where(ok, 0, 1))[done]
            out["hard"][idx] = cv["hard"][done]
            keep = ~done
            if not keep.any():
                break
            cols = cols[keep]
            S = {name: (None if v is None else np.ascontiguousarray(v[:, keep])) for name, v in S.items()}
    del last
    return out
