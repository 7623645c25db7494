"""The joint fixed point of the cross-collateral mechanics (see :mod:`exposure.defi`)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._params import check_number
from .._results import report
from ..clearing import ClearingResult, clear_bearing, clear_claims, result_from_vectors
from ..schema import EDGE_KINDS
from ..shocks import MarketShock
from ._model import (MechanicsModel, PositionState, denomination_factor, external_values, health,
                     liquidation_step, market_prices, oracle_ratio, redemption_values)

__all__ = ["SystemResult", "solve_system", "clear"]


# ============================================================================ the loop
@dataclass
class _State:
    """Everything one run of the joint loop produces."""

    m: np.ndarray
    r: np.ndarray
    Q: np.ndarray
    e: np.ndarray
    payments: np.ndarray
    assets: np.ndarray
    defaulted: np.ndarray
    positions: PositionState
    bad: np.ndarray
    default_round: np.ndarray
    liquidated_round: np.ndarray
    bad_debt_round: np.ndarray
    price_round: np.ndarray
    rounds: list
    converged: bool
    status: int
    iterations: int
    residual: float
    message: str
    inner: Any = None
    L: Any = None
    Pi: Any = None
    pbar: Any = None
    e_after: Any = None
    e_clear: Any = None
    buffer_used: Any = None


def _clear(Pi, pbar, e, *, bearing, alpha, beta, tol, start):
    return clear_bearing(Pi, pbar, e, bearing, alpha=alpha, beta=beta, tol=tol, start=start)


def _equity(pbar: np.ndarray, assets: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, assets - pbar)


def _run(model: MechanicsModel, shock: dict, *, alpha, beta, tol, max_iter) -> _State:
    """The monotone joint iteration (see the module docstring, "Joint fixed point")."""
    n, k = model.n, model.n_positions
    forged, df = shock["forged"], shock["depth_factor"]
    issued = model.issuer >= 0
    # a price change is fundamental for a node without issuer (its redemption value moves), a market
    # move for an issued token (like a depeg); a depeg never touches the redemption value
    fundamental = np.where(issued, 1.0, 1.0 + shock["change"])
    pf = (1.0 + shock["depeg"]) * np.where(issued, 1.0 + shock["change"], 1.0)
    r = fundamental / (1.0 + forged)
    Q = np.zeros(n)
    m = market_prices(model, r, Q, pf, df)
    if (model.denomination >= 0).any():
        # a token redeemable in an asset starts at that asset's shocked price (issuer solvent)
        r = r * denomination_factor(model, m)
        m = market_prices(model, r, Q, pf, df)
    state = PositionState.initial(model)
    default_round = np.zeros(n, np.int64)
    liquidated_round = np.zeros(k, np.int64)
    bad_debt_round = np.zeros(k, np.int64)
    price_round = np.where(m < 1.0 - 1e-12, 1, 0).astype(np.int64)
    bad_tol = 1e-12 * np.maximum(1.0, model.D0)
    p = None
    e_prev = None
    factors_prev = None
    rounds = []
    converged, status, residual, message, cv, bv = False, 1, math.inf, "", None, None
    bearing = model.bearing
    it = 0
    for it in range(1, max_iter + 1):
        o = oracle_ratio(model, m, r)
        repaid_before = float(state.repaid.sum())
        liq, sold = liquidation_step(model, state, o, m)
        if k:
            Q = Q + np.bincount(model.ctoken, weights=sold, minlength=n)
        liquidated_round[liq & (liquidated_round == 0)] = it
        e, bad, _, _ = external_values(model, m, state, shock["loss_fraction"], shock["loss_amount"])
        # Claims denominated in an asset are worth amount·m_a: L, Π and p̄ at this round's prices.
        factors = model.claim_factors(m)
        same_obligations = factors_prev is not None and np.array_equal(factors, factors_prev)
        if not same_obligations:
            L_cur, Pi_cur, pbar_cur = model.obligations(m)
        # Warm start only when the previous payments are provably an upper bound of this round's
        # clearing vector: same obligations (Π, p̄) and no external asset went up (the clearing map is
        # then pointwise lower). When denominated obligations moved, p̄ and Π changed and a creditor's
        # share of a debtor's payments can grow, so the previous p is no bound: start cold from p̄.
        start = p if (p is not None and same_obligations and np.all(e <= e_prev)) else None
        factors_prev = factors
        # Without holdings and positions one clearing is the whole model: solve it exactly as the
        # clearing engine does. Otherwise solve each round's clearing well inside the loop's tol.
        bv = _clear(Pi_cur, pbar_cur, e, bearing=bearing, alpha=alpha, beta=beta,
                    tol=tol * 1e-2 if model.has_mechanics else tol, start=start)
        cv = bv.vectors
        p_new = np.asarray(cv.payments, dtype=np.float64)
        # in shortfall after the buffers: a default for a debt node, an impairment for a shares node
        defaulted = np.asarray(cv.defaulted, dtype=bool) & ~bearing.shares
        default_round[defaulted & (default_round == 0)] = it
        bad_debt_round[(bad > bad_tol) & (bad_debt_round == 0)] = it
        r_new = np.minimum(r, redemption_values(model, p_new, forged, fundamental, pbar_cur, m))
        m_new = np.minimum(m, market_prices(model, r_new, Q, pf, df))
        if (model.denomination >= 0).any():
            # the denomination asset's own price may have moved this round (a fire sale of it)
            r_new = np.minimum(r_new, redemption_values(model, p_new, forged, fundamental, pbar_cur, m_new))
            m_new = np.minimum(m_new, market_prices(model, r_new, Q, pf, df))
        price_round[(m_new < 1.0 - 1e-12) & (price_round == 0)] = it
        dp = 0.0 if p is None else float(np.max(np.abs(p_new - p) / np.maximum(pbar_cur, 1e-300),
                                                 initial=0.0))
        dliq = float(np.max(sold / np.maximum(model.C0, 1e-300), initial=0.0)) if k else 0.0
        residual = max(float(np.max(np.abs(m_new - m), initial=0.0)),
                       float(np.max(np.abs(r_new - r), initial=0.0)), dp, dliq)
        rounds.append({
            "round": it,
            "liquidations": int(liq.sum()),
            "repaid": float(state.repaid.sum()) - repaid_before,
            "sold": float(sold.sum()) if k else 0.0,
            "bad_debt": float(bad.sum()) if k else 0.0,
            "new_defaults": int((default_round == it).sum()),
            "n_defaults": int(defaulted.sum()),
            "prices_moved": int((price_round == it).sum()),
            "min_price": float(m_new.min(initial=1.0)),
            "clearing_iterations": int(cv.iterations),
            "change": residual,
            "warm_start": start is not None,
        })
        if not cv.converged:
            status = 2
            message = f"the clearing did not converge in round {it}: {cv.message}"
            p, m, r, e_prev = p_new, m_new, r_new, e
            break
        p, m, r, e_prev = p_new, m_new, r_new, e
        if residual <= tol:
            converged, status = True, 0
            break
    if converged:
        message = f"converged in {it} rounds (largest change {residual:.3g} ≤ tol {tol:g})"
    elif not message:
        message = (f"stopped after max_iter={max_iter} rounds; the largest change in the last round was "
                   f"{residual:.3g} > tol {tol:g}")
    return _State(m=m, r=r, Q=Q, e=e_prev, e_after=bv.e, e_clear=bv.e_clear, buffer_used=bv.buffer_used,
                  payments=p, assets=np.asarray(cv.assets, dtype=np.float64),
                  defaulted=np.asarray(cv.defaulted, dtype=bool), positions=state, bad=bad,
                  default_round=default_round, liquidated_round=liquidated_round,
                  bad_debt_round=bad_debt_round, price_round=price_round, rounds=rounds,
                  converged=converged, status=status, iterations=it, residual=residual, message=message, inner=cv,
                  L=L_cur, Pi=Pi_cur, pbar=pbar_cur)


# ========================================================================== the result
@dataclass(frozen=True, eq=False, kw_only=True)
class SystemResult(ClearingResult):
    """Result of :func:`solve_system`: the consistent state after a shock, and how it was reached.

    A :class:`~exposure.clearing.ClearingResult` (every clearing field, in the shocked state)
    with the mechanics on top. Per-node arrays are in graph order (``node_ids``); per-position
    arrays in the order of ``network.positions``.

    Attributes
    ----------
    node_ids : pandas.Index
    kinds : ndarray of str
    obligations, payments, recovery, assets, equity : ndarray
        Clearing fields as in :class:`exposure.clearing.ClearingResult`, in the
        shocked state (``assets = e + Πᵀp``, ``equity = max(0, assets − p̄)``).
    defaulted : ndarray of bool
        Debt nodes in default (short after drawing on their first-loss buffer).
    default_round : ndarray of int
        Round of the joint loop in which the node first defaults (0: never, and every node
        that owes shares). On a network without holdings and positions, the clearing
        engine's own round.
    impaired, buffer_used : ndarray
        Nodes owing shares whose value per share fell (recovery below ``1 − tol``); first-loss
        capital drawn by each node (:mod:`exposure.clearing._loss`).
    equity_before, equity_after, loss : ndarray
        Equity in the unshocked and shocked states and their difference.
    bad_debt : ndarray
        Bad debt of each node as lender (sum over its positions).
    liquidated : ndarray
        Collateral seized from each node as borrower (USD at reference prices).
    sold : ndarray
        Volume of each node sold as collateral token (``Q``, USD at reference price).
    price_before, price_after, redemption_value : ndarray
        Market price ratios in the unshocked and shocked states, redemption ratio ``r``.
    price_round : ndarray of int
        Round in which the node's market price first falls below its reference (0: never).
    external_assets : ndarray
        ``e`` of the last clearing (the revalued external assets).
    total_loss, total_bad_debt, total_liquidated, external_creditor_loss, total_shortfall : float
        ``total_loss`` is the equity lost by every node that is not a token, plus the rise of what
        external creditors are not paid and of the first-loss capital drawn from providers outside
        the network.
    n_defaults, n_impaired : int
    converged : bool
    iterations : int
        Rounds of the joint loop (``rounds`` is the same number).
    residual : float
        Largest change in the last round (price ratio, relative payment, relative liquidation).
    conservation_residual : float
        Relative gap of the value balance (see the module docstring).
    value_lost : float
        External value destroyed, ``Σ e_before − Σ e_after`` (shocks, price falls, liquidation
        bonuses paid to outside liquidators). Up to the conservation residual,
        ``total_loss + Σ_{token nodes} loss = value_lost + (default_costs − default_costs_before)``:
        every dollar lost is somebody's loss.
    default_costs, default_costs_before : float
        Rogers–Veraart default costs in the shocked and unshocked states (0 under Eisenberg–Noe).
    status : int
        0 converged, 1 round limit reached, 2 the clearing of a round did not converge
        (:data:`exposure._results.STATUS`).
    message : str
    alpha, beta : float
    method : str
        ``"joint-fixed-point"`` (the model is :attr:`model`, as for a clearing).
    n_rounds : int
        Rounds of the joint loop, as ``iterations``.
    clearing : exposure.clearing.ClearingResult
        The clearing of the last round (of the shocked state).
    """

    # The clearing fields (node_ids, obligations, payments, recovery, assets, equity, defaulted,
    # default_round, n_defaults, totals and the solver record) are those of ClearingResult.
    kinds: np.ndarray = field(repr=False)
    equity_before: np.ndarray = field(repr=False)
    equity_after: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    bad_debt: np.ndarray = field(repr=False)
    liquidated: np.ndarray = field(repr=False)
    sold: np.ndarray = field(repr=False)
    price_before: np.ndarray = field(repr=False)
    price_after: np.ndarray = field(repr=False)
    redemption_value: np.ndarray = field(repr=False)
    price_round: np.ndarray = field(repr=False)
    position_state: Any = field(repr=False)
    position_bad_debt: np.ndarray = field(repr=False)
    health_before: np.ndarray = field(repr=False)
    health_after: np.ndarray = field(repr=False)
    liquidated_round: np.ndarray = field(repr=False)
    bad_debt_round: np.ndarray = field(repr=False)
    round_records: tuple = field(repr=False)
    clearing: Any = field(default=None, repr=False)
    total_loss: float = 0.0
    total_bad_debt: float = 0.0
    total_liquidated: float = 0.0
    conservation_residual: float = 0.0
    value_lost: float = 0.0
    default_costs_before: float = 0.0
    method: str = "joint-fixed-point"

    @property
    def rounds(self) -> int:
        """Rounds of the joint loop."""
        return self.iterations

    # ---------------------------------------------------------------- frames
    def to_frame(self) -> pd.DataFrame:
        """Per node: the clearing columns (:data:`~exposure.clearing.FRAME_COLUMNS`) plus ``bad_debt,
        liquidated, equity_before, loss``."""
        return self.nodes_frame()[["node", "obligations", "payments", "recovery", "assets", "equity_after",
                                   "defaulted", "default_round", "impaired", "buffer_used", "bad_debt",
                                   "liquidated", "equity_before", "loss"]].rename(columns={"equity_after": "equity"})

    def nodes_frame(self) -> pd.DataFrame:
        """Per node: ``node, kind, equity_before, equity_after, loss, bad_debt, liquidated, defaulted,
        default_round, impaired, buffer_used`` and the clearing columns ``obligations, payments, recovery,
        assets``."""
        return pd.DataFrame({
            "node": self.node_ids.to_numpy(dtype=object), "kind": self.kinds.astype(object),
            "equity_before": self.equity_before, "equity_after": self.equity_after, "loss": self.loss,
            "bad_debt": self.bad_debt, "liquidated": self.liquidated, "defaulted": self.defaulted,
            "default_round": self.default_round, "impaired": self.impaired, "buffer_used": self.buffer_used,
            "obligations": self.obligations,
            "payments": self.payments, "recovery": self.recovery, "assets": self.assets,
        })

    def _token_mask(self) -> np.ndarray:
        """Priced nodes: tokens (:meth:`~exposure.network.ExposureNetwork.is_token`), base assets, and
        every node held or posted in a position."""
        net = self.network
        mask = net.is_token() | (self.kinds == "asset")
        for spec in (EDGE_KINDS["holding"], EDGE_KINDS["collateral"]):
            table = getattr(net, spec.table)
            for c in spec.refs:
                if len(table) and c in ("token", "collateral_token", "debt_token"):
                    mask[np.asarray(table[c].cat.codes)] = True
        return mask

    def tokens_frame(self) -> pd.DataFrame:
        """Per token (kind ``token`` or ``asset``, a node with an issuer, or one held or lent):
        ``token, price_before, price_after, redemption_value, liquidated`` (prices in USD per unit:
        the node's ``price`` times the ratio; ``liquidated`` = USD sold at reference price),
        then ``price_ratio`` (after / reference) and ``price_round``."""
        mask = self._token_mask()
        nodes = self.network.nodes
        ref = (nodes["price"].to_numpy(dtype=np.float64, na_value=1.0) if "price" in nodes.columns
               else np.ones(len(nodes)))
        return pd.DataFrame({
            "token": self.node_ids.to_numpy(dtype=object)[mask],
            "price_before": (ref * self.price_before)[mask], "price_after": (ref * self.price_after)[mask],
            "redemption_value": (ref * self.redemption_value)[mask], "liquidated": self.sold[mask],
            "price_ratio": self.price_after[mask], "price_round": self.price_round[mask],
        })

    def positions_frame(self) -> pd.DataFrame:
        """Per secured position: parties, oracle, collateral and debt before and after, repaid, seized,
        health before and after, bad debt, and the rounds of the first liquidation and of bad debt."""
        pos = self.network.positions
        st = self.position_state
        return pd.DataFrame({
            "edge": pos.index.to_numpy(),
            "lender": pos["lender"].astype(object).to_numpy(), "borrower": pos["borrower"].astype(object).to_numpy(),
            "collateral_token": pos["collateral_token"].astype(object).to_numpy(),
            "debt_token": pos["debt_token"].astype(object).to_numpy(),
            "oracle": pos["oracle"].to_numpy(dtype=object),
            "collateral_before": pos["collateral"].to_numpy(dtype=np.float64),
            "debt_before": pos["debt"].to_numpy(dtype=np.float64),
            "collateral_after": st.C, "debt_after": st.D, "repaid": st.repaid, "seized": st.seized,
            "health_before": self.health_before, "health_after": self.health_after,
            "bad_debt": self.position_bad_debt, "liquidated_round": self.liquidated_round,
            "bad_debt_round": self.bad_debt_round,
        })

    def rounds_frame(self) -> pd.DataFrame:
        """The cascade round by round: ``round, liquidations, repaid, sold, bad_debt, new_defaults,
        n_defaults, prices_moved, min_price, clearing_iterations, change, warm_start`` (``warm_start``:
        the round's clearing started from the previous payments, a proven upper bound; else from ``p̄``)."""
        cols = ["round", "liquidations", "repaid", "sold", "bad_debt", "new_defaults", "n_defaults",
                "prices_moved", "min_price", "clearing_iterations", "change", "warm_start"]
        return pd.DataFrame(list(self.round_records), columns=cols)

    def summary(self) -> dict:
        """``total_loss, bad_debt, liquidated, n_defaults, n_impaired, buffer_used, external_creditor_loss,
        rounds, converged, iterations, residual, conservation_residual`` (plain Python values)."""
        return {
            "total_loss": float(self.total_loss), "bad_debt": float(self.total_bad_debt),
            "liquidated": float(self.total_liquidated), "n_defaults": int(self.n_defaults),
            "n_impaired": int(self.n_impaired), "buffer_used": float(self.buffer_used.sum()),
            "external_creditor_loss": float(self.external_creditor_loss), "rounds": int(self.iterations),
            "converged": bool(self.converged), "iterations": int(self.iterations),
            "residual": float(self.residual), "conservation_residual": float(self.conservation_residual),
        }

    def _claims_clearing(self):
        """The clearing of the last round (its claims repriced, prices and positions held fixed)."""
        return self.clearing

    def __repr__(self) -> str:
        s = self.summary()
        return (f"<SystemResult: {self.message}; total_loss={s['total_loss']:.6g}, bad_debt={s['bad_debt']:.6g}, "
                f"liquidated={s['liquidated']:.6g}, n_defaults={s['n_defaults']}>")


# ======================================================================== solve_system
def _balance_gap(s: _State, alpha, beta):
    """(gap, scale, default costs) of ``Σ e = Σ equity + Σ p·x/p̄ + Σ default costs`` (module docstring),
    with ``e`` the external assets the clearing saw (first-loss buffers included) and equity counted on
    what each node holds plus its buffer."""
    e, payments, defaulted, pbar = s.e_clear, s.payments, s.defaulted, s.pbar
    assets = s.assets + (s.e_clear - s.e_after)
    share_out = np.asarray(s.Pi.sum(axis=1)).ravel()
    ext_paid = payments * np.where(pbar > 0, 1.0 - share_out, 0.0)
    received = assets - e
    costs = np.where(defaulted, (1.0 - alpha) * e + (1.0 - beta) * received, 0.0)
    gap = float(np.sum(e) - np.sum(_equity(pbar, assets)) - np.sum(ext_paid) - np.sum(costs))
    return abs(gap), max(1.0, float(np.sum(e))), float(np.sum(costs))


def _external_loss(pbar, payments, x) -> float:
    rec = np.divide(payments, pbar, out=np.ones_like(pbar), where=pbar > 0)
    return float(np.sum(x * (1.0 - rec)))


def solve_system(network, shock=None, *, alpha=1.0, beta=1.0, tol=1e-9, max_iter=1000,
                 strict=False) -> SystemResult:
    """Joint fixed point of clearing, token prices, liquidations and fire sales after a shock.

    Parameters
    ----------
    network : ExposureNetwork
        A network of format version 1 or 2 (holdings, secured positions, token
        issuers, market depth).
    shock : MarketShock or mapping of node -> fraction, optional
        The scenario; a plain mapping is an asset-loss shock (as in version 1).
    alpha, beta : float in [0, 1]
        Rogers–Veraart recovery rates of defaulting nodes on external assets and
        on claims (``alpha = beta = 1``: Eisenberg–Noe).
    tol : float
        Stopping tolerance of the joint loop: largest change of a price ratio, of
        a payment relative to its obligation and of a liquidation relative to the
        position's collateral in one round. The clearing in each round is solved
        to ``tol / 100``.
    max_iter : int
        Maximum number of rounds of the joint loop.
    strict : bool
        Raise :class:`ConvergenceError` (with the result as ``.result``) instead of
        a :class:`ConvergenceWarning` when the loop does not converge.

    Returns
    -------
    SystemResult

    Raises
    ------
    InvalidShockError
        A shock on an unknown node (the message names the field and the node).
    ConvergenceError
        Only with ``strict=True``.

    Notes
    -----
    The model, every formula and the order of the steps in a round are in the
    docstring of :mod:`exposure.defi` and in ``docs/mechanics.md``. The
    loop starts from the greatest candidate state (no liquidation, every issuer
    paying in full, prices at their shocked values) and only lowers prices,
    payments and remaining collateral, so it approaches the greatest consistent
    state from above, as the fictitious default algorithm does for clearing [1]_.
    The unshocked state (``equity_before``) is solved the same way.

    References
    ----------
    .. [1] L. Eisenberg and T. H. Noe, "Systemic risk in financial systems",
       Management Science 47(2), 236–249, 2001.

    Examples
    --------
    A lender pool lends 80 against 100 of a token whose issuer loses half of
    its assets. The issuer pays 50 of 100, so the token redeems at 0.5; the
    exchange-rate oracle sees it: health ``100·0.5·0.9/80 = 0.56 < 1``. The
    liquidation can repay only ``100·0.5/1.05 = 47.62`` for the whole
    collateral, and ``80 − 47.62 = 32.38`` is bad debt:

    >>> import pandas as pd
    >>> from exposure import ExposureNetwork
    >>> nodes = pd.DataFrame({"id": ["iss", "tok", "pool", "bob", "USD"],
    ...                       "kind": ["protocol", "token", "protocol", "protocol", "asset"],
    ...                       "issuer": pd.Series([None, "iss", None, None, None], dtype=object),
    ...                       "external_assets": [100.0, 0, 0, 0, 0]})
    >>> edges = pd.DataFrame([
    ...     {"kind": "claim", "debtor": "iss", "creditor": "tok", "amount": 100.0},
    ...     {"kind": "collateral", "lender": "pool", "borrower": "bob", "collateral_token": "tok",
    ...      "collateral": 100.0, "debt_token": "USD", "debt": 80.0, "liquidation_threshold": 0.9,
    ...      "liquidation_bonus": 0.05, "close_factor": 1.0, "oracle": "exchange_rate"}])
    >>> net = ExposureNetwork.from_frames(nodes, edges, meta={"version": 2})
    >>> res = solve_system(net, MarketShock(asset_loss={"iss": 0.5}))
    >>> res.summary()["converged"], round(res.total_bad_debt, 6), round(res.total_liquidated, 6)
    (True, 32.380952, 100.0)
    """
    alpha = check_number(alpha, "alpha", "solve_system", lo=0.0, hi=1.0)
    beta = check_number(beta, "beta", "solve_system", lo=0.0, hi=1.0)
    tol = check_number(tol, "tol", "solve_system", lo=0.0, lo_open=True)
    max_iter = check_number(max_iter, "max_iter", "solve_system", lo=1, integer=True)
    shock = MarketShock.coerce(shock)
    vec = shock.vectors(network)
    base = MarketShock().vectors(network)
    model = MechanicsModel.from_network(network)
    kw = dict(alpha=alpha, beta=beta, tol=tol, max_iter=max_iter)
    after = _run(model, vec, **kw)
    before = after if shock.is_empty else _run(model, base, **kw)
    x = network.external_liabilities
    eq_b = _equity(before.pbar, before.assets)
    eq_a = _equity(after.pbar, after.assets)
    non_token = ~model.is_token
    ecl_a, ecl_b = _external_loss(after.pbar, after.payments, x), _external_loss(before.pbar, before.payments, x)
    n = model.n
    st = after.positions
    if model.n_positions:
        o_b = oracle_ratio(model, np.ones(n), np.ones(n))
        o_a = oracle_ratio(model, after.m, after.r)
        h_b = health(model, PositionState.initial(model), o_b)
        h_a = health(model, st, o_a)
        bad_node = np.bincount(model.lender, weights=after.bad, minlength=n)
        liq_node = np.bincount(model.borrower, weights=st.seized, minlength=n)
    else:
        h_b = h_a = np.zeros(0)
        bad_node = liq_node = np.zeros(n)
    gaps = [_balance_gap(s, kw["alpha"], kw["beta"]) for s in (after, before)]
    conservation = max(g / sc for g, sc, _ in gaps)
    status = after.status if not after.converged else before.status
    inner = after.inner
    bearing = model.bearing
    default_round = after.default_round
    if not model.has_mechanics and inner is not None:
        default_round = np.asarray(inner.default_round, dtype=np.int64)
    defaulted, impaired, default_round = bearing.classify(after.defaulted, default_round)
    # first-loss capital paid from outside the network is a loss too (node providers' is in their equity)
    outside = bearing.provider < 0
    ext_buffer = float(np.sum(after.buffer_used[outside]) - np.sum(before.buffer_used[outside]))
    result = SystemResult(
        network=network, node_ids=network.node_ids, kinds=np.asarray(network.kinds, dtype=object),
        obligations=after.pbar, payments=after.payments,
        recovery=np.divide(after.payments, after.pbar, out=np.ones(n), where=after.pbar > 0),
        assets=after.assets, equity=eq_a, defaulted=defaulted, default_round=default_round,
        impaired=impaired, buffer_used=after.buffer_used, n_impaired=int(impaired.sum()),
        equity_before=eq_b, equity_after=eq_a, loss=eq_b - eq_a, bad_debt=bad_node, liquidated=liq_node,
        sold=after.Q, price_before=before.m, price_after=after.m, redemption_value=after.r,
        price_round=after.price_round, external_assets=after.e_after, position_state=st,
        position_bad_debt=after.bad, health_before=h_b, health_after=h_a,
        liquidated_round=after.liquidated_round, bad_debt_round=after.bad_debt_round,
        round_records=tuple(after.rounds),
        clearing=result_from_vectors(network if after.L is model.L else dataclasses.replace(network, liabilities=after.L),
                                     after.inner, after.e_after, alpha=kw["alpha"], beta=kw["beta"],
                                     buffer_used=after.buffer_used, e_clear=after.e_clear,
                                     bearing=bearing),
        total_loss=float(np.sum((eq_b - eq_a)[non_token]) + (ecl_a - ecl_b) + ext_buffer),
        total_bad_debt=float(after.bad.sum()), total_liquidated=float(after.Q.sum()),
        external_creditor_loss=ecl_a, total_shortfall=float(np.sum(after.pbar - after.payments)),
        n_defaults=int(defaulted.sum()), converged=bool(after.converged and before.converged),
        iterations=int(after.iterations), residual=float(after.residual),
        conservation_residual=float(conservation), status=status,
        value_lost=float(np.sum(before.e) - np.sum(after.e)), default_costs=gaps[0][2],
        default_costs_before=gaps[1][2],
        message=after.message if before.converged else f"unshocked state: {before.message}",
        alpha=kw["alpha"], beta=kw["beta"], n_rounds=int(after.iterations),
    )
    return report(result, strict=strict, what="solve_system did not converge")


def clear(network, shock=None, *, alpha: float = 1.0, beta: float = 1.0, method: str = "fictitious-default",
          tol: float = 1e-9, max_iter: int | None = None, strict: bool = False) -> ClearingResult:
    """Clear ``network``: Eisenberg–Noe when ``α = β = 1``, Rogers–Veraart otherwise.

    See :func:`exposure.clearing.eisenberg_noe` and :func:`exposure.clearing.rogers_veraart` for
    the parameters.

    On a network with holdings or secured positions (format version 2) the clearing of the claims
    alone would leave out what those edges are worth, so ``clear`` solves the full cross-collateral
    mechanics instead (:func:`solve_system`) and the :class:`~exposure.clearing.ClearingResult` it
    returns is a :class:`SystemResult`, with ``bad_debt``, ``liquidated``, ``equity_before`` and
    ``loss`` on top of the clearing fields; ``max_iter`` then bounds the rounds of the joint fixed
    point (default 1000) and ``method`` is not used. :func:`~exposure.clearing.eisenberg_noe` and
    :func:`~exposure.clearing.rogers_veraart` always clear the claims alone.
    """
    if network.has_mechanics:
        return solve_system(network, shock or None, alpha=alpha, beta=beta, tol=tol, max_iter=max_iter or 1000,
                            strict=strict)
    return report(clear_claims(network, shock, alpha=alpha, beta=beta, method=method, tol=tol, max_iter=max_iter),
                  strict=strict, what="Clearing did not converge")
