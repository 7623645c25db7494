"""Leverage: assets over equity per protocol, and the effective leverage of collateral loops.

Protocols
---------
``leverage = assets / equity`` at face value (:meth:`exposure.network.ExposureNetwork.balance_sheet`,
:func:`exposure.network.leverage_ratio`: infinite where equity ≤ 0), one row per protocol.

Loops
-----
A holder of token ``c`` posts it as collateral, borrows ``d`` at loan-to-value ``λ`` and turns
``d`` back into ``c`` (mints or buys it), again and again. Run to the end, each dollar of own
capital carries ``1 + λ + λ² + … = 1 / (1 − λ)`` of collateral: the **effective leverage** of the
loop. A loop through several markets has ``λ`` equal to the product of their loan-to-values.
``λ`` of a position is its ``ltv`` field where the graph gives one, else its liquidation
threshold (an upper bound).

Two kinds of rows:

* ``position``: an aggregate looping position — a borrower whose debt token is what its
  collateral token redeems into (the collateral token's ``denomination``, or a token or base
  asset its issuer holds as backing: WETH borrowed against wstETH, stETH against rsETH).
  Positions are aggregated per lender, collateral token and debt token; ``ltv_product`` is the
  collateral-weighted ``λ``, and ``position_leverage = C / (C − D)`` the leverage the aggregate
  position shows now (infinite when ``D ≥ C``).
* ``cycle``: a cycle of the token graph whose edges are *borrow* edges ``c → d`` (some position
  posts ``c`` and owes ``d``; weight the largest ``λ`` among them) and *mint* edges ``d → c``
  (``c`` redeems into ``d``, weight 1). A cycle with at least one borrow edge is a loop through
  one or several markets; ``ltv_product`` is the product of its borrow weights. The search is
  bounded: simple cycles of at most ``max_length`` edges, at most ``max_examined`` of them
  examined; whether the search was complete is reported.

References
----------
.. [1] FSB (2023). The financial stability risks of decentralised finance (leverage, loops).
.. [2] Heimbach, L. and Huang, W. (2024). DeFi leverage. BIS Working Paper 1171.
.. [3] ESRB (2023). Crypto-assets and decentralised finance (leverage of crypto conglomerates).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from ..network import ExposureNetwork, leverage_ratio
from ._common import MetricSection, node_codes, node_text, position_ltv, protocol_mask

__all__ = ["leverage_metrics", "redemption_pairs", "LOOP_COLUMNS"]

LOOP_COLUMNS = ("cycle", "ltv_product", "effective_leverage", "kind", "lender", "positions", "collateral", "debt",
                "position_leverage")


def _effective(lam: np.ndarray) -> np.ndarray:
    lam = np.asarray(lam, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(lam < 1.0, 1.0 / (1.0 - np.minimum(lam, 1.0)), np.inf)


def redemption_pairs(net: ExposureNetwork) -> np.ndarray:
    """Keys ``c·n + u`` of the pairs "token ``c`` redeems into ``u``": ``u`` is ``c``'s ``denomination``,
    or a token or base asset that ``c``'s issuer holds (holdings and claims on base assets)."""
    n = net.n
    keys = []
    den = net.node_ids.get_indexer(node_text(net, "denomination").astype(object))
    has = np.flatnonzero(den >= 0)
    keys.append(has.astype(np.int64) * n + den[has])
    issuer = net.node_ids.get_indexer(node_text(net, "issuer").astype(object))
    tokens = np.flatnonzero(issuer >= 0)
    if len(tokens):
        # what each issuer holds: holdings of tokens or assets, claims on base assets
        held_by, held = [], []
        if len(net.holdings):
            held_by.append(node_codes(net.holdings["holder"]))
            held.append(node_codes(net.holdings["token"]))
        if len(net.claims):
            d = node_codes(net.claims["debtor"])
            on_asset = net.kinds[d] == "asset"
            held_by.append(node_codes(net.claims["creditor"])[on_asset])
            held.append(d[on_asset])
        if held_by:
            hb, hh = np.concatenate(held_by), np.concatenate(held)
            frame = pd.DataFrame({"issuer": issuer[tokens], "token": tokens}).merge(
                pd.DataFrame({"issuer": hb, "held": hh}), on="issuer")
            keys.append(frame["token"].to_numpy(np.int64) * n + frame["held"].to_numpy(np.int64))
    return np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)


