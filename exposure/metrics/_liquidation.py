"""Liquidity mismatch, liquidation curves and oracle dependency.

Liquidation curve of a token
----------------------------
Let the price of collateral token ``c`` fall by ``s ∈ [0, 1]`` relative to every debt token,
all else fixed. A position (collateral ``C``, debt ``D``, liquidation threshold ``LT``, bonus
``b``, at reference prices where every oracle ratio is 1) has health ``H(s) = C(1 − s)·LT / D``
if its oracle sees the fall, and becomes **liquidatable** from ``s*  = 1 − D / (C·LT)`` on
(``s* ≤ 0``: liquidatable already).

Once liquidated, a liquidator repays ``R`` and seizes ``R(1 + b)/o`` of collateral (``o = 1 − s``)
in steps of the close factor, as :mod:`exposure.defi` does. ``C'o − D'(1 + b)`` is the same
after every step; its sign decides the outcome: if ``C(1 − s) ≥ D(1 + b)`` health rises with
each step and no debt is left unbacked; otherwise health falls with each step (the liquidation
spiral), the collateral is seized in full and the lender is left with

.. math::

    \\mathrm{bad}(s) = D - \\frac{C(1 - s)}{1 + b}.

A position whose oracle does not see the fall (``hardcoded`` and ``linear_discount``; and
``exchange_rate`` when the fall is a market depeg, ``move="depeg"``) is never liquidated, and its
bad debt valued at market is ``max(0, D − C(1 − s))``. Either way ``bad_p(s)`` is 0 below a
start ``v_p`` and linear above it, ``bad_p(s) = (D − k) + k·s`` with ``k = C/(1 + b)`` or ``C``,
so the curve of a token at every price point is **one sorted pass**: positions sorted by
``s*`` (liquidatable collateral: a cumulative sum) and by ``v_p`` (bad debt: cumulative sums of
``D − k`` and ``k``), evaluated by binary search at the points. The curves of all tokens are one
sort of the positions by (token, key) and one ``searchsorted`` for all points.

*Liquidatable* is not *lost*: ``liquidatable_collateral`` is the collateral (USD at reference
prices) of positions a liquidator may seize at that fall, ``bad_debt`` the debt that no
collateral backs once the liquidations have run; only the latter is a loss (of the lenders).

Liquidity mismatch
------------------
Per token at one price fall ``price_move``: the collateral liquidatable, the token's market
depth and their ratio, the price impact of selling the liquidatable collateral into that depth
(:func:`exposure.defi.price_impact`: ``min(1, slippage·(Q/depth)^exponent)``), and the bad debt
left (FSB 2023: liquidity mismatch and forced deleveraging; Perez et al. 2021: a 3% price move
makes large amounts liquidatable).

Oracle dependency
-----------------
Per oracle type: positions, collateral and debt, and whether a market depeg of the collateral
triggers liquidations. Only a ``market`` oracle sees a depeg; collateral under the other
oracles cannot be liquidated on a depeg, and its shortfall stays with the lender as bad debt
(IMF 2023 and FSB 2023 list oracle dependency among DeFi's operational fragilities).

References
----------
.. [1] Perez, D., Werner, S. M., Xu, J. and Livshits, B. (2021). Liquidations: DeFi on a
   knife-edge. Financial Cryptography 2021. https://doi.org/10.1007/978-3-662-64331-0_24
.. [2] Qin, K., Zhou, L., Gamito, P., Jovanovic, P. and Gervais, A. (2021). An empirical study
   of DeFi liquidations. IMC 2021. https://doi.org/10.1145/3487552.3487811
.. [3] FSB (2023). The financial stability risks of decentralised finance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._params import check_choice, check_number
from ..defi import price_impact
from ..network import ORACLES, ExposureNetwork
from ._common import MetricSection, node_codes, node_number

__all__ = ["liquidation_curves", "liquidity_mismatch", "oracle_dependency", "CURVE_COLUMNS", "MOVES"]

CURVE_COLUMNS = ("token", "price_fall", "liquidatable_collateral", "bad_debt")
#: What a price fall is: ``value`` (every moving oracle sees it: market and exchange-rate) or
#: ``depeg`` (a market depeg: only market oracles see it).
MOVES = ("value", "depeg")
_MARKET, _EXCHANGE = ORACLES.index("market"), ORACLES.index("exchange_rate")
_KEYSPAN = 4.0           # keys are token·_KEYSPAN + a number in [0, 2]


def _position_arrays(net: ExposureNetwork, move: str):
    p = net.positions
    c, d = node_codes(p["collateral_token"]), node_codes(p["debt_token"])
    C, D = p["collateral"].to_numpy(np.float64), p["debt"].to_numpy(np.float64)
    LT = p["liquidation_threshold"].to_numpy(np.float64)
    b = p["liquidation_bonus"].to_numpy(np.float64)
    oracle = pd.Categorical(p["oracle"].astype(object), categories=list(ORACLES)).codes
    sees = (oracle == _MARKET) | ((oracle == _EXCHANGE) & (move == "value"))
    use = (c != d) & (D > 0)
    return c, C, D, LT, b, sees & use, use


def _keys(tok: np.ndarray, x: np.ndarray) -> np.ndarray:
    return tok * _KEYSPAN + np.clip(x, 0.0, 2.0)


def liquidation_curves(net: ExposureNetwork, *, points: int = 101, move: str = "value",
                       tokens=None) -> pd.DataFrame:
    """Liquidation curve of every collateral token: ``token, price_fall, liquidatable_collateral, bad_debt``.

    Parameters
    ----------
    points : int
        Price points from a fall of 0 to a fall of 100%, evenly spaced (101: every percent).
    move : {"value", "depeg"}
        Which oracles see the fall (see the module notes).
    tokens : list of str, optional
        Only these collateral tokens (default: every token posted as collateral).

    Examples
    --------
    One position: 100 of collateral, 80 of debt, threshold 0.9, bonus 5%, market oracle.
    Liquidatable from ``s* = 1 − 80/90 = 0.111…``; bad debt from ``1 − 1.05·80/100 = 0.16`` on,
    ``80 − 100(1 − s)/1.05``: ``80 − 80/1.05 = 3.8095…`` at ``s = 0.2``:

    >>> import pandas as pd
    >>> from exposure import ExposureNetwork
    >>> nodes = pd.DataFrame({"id": ["USD", "X", "pool", "b"], "kind": ["asset", "asset", "protocol", "position"]})
    >>> edges = pd.DataFrame([{"kind": "collateral", "lender": "pool", "borrower": "b", "collateral_token": "X",
    ...     "collateral": 100.0, "debt_token": "USD", "debt": 80.0, "liquidation_threshold": 0.9,
    ...     "liquidation_bonus": 0.05}])
    >>> curve = liquidation_curves(ExposureNetwork.from_frames(nodes, edges, meta={"version": 2}))
    >>> curve.iloc[[10, 12, 20]][["price_fall", "liquidatable_collateral"]].values.tolist()
    [[0.1, 0.0], [0.12, 100.0], [0.2, 100.0]]
    >>> round(float(curve["bad_debt"].iat[20]), 10)
    3.8095238095
    """
    points = check_number(points, "points", "liquidation_curves", lo=2, integer=True)
    move = check_choice(move, "move", "liquidation_curves", MOVES)
    return _curves(net, np.linspace(0.0, 1.0, points), move, tokens)


def _curves(net: ExposureNetwork, grid: np.ndarray, move: str, tokens=None) -> pd.DataFrame:
    """The curves at the price falls ``grid`` (sorted, in [0, 1]): one sort of the positions by
    (token, key) and one binary search for every (token, point)."""
    if not len(net.positions):
        return pd.DataFrame(columns=list(CURVE_COLUMNS))
    ids = net.node_ids.to_numpy(dtype=object)
    c, C, D, LT, b, liq, use = _position_arrays(net, move)
    toks = np.unique(c[use])
    if tokens is not None:
        toks = np.intersect1d(toks, net.index_of(list(tokens)))
    if not len(toks):
        return pd.DataFrame(columns=list(CURVE_COLUMNS))
    points = len(grid)
    tix = np.full(net.n, -1, np.int64)
    tix[toks] = np.arange(len(toks))
    sel = use & (tix[c] >= 0)
    t = tix[c[sel]].astype(np.float64)
    Cs, Ds, LTs, bs, ls = C[sel], D[sel], LT[sel], b[sel], liq[sel]
    with np.errstate(divide="ignore", invalid="ignore"):
        sstar = np.where(ls & (LTs > 0), 1.0 - Ds / (Cs * LTs), np.inf)       # liquidatable from here
        k = np.where(ls, Cs / (1.0 + bs), Cs)                                    # bad(s) = D − k + k·s
        start = np.where(k > 0, 1.0 - Ds / k, -np.inf)                           # bad debt from here
    start = np.where(ls, np.maximum(start, sstar), start)
    s = np.tile(grid, len(toks))
    queries = _keys(np.repeat(np.arange(len(toks)), points).astype(np.float64), s)
    first = np.arange(len(toks)) * _KEYSPAN

    def sweep(key, *weights):
        order = np.argsort(key, kind="stable")
        ks = key[order]
        hi = np.searchsorted(ks, queries, side="right")
        lo = np.repeat(np.searchsorted(ks, first, side="left"), points)
        return [np.r_[0.0, np.cumsum(w[order])][hi] - np.r_[0.0, np.cumsum(w[order])][lo] for w in weights]

    fin = np.isfinite(sstar)
    (liquidatable,) = sweep(_keys(t[fin], sstar[fin]), Cs[fin])
    intercept, slope = sweep(_keys(t, start), Ds - k, k)
    bad = np.maximum(0.0, intercept + s * slope)
    return pd.DataFrame({"token": np.repeat(ids[toks], points), "price_fall": s,
                         "liquidatable_collateral": liquidatable, "bad_debt": bad})


def liquidity_mismatch(net: ExposureNetwork, *, price_move: float = 0.1, points: int = 101,
                       move: str = "value") -> MetricSection:
    """The ``liquidity_mismatch`` section: ``tokens`` at ``price_move`` and the ``curves`` (see the module notes)."""
    price_move = check_number(price_move, "price_move", "liquidity_mismatch", lo=0.0, hi=1.0)
    curves = liquidation_curves(net, points=points, move=move)
    one = _curves(net, np.array([float(price_move)]), move)
    if len(one):
        toks = net.index_of(one["token"].tolist())
        depth = node_number(net, "depth", np.nan)[toks]
        slip = node_number(net, "depth_slippage", np.nan)[toks]
        expo = node_number(net, "impact_exponent", 1.0)[toks]
        Q = one["liquidatable_collateral"].to_numpy(np.float64)
        known = np.isfinite(depth) & np.isfinite(slip)
        impact = price_impact(Q, depth, slip, expo)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(known & (depth > 0), Q / depth, np.where(known & (Q > 0), np.inf, np.nan))
        tokens = pd.DataFrame({"token": one["token"], "collateral": _posted(net)[toks], "liquidatable": Q,
                               "depth": depth, "liquidatable_to_depth": ratio,
                               "price_impact": np.where(known, impact, np.nan), "bad_debt": one["bad_debt"]})
        tokens = tokens.sort_values("collateral", ascending=False, kind="stable").reset_index(drop=True)
    else:
        tokens = pd.DataFrame(columns=["token", "collateral", "liquidatable", "depth", "liquidatable_to_depth",
                                       "price_impact", "bad_debt"])
    values = {"price_move": float(price_move), "move": move, "points": int(points),
              "liquidatable": float(tokens["liquidatable"].sum()) if len(tokens) else 0.0,
              "bad_debt": float(tokens["bad_debt"].sum()) if len(tokens) else 0.0,
              "tokens_beyond_depth": int((tokens["liquidatable_to_depth"] > 1).sum()) if len(tokens) else 0}
    return MetricSection("liquidity_mismatch", values, {"tokens": tokens, "curves": curves})


def _posted(net: ExposureNetwork) -> np.ndarray:
    p = net.positions
    return np.bincount(node_codes(p["collateral_token"]), weights=p["collateral"].to_numpy(np.float64),
                       minlength=net.n)


def oracle_dependency(net: ExposureNetwork) -> MetricSection:
    """The ``oracle_dependency`` section: collateral per oracle type and what a depeg cannot liquidate."""
    p = net.positions
    rows = []
    total = float(p["collateral"].sum()) if len(p) else 0.0
    for name in ORACLES:
        m = (p["oracle"].astype(object) == name).to_numpy() if len(p) else np.zeros(0, bool)
        C = float(p["collateral"].to_numpy(np.float64)[m].sum()) if len(p) else 0.0
        D = float(p["debt"].to_numpy(np.float64)[m].sum()) if len(p) else 0.0
        rows.append({"oracle": name, "positions": int(m.sum()), "collateral": C, "debt": D,
                     "share_of_collateral": C / total if total > 0 else float("nan"),
                     "liquidates_on_value_fall": name in ("market", "exchange_rate"),
                     "liquidates_on_depeg": name == "market",
                     "not_liquidatable_on_depeg": 0.0 if name == "market" else C})
    table = pd.DataFrame(rows)
    stuck = float(table["not_liquidatable_on_depeg"].sum())
    values = {"collateral": total, "not_liquidatable_on_depeg": stuck,
              "not_liquidatable_on_depeg_share": stuck / total if total > 0 else float("nan"),
              "not_liquidatable_on_value_fall": float(table.loc[~table["liquidates_on_value_fall"], "collateral"].sum())}
    return MetricSection("oracle_dependency", values, {"oracles": table})
