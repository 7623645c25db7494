"""Vectorised building blocks of the cross-collateral mechanics (see :mod:`exposure.defi`).

Everything here works on flat numpy arrays: one entry per node, per holding or
per secured position. Nothing loops over nodes or positions in Python; values
are aggregated by node or by token with :func:`numpy.bincount`.

Notation (all amounts in USD at the graph's reference prices):

* ``m`` market price ratios (current / reference price), one per node;
* ``r`` redemption value ratios, one per node (1 for a node without issuer);
* ``C``, ``D`` remaining collateral and debt of each position;
* ``o`` the oracle's price ratio of collateral to debt, one per position;
* ``den`` the position of a node's (or a claim's) ``denomination`` asset, ``-1`` for none:
  an amount denominated in an asset ``a`` is worth ``amount · m_a`` in USD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..clearing import LossBearing
from ..schema import ORACLES

__all__ = ["MechanicsModel", "PositionState", "price_impact", "oracle_ratio", "health",
           "liquidation_step", "position_values", "external_values", "redemption_values",
           "market_prices", "denomination_factor"]

MARKET, EXCHANGE_RATE, HARDCODED, LINEAR_DISCOUNT = range(4)
assert ORACLES == ("market", "exchange_rate", "hardcoded", "linear_discount")

#: A position is liquidatable when its health is below ``1 - HEALTH_EPS``: this keeps
#: a position that a liquidation has just brought back to health 1 from flickering
#: on rounding errors.
HEALTH_EPS = 1e-12


def _codes(column) -> np.ndarray:
    return np.asarray(column.cat.codes, dtype=np.int64)


def _float_column(frame, name, default):
    if name not in frame.columns:
        return np.full(len(frame), default, dtype=np.float64)
    return frame[name].to_numpy(dtype=np.float64, na_value=np.nan)


@dataclass(frozen=True, eq=False)
class MechanicsModel:
    """The arrays of one network that the mechanics loop needs, extracted once.

    Attributes
    ----------
    n : int
        Number of nodes.
    is_asset, is_token : ndarray of bool
        Base assets (kind ``asset``) and tokens
        (:meth:`~exposure.network.ExposureNetwork.is_token`; their equity is excluded from losses).
    issuer : ndarray of int
        Position of each node's issuer, ``-1`` for a node without issuer.
    depth, slippage, exponent : ndarray of float
        Market depth (NaN: no price impact), slippage at that depth, impact
        exponent (1 where absent).
    declared : ndarray
        The declared ``external_assets`` field (not revalued by prices).
    ac_holder, ac_asset, ac_amount : ndarray
        Claims on base assets (holdings of a base asset in version 1 form).
    h_holder, h_token, h_amount : ndarray
        Holding edges.
    lender, borrower, ctoken, dtoken, C0, D0, lt, bonus, close, oracle : ndarray
        Secured positions: node positions, collateral and debt at reference
        prices, liquidation threshold, bonus, close factor, oracle code.
    Pi, pbar : csr_array, ndarray
        Relative liabilities and total obligations of the claim network at reference prices.
    denomination : ndarray of int
        Position of each node's ``denomination`` asset (the unit its token redeems in),
        ``-1`` for none.
    L, x : csr_array, ndarray
        Liabilities at reference prices and external liabilities.
    claim_pos, claim_amount, claim_den : ndarray
        For every claim in ``L`` that is denominated in an asset: its position in ``L.data``,
        its amount at reference prices and the position of its denomination asset. Empty
        when no claim is denominated (``L`` is then fixed).
    bearing : LossBearing
        Who bears each node's loss: ``liability_type`` and first-loss buffers.
    """

    n: int
    is_asset: np.ndarray
    is_token: np.ndarray
    issuer: np.ndarray
    depth: np.ndarray
    slippage: np.ndarray
    exponent: np.ndarray
    declared: np.ndarray
    ac_holder: np.ndarray
    ac_asset: np.ndarray
    ac_amount: np.ndarray
    h_holder: np.ndarray
    h_token: np.ndarray
    h_amount: np.ndarray
    lender: np.ndarray
    borrower: np.ndarray
    ctoken: np.ndarray
    dtoken: np.ndarray
    C0: np.ndarray
    D0: np.ndarray
    lt: np.ndarray
    bonus: np.ndarray
    close: np.ndarray
    oracle: np.ndarray
    Pi: sp.csr_array
    pbar: np.ndarray
    denomination: np.ndarray
    L: sp.csr_array
    x: np.ndarray
    claim_pos: np.ndarray
    claim_amount: np.ndarray
    claim_den: np.ndarray
    bearing: LossBearing

    @classmethod
    def from_network(cls, network) -> "MechanicsModel":
        nodes = network.nodes
        n = network.n
        kinds = network.kinds
        is_asset = kinds == "asset"
        issuer = _reference(nodes, "issuer")
        denomination = _reference(nodes, "denomination")
        claims = network.claims
        d, c = _codes(claims["debtor"]), _codes(claims["creditor"])
        a = claims["amount"].to_numpy(dtype=np.float64)
        on_asset = is_asset[d] if n and len(d) else np.zeros(len(d), bool)
        claim_pos, claim_amount, claim_den = _denominated_claims(network, d, c, a, on_asset, denomination)
        h, p = network.holdings, network.positions
        oracle = (pd.Categorical(p["oracle"].to_numpy(dtype=object), categories=list(ORACLES)).codes
                  if len(p) else np.zeros(0, np.int8))
        return cls(
            n=n,
            is_asset=is_asset,
            is_token=network.is_token(),
            issuer=np.asarray(issuer, dtype=np.int64),
            depth=_float_column(nodes, "depth", np.nan),
            slippage=_float_column(nodes, "depth_slippage", np.nan),
            exponent=np.nan_to_num(_float_column(nodes, "impact_exponent", 1.0), nan=1.0),
            declared=nodes["external_assets"].to_numpy(dtype=np.float64),
            ac_holder=c[on_asset], ac_asset=d[on_asset], ac_amount=a[on_asset],
            h_holder=_codes(h["holder"]) if len(h) else np.zeros(0, np.int64),
            h_token=_codes(h["token"]) if len(h) else np.zeros(0, np.int64),
            h_amount=h["amount"].to_numpy(dtype=np.float64) if len(h) else np.zeros(0),
            lender=_codes(p["lender"]) if len(p) else np.zeros(0, np.int64),
            borrower=_codes(p["borrower"]) if len(p) else np.zeros(0, np.int64),
            ctoken=_codes(p["collateral_token"]) if len(p) else np.zeros(0, np.int64),
            dtoken=_codes(p["debt_token"]) if len(p) else np.zeros(0, np.int64),
            C0=p["collateral"].to_numpy(dtype=np.float64) if len(p) else np.zeros(0),
            D0=p["debt"].to_numpy(dtype=np.float64) if len(p) else np.zeros(0),
            lt=p["liquidation_threshold"].to_numpy(dtype=np.float64) if len(p) else np.zeros(0),
            bonus=p["liquidation_bonus"].to_numpy(dtype=np.float64) if len(p) else np.zeros(0),
            close=p["close_factor"].to_numpy(dtype=np.float64) if len(p) else np.zeros(0),
            oracle=np.asarray(oracle, dtype=np.int8),
            Pi=network.relative_liabilities(),
            pbar=network.total_obligations(),
            denomination=denomination,
            L=network.liabilities,
            x=np.asarray(network.external_liabilities, dtype=np.float64),
            claim_pos=claim_pos, claim_amount=claim_amount, claim_den=claim_den,
            bearing=LossBearing.from_network(network),
        )

    @property
    def n_positions(self) -> int:
        return len(self.C0)

    @property
    def has_denominated_claims(self) -> bool:
        """True when some claim's face value follows an asset's price."""
        return len(self.claim_pos) > 0

    def claim_factors(self, m: np.ndarray) -> np.ndarray:
        """Price ratio ``m_a`` of the denomination asset of every denominated claim."""
        return m[self.claim_den]

    def obligations(self, m: np.ndarray):
        """``(L, Π, p̄)`` at the price state ``m``.

        A claim denominated in asset ``a`` has face value ``amount · m_a``; the others keep
        their amount. Only ``L.data`` is rescaled (same sparsity pattern), so this is one
        vectorised pass over the denominated claims and never densifies ``L``:
        ``p̄ = L·1 + x`` and ``Π = diag(1/p̄)·L`` (rows of nodes that owe nothing are zero).
        """
        if not self.has_denominated_claims:
            return self.L, self.Pi, self.pbar
        # duplicates are summed in L, possibly mixing denominated and fixed amounts: move each entry
        # by what its denominated part gains or loses, amount·(m_a − 1)
        data = self.L.data + np.bincount(self.claim_pos, weights=self.claim_amount * (m[self.claim_den] - 1.0),
                                         minlength=len(self.L.data))
        data = np.maximum(data, 0.0)
        L = sp.csr_array((data, self.L.indices, self.L.indptr), shape=self.L.shape)
        rows = np.repeat(np.arange(self.n), np.diff(self.L.indptr))
        pbar = np.bincount(rows, weights=data, minlength=self.n) + self.x
        inv = np.divide(1.0, pbar, out=np.zeros_like(pbar), where=pbar > 0)
        Pi = sp.csr_array((data * inv[rows], self.L.indices, self.L.indptr), shape=self.L.shape)
        return L, Pi, pbar

    @property
    def has_mechanics(self) -> bool:
        """True when the network has holdings or secured positions (format version 2)."""
        return len(self.h_amount) > 0 or len(self.C0) > 0


def _reference(nodes: pd.DataFrame, field: str) -> np.ndarray:
    """Positions of the nodes a reference field names (``issuer``, ``denomination``), -1 where absent."""
    if field not in nodes.columns:
        return np.full(len(nodes), -1, dtype=np.int64)
    ref = nodes[field].to_numpy(dtype=object)
    return np.asarray(nodes.index.get_indexer(np.where(pd.isna(ref), None, ref).astype(object)), dtype=np.int64)


def _denominated_claims(network, d, c, a, on_asset, node_den):
    """Position in ``L.data``, amount and denomination asset of every denominated claim in ``L``.

    A claim's denomination is its own ``denomination`` field; failing that, a claim whose
    creditor is a node with a ``denomination`` (an issuer's obligation to its token, the
    token's backing) takes the creditor's. Claims on base assets are not in ``L`` (they are
    revalued at the asset's price anyway).
    """
    claims = network.claims
    den = node_den[c] if len(c) else np.zeros(0, np.int64)
    if "denomination" in claims.columns:
        own = claims["denomination"].to_numpy(dtype=object)
        own_pos = network.nodes.index.get_indexer(np.where(pd.isna(own), None, own).astype(object))
        den = np.where(own_pos >= 0, own_pos, den)
    keep = (den >= 0) & ~on_asset
    if not keep.any():
        empty = np.zeros(0, np.int64)
        return empty, np.zeros(0), empty
    L = network.liabilities
    n = network.n
    # csr data of L (duplicates summed, indices sorted) is in the order of the sorted keys row·n + col
    keys = L.indices.astype(np.int64) + np.repeat(np.arange(n, dtype=np.int64), np.diff(L.indptr)) * n
    kd = d[keep].astype(np.int64) * n + c[keep]
    pos = np.searchsorted(keys, kd)
    return pos.astype(np.int64), a[keep], den[keep].astype(np.int64)


def _per_row(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``values`` (one per node or per position) shaped to broadcast against ``like``, which is either
    one state (shape ``(n,)``) or a block of states, one column per draw (shape ``(n, k)``)."""
    return values.reshape(values.shape + (1,) * (np.ndim(like) - 1))


def denomination_factor(model: "MechanicsModel", m: np.ndarray) -> np.ndarray:
    """``m_den`` for every node with a ``denomination`` asset, 1 for the others (``m`` of shape
    ``(n,)``, or ``(n, k)`` for a block of draws)."""
    den = model.denomination
    if not len(den):
        return np.ones((0,) + np.shape(m)[1:])
    return np.where(_per_row(den >= 0, m), m[np.maximum(den, 0)], 1.0)


@dataclass
class PositionState:
    """Mutable state of every position during the loop (arrays of length n_positions).

    ``C``, ``D``: remaining collateral and debt (USD at reference prices);
    ``repaid``: cumulative debt repaid by liquidations; ``seized``: cumulative
    collateral seized (USD at reference price of the collateral token).
    """

    C: np.ndarray
    D: np.ndarray
    repaid: np.ndarray
    seized: np.ndarray

    @classmethod
    def initial(cls, model: MechanicsModel) -> "PositionState":
        k = model.n_positions
        return cls(model.C0.copy(), model.D0.copy(), np.zeros(k), np.zeros(k))

    def copy(self) -> "PositionState":
        return PositionState(self.C.copy(), self.D.copy(), self.repaid.copy(), self.seized.copy())


# ----------------------------------------------------------------------------- prices
def price_impact(Q: np.ndarray, depth: np.ndarray, slippage: np.ndarray, exponent: np.ndarray,
                 depth_factor: np.ndarray | float = 1.0) -> np.ndarray:
    """Fire-sale price impact ``impact(Q) = min(1, s · (Q / (D·f))^α)``.

    Parameters
    ----------
    Q : ndarray
        Cumulative USD (at reference price) sold of each token.
    depth, slippage, exponent : ndarray
        ``D`` (USD that can be sold at slippage ``s``), ``s`` and ``α``. A token
        whose depth or slippage is NaN has no price impact.
    depth_factor : ndarray or float
        ``f``, the scenario's scaling of depth (1 = normal liquidity). A depth of
        zero gives impact 1 (the price goes to zero) as soon as anything is sold.

    Examples
    --------
    Selling the whole depth moves the price by the slippage, four times the depth
    at α = 1/2 moves it by twice the slippage:

    >>> price_impact(np.array([1e6, 4e6]), np.array([1e6, 1e6]), np.array([0.02, 0.02]),
    ...              np.array([1.0, 0.5])).tolist()
    [0.02, 0.04]
    """
    Q = np.asarray(Q, dtype=np.float64)
    eff = depth * depth_factor
    active = np.isfinite(eff) & np.isfinite(slippage) & (Q > 0)
    out = np.zeros_like(Q)
    if not active.any():
        return out
    q, dd, s, a = Q[active], eff[active], slippage[active], exponent[active]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        val = np.where(dd > 0, s * (q / np.where(dd > 0, dd, 1.0)) ** a, 1.0)
    out[active] = np.minimum(1.0, val)
    return out


def redemption_values(model: MechanicsModel, payments: np.ndarray, forged: np.ndarray,
                      fundamental: np.ndarray | float = 1.0, pbar: np.ndarray | None = None,
                      m: np.ndarray | None = None) -> np.ndarray:
    """``r_t = R_k · m_den(t) / (1 + forged_t)`` with ``R_k = p_k / p̄_k`` the recovery rate of ``t``'s issuer ``k``.

    ``R_k = 1`` when ``p̄_k = 0``; a node without issuer has ``r = fundamental · m_den / (1 + forged)``,
    ``fundamental`` being its fundamental price ratio (``1 + price_change`` for a base asset).
    ``m_den`` is the market price ratio of the node's ``denomination`` asset (1 without one, or
    when ``m`` is not given); ``pbar`` the current obligations (default: at reference prices).
    Every array is one state (shape ``(n,)``) or a block of draws (shape ``(n, k)``).
    """
    payments = np.asarray(payments, dtype=np.float64)
    pbar = model.pbar if pbar is None else pbar
    R = np.divide(payments, pbar, out=np.ones_like(payments), where=pbar > 0)
    R = np.minimum(R, 1.0)
    rec = np.where(_per_row(model.issuer >= 0, R), R[np.maximum(model.issuer, 0)], fundamental)
    if m is not None:
        rec = rec * denomination_factor(model, m)
    return rec / (1.0 + forged)


def market_prices(model: MechanicsModel, r: np.ndarray, Q: np.ndarray, price_factor: np.ndarray,
                  depth_factor: np.ndarray) -> np.ndarray:
    """``m = r · price_factor · (1 − impact(Q))``.

    ``price_factor`` is ``1 + depeg`` for a node without issuer (its price change is in ``r``) and
    ``(1 + change)(1 + depeg)`` for a token with an issuer.
    """
    imp = price_impact(Q, model.depth, model.slippage, model.exponent, depth_factor)
    return r * price_factor * (1.0 - imp)


# -------------------------------------------------------------------------- positions
def oracle_ratio(model: MechanicsModel, m: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Oracle price ratio of collateral to debt, one per position.

    ``market``: ``m_c / m_d``; ``exchange_rate``: ``r_c / m_d``; ``hardcoded`` and
    ``linear_discount``: 1. A debt token at price 0 gives ``inf`` (never liquidatable). ``m`` and
    ``r`` are one state (shape ``(n,)``) or a block of draws (shape ``(n, k)``).
    """
    md = m[model.dtoken]
    code = _per_row(model.oracle, md)
    with np.errstate(divide="ignore", invalid="ignore"):
        o = np.where(code == MARKET, m[model.ctoken] / md,
                     np.where(code == EXCHANGE_RATE, r[model.ctoken] / md, 1.0))
    return np.where(np.isnan(o), np.inf, o)


def health(model: MechanicsModel, state: PositionState, o: np.ndarray) -> np.ndarray:
    """Health factor ``H = C'·o·LT / D'`` (``inf`` for a position without debt)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        H = state.C * o * model.lt / state.D
    return np.where(state.D > 0, np.nan_to_num(H, nan=np.inf), np.inf)


def liquidation_step(model: MechanicsModel, state: PositionState, o: np.ndarray, m: np.ndarray):
    """One liquidation step on every liquidatable position, in place.

    A position whose oracle moves (``market`` or ``exchange_rate``), whose
    health is below 1 and whose liquidation pays the liquidator at market
    prices (``(1 + bonus)·m_c ≥ o·m_d``: the seized collateral is worth at least
    the debt repaid) is liquidated: repaid ``R = min(close·D', C'·o/(1+bonus))``,
    seized ``S = R·(1+bonus)/o``; ``C' −= S``, ``D' −= R``. With a ``market``
    oracle a liquidation always pays; with ``exchange_rate`` it stops paying once
    the market price is more than the bonus below the redemption value, and
    the position is left to bad debt.

    Returns
    -------
    liquidated : ndarray of bool
        Positions liquidated in this step.
    sold : ndarray
        Seized collateral per position in this step (USD at reference price);
        the caller adds it to the sold volume of the collateral token.
    """
    H = health(model, state, o)
    moving = (model.oracle == MARKET) | (model.oracle == EXCHANGE_RATE)
    with np.errstate(invalid="ignore"):
        pays = (1.0 + model.bonus) * m[model.ctoken] >= o * m[model.dtoken] * (1.0 - HEALTH_EPS)
    liq = moving & (H < 1.0 - HEALTH_EPS) & np.isfinite(o) & (o > 0) & pays
    R = np.zeros(model.n_positions)
    S = np.zeros(model.n_positions)
    if liq.any():
        ol, b = o[liq], model.bonus[liq]
        Rl = np.minimum(model.close[liq] * state.D[liq], state.C[liq] * ol / (1.0 + b))
        Sl = np.minimum(Rl * (1.0 + b) / ol, state.C[liq])
        R[liq], S[liq] = Rl, Sl
        state.C[liq] -= Sl
        state.D[liq] -= Rl
        state.repaid[liq] += Rl
        state.seized[liq] += Sl
        liq = liq & (R > 0)
    return liq, S


def position_values(model: MechanicsModel, state: PositionState, m: np.ndarray):
    """Lender value, borrower value and bad debt of every position at market prices ``m``.

    lender = repaid·m_d + min(D'·m_d, C'·m_c); borrower = max(0, C'·m_c − D'·m_d);
    bad debt = max(0, D'·m_d − C'·m_c). Lender + borrower = repaid·m_d + C'·m_c.
    """
    md = m[model.dtoken]
    cv = state.C * m[model.ctoken]
    dv = state.D * md
    lender = state.repaid * md + np.minimum(dv, cv)
    borrower = np.maximum(0.0, cv - dv)
    bad = np.maximum(0.0, dv - cv)
    return lender, borrower, bad


def owned_values(model: MechanicsModel, m: np.ndarray) -> np.ndarray:
    """External assets a node owns outright: declared + base-asset claims·m_a + holdings·m_t."""
    n = model.n
    v = model.declared.copy()
    if len(model.ac_amount):
        v = v + np.bincount(model.ac_holder, weights=model.ac_amount * m[model.ac_asset], minlength=n)
    if len(model.h_amount):
        v = v + np.bincount(model.h_holder, weights=model.h_amount * m[model.h_token], minlength=n)
    return v


def external_values(model: MechanicsModel, m: np.ndarray, state: PositionState,
                    loss_fraction: np.ndarray, loss_amount: np.ndarray):
    """External assets ``e`` of every node for the clearing.

    ``e = max(0, (1 − f)·owned − amount) + Σ lender values + Σ borrower values``,
    where ``owned`` is :func:`owned_values` and ``f``, ``amount`` the asset-loss shock.

    Returns ``(e, bad_debt_per_position, lender_values, borrower_values)``.
    """
    n = model.n
    e = np.maximum(0.0, (1.0 - loss_fraction) * owned_values(model, m) - loss_amount)
    if model.n_positions:
        lv, bv, bad = position_values(model, state, m)
        e = e + np.bincount(model.lender, weights=lv, minlength=n) + np.bincount(model.borrower, weights=bv,
                                                                                minlength=n)
    else:
        lv = bv = bad = np.zeros(0)
    return e, bad, lv, bv