def _protocol_table(net: ExposureNetwork) -> pd.DataFrame:
    assets, obligations = net.balance_sheet()
    equity = assets - obligations
    prot = np.flatnonzero(protocol_mask(net))
    lev = leverage_ratio(assets[prot], equity[prot])
    frame = pd.DataFrame({"node": net.node_ids.to_numpy(dtype=object)[prot], "assets": assets[prot],
                          "equity": equity[prot], "leverage": lev})
    order = np.argsort(-np.where(np.isnan(lev), -np.inf, lev), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def _position_loops(net: ExposureNetwork, pairs: np.ndarray, lam: np.ndarray) -> pd.DataFrame:
    p = net.positions
    if not len(p):
        return pd.DataFrame(columns=list(LOOP_COLUMNS))
    n = net.n
    c, d = node_codes(p["collateral_token"]), node_codes(p["debt_token"])
    loop = np.isin(c * n + d, pairs)
    if not loop.any():
        return pd.DataFrame(columns=list(LOOP_COLUMNS))
    C = p["collateral"].to_numpy(np.float64)[loop]
    D = p["debt"].to_numpy(np.float64)[loop]
    g = pd.DataFrame({"lender": node_codes(p["lender"])[loop], "c": c[loop], "d": d[loop], "C": C, "D": D,
                      "lC": lam[loop] * C, "one": 1})
    agg = g.groupby(["lender", "c", "d"], sort=True).sum().reset_index()
    ids = net.node_ids.to_numpy(dtype=object)
    C, D = agg["C"].to_numpy(), agg["D"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        lam_g = np.where(C > 0, agg["lC"].to_numpy() / C, np.nan)
        pos_lev = np.where(C > D, C / (C - D), np.inf)
    cyc = [f"{ids[a]} -> {ids[b]} -> {ids[a]}" for a, b in zip(agg["c"], agg["d"])]
    return pd.DataFrame({"cycle": cyc, "ltv_product": lam_g, "effective_leverage": _effective(lam_g),
                         "kind": "position", "lender": ids[agg["lender"].to_numpy()],
                         "positions": agg["one"].to_numpy(np.int64), "collateral": C, "debt": D,
                         "position_leverage": pos_lev})


def _token_cycles(net: ExposureNetwork, pairs: np.ndarray, lam: np.ndarray, max_length: int, max_examined: int,
                  max_cycles: int):
    import networkx as nx                       # slow to import; only this search needs it

    p = net.positions
    n = net.n
    G = nx.DiGraph()
    if len(p):
        c, d = node_codes(p["collateral_token"]), node_codes(p["debt_token"])
        ok = c != d
        e = pd.DataFrame({"c": c[ok], "d": d[ok], "lam": lam[ok], "one": 1}).groupby(["c", "d"]).agg(
            lam=("lam", "max"), positions=("one", "sum")).reset_index()
        for a, b, w, k in e.itertuples(index=False, name=None):
            G.add_edge(int(a), int(b), weight=float(w), borrow=True, positions=int(k))
    for key in pairs:
        tok, under = divmod(int(key), n)
        if tok != under and not G.has_edge(under, tok):
            G.add_edge(under, tok, weight=1.0, borrow=False, positions=0)
    rows, examined, complete = [], 0, True
    ids = net.node_ids.to_numpy(dtype=object)
    gen = nx.simple_cycles(G, length_bound=max_length)
    for cycle in itertools.islice(gen, max_examined + 1):
        examined += 1
        if examined > max_examined:
            complete = False
            examined -= 1
            break
        edges = list(zip(cycle, cycle[1:] + cycle[:1]))
        borrow = [G.edges[e] for e in edges if G.edges[e]["borrow"]]
        if not borrow:
            continue
        lam_c = math.prod(b["weight"] for b in borrow)
        k = int(cycle.index(min(cycle)))
        cycle = cycle[k:] + cycle[:k]
        rows.append({"cycle": " -> ".join(str(ids[i]) for i in cycle + cycle[:1]), "ltv_product": lam_c,
                     "positions": int(sum(b["positions"] for b in borrow))})
    frame = pd.DataFrame(rows, columns=["cycle", "ltv_product", "positions"])
    n_loops = len(frame)
    frame = frame.sort_values(["ltv_product", "cycle"], ascending=[False, True], kind="stable").head(max_cycles)
    out = pd.DataFrame({"cycle": frame["cycle"], "ltv_product": frame["ltv_product"],
                        "effective_leverage": _effective(frame["ltv_product"].to_numpy()), "kind": "cycle",
                        "lender": None, "positions": frame["positions"].astype(np.int64), "collateral": np.nan,
                        "debt": np.nan, "position_leverage": np.nan})
    return out.reset_index(drop=True), {"cycles_examined": examined, "cycle_search_complete": complete,
                                        "loop_cycles": n_loops}


def leverage_metrics(net: ExposureNetwork, *, max_length: int = 4, max_examined: int = 10_000,
                     max_cycles: int = 50) -> MetricSection:
    """The ``leverage`` section: ``protocols`` (``node, assets, equity, leverage``) and ``loops``
    (``cycle, ltv_product, effective_leverage`` and the columns of :data:`LOOP_COLUMNS`).

    Definitions in the module notes (FSB 2023 and ESRB 2023 ask for leverage per protocol and
    per loop). Scalars: the largest effective leverage of a loop, the collateral and debt in
    aggregate looping positions, and the record of the bounded cycle search.

    Examples
    --------
    A looper posts 100 of stETH (redeemable in ETH) at a lender and owes 80 of ETH at LTV 0.9:
    ``λ = 0.9``, effective leverage ``1 / (1 − 0.9) = 10``, the position shows ``100 / 20 = 5``:

    >>> import pandas as pd
    >>> from exposure import ExposureNetwork
    >>> nodes = pd.DataFrame({"id": ["ETH", "stETH", "lender", "looper"],
    ...                       "kind": ["asset", "token", "protocol", "position"],
    ...                       "denomination": [None, "ETH", None, None]})
    >>> edges = pd.DataFrame([{"kind": "collateral", "lender": "lender", "borrower": "looper",
    ...     "collateral_token": "stETH", "collateral": 100.0, "debt_token": "ETH", "debt": 80.0,
    ...     "liquidation_threshold": 0.95, "ltv": 0.9}])
    >>> s = leverage_metrics(ExposureNetwork.from_frames(nodes, edges, meta={"version": 2}))
    >>> row = s.tables["loops"].iloc[0]
    >>> row["cycle"], round(float(row["effective_leverage"]), 12), float(row["position_leverage"])
    ('stETH -> ETH -> stETH', 10.0, 5.0)
    """
    lam = position_ltv(net) if len(net.positions) else np.zeros(0)
    pairs = redemption_pairs(net)
    positions = _position_loops(net, pairs, lam)
    cycles, record = _token_cycles(net, pairs, lam, max_length, max_examined, max_cycles)
    loops = pd.concat([x for x in (positions, cycles) if len(x)], ignore_index=True) \
        if len(positions) or len(cycles) else pd.DataFrame(columns=list(LOOP_COLUMNS))
    loops = loops[list(LOOP_COLUMNS)]
    protocols = _protocol_table(net)
    lev = protocols["leverage"].to_numpy(np.float64)
    finite = lev[np.isfinite(lev)]
    eff = loops["effective_leverage"].to_numpy(np.float64)
    values = {
        "protocol_leverage_median": float(np.median(finite)) if len(finite) else float("nan"),
        "protocol_leverage_max": float(finite.max()) if len(finite) else float("nan"),
        "protocols_unbounded": int(np.isinf(lev).sum()),
        "max_effective_leverage": float(eff.max()) if len(eff) else float("nan"),
        "looping_positions": int(positions["positions"].sum()) if len(positions) else 0,
        "looping_collateral": float(positions["collateral"].sum()) if len(positions) else 0.0,
        "looping_debt": float(positions["debt"].sum()) if len(positions) else 0.0,
        **record,
    }
    return MetricSection("leverage", values, {"protocols": protocols, "loops": loops})
