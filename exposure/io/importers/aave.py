"""Aave v3 subgraph responses: pooled lenders, their cash, and the secured positions of their borrowers.

Source: saved GraphQL responses of the Aave v3 subgraph (``aave/protocol-subgraphs``,
``schemas/v3.schema.graphql``), one or more files (pages) each ``{"data": {...}}`` holding
``reserves`` and/or ``userReserves`` (and optionally ``_meta { block { timestamp } }``):

* ``reserves``: ``id, symbol, decimals, baseLTVasCollateral, reserveLiquidationThreshold,
  reserveLiquidationBonus, usageAsCollateralEnabled, totalATokenSupply, availableLiquidity,
  totalCurrentVariableDebt, totalPrincipalStableDebt, price { priceInEth }, eMode { id, ltv,
  liquidationThreshold, liquidationBonus, label }, pool { id }``;
* ``userReserves``: ``user { id, eModeCategoryId }, reserve { id }, currentATokenBalance,
  currentTotalDebt`` (or ``currentVariableDebt`` + ``currentStableDebt``),
  ``usageAsCollateralEnabledOnUser``.

Units (docs/domain.md §4.2): amounts are raw integers in the reserve's ``decimals``; risk
parameters are basis points (``9500`` = 95%) and the liquidation bonus includes the principal
(``10500`` = a 5% bonus); ``price.priceInEth`` is, despite its name, the AaveOracle price in USD
× 1e8 on v3 markets. So a balance ``b`` of a reserve is worth ``b / 10**decimals × priceInEth / 1e8``
USD, unless the price table gives the token's price.

Mapping
-------
* The market is one **pooled lender** (``liability_type`` ``debt``: its aTokens are nominal
  claims; a shortfall is the reserve's deficit). Its id is that of a known pool
  (:data:`~._venues.AAVE_POOLS`, which also gives its sourced first-loss capital) or ``lender``.
* A borrower (an account with debt) is cross-collateralised: collateral ``C_c`` per collateral
  token (supplied with ``usageAsCollateralEnabledOnUser`` in a reserve that can be collateral),
  debt ``D_d`` per debt token, totals ``C`` and ``D``. Its account becomes one position per
  (collateral, debt) pair with collateral ``C_c·D_d/D`` and debt ``D_d·C_c/C``: the pairs add up
  to the account and each keeps its collateral / debt ratio ``C/D``.
* Positions are summed per (collateral token, debt token, e-mode) into aggregate borrowers
  ``<lender>/<collateral>-<debt>[-emode<k>]`` (``positions="aggregate"``), or kept per account
  as borrower ``<lender>/<account>`` (``positions="user"``).
* Liquidation threshold and bonus: the e-mode category's when the account is in an e-mode that
  the collateral belongs to, the reserve's otherwise; close factor 50% (Aave v3.3); the oracle
  from :data:`~._venues.ORACLES_BY_SYMBOL` where the sources name it, else ``market`` with
  ``oracle_assumed``.
* Cash: a holding of each reserve's token, ``availableLiquidity`` less the collateral posted in
  it by the positions (the graph holds that collateral with the borrowers). Suppliers (outside
  the graph) are owed ``Σ totalATokenSupply`` less that collateral: the lender's external
  liabilities. Loans of accounts not in the export (reserve debt above the positions' debt) are
  the lender's external assets.
* An account with debt and no collateral becomes a claim of ``<lender>/<debt>-unsecured`` (no
  assets) on the lender, with a warning.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ._common import (Notes, assemble, edge_frame, graphql_data, load_json, parse_date, token_kind)
from ._venues import AAVE_CLOSE_FACTOR, AAVE_POOLS, oracle_of
from .._common import format_error

__all__ = ["import_aave"]

SOURCE_KIND = "aave-subgraph"


def _num(values) -> np.ndarray:
    """Raw integer strings (or numbers) as floats; missing as NaN."""
    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=np.float64)


def _first(d, *keys, default=None):
    for k in keys:
        if isinstance(d, dict) and d.get(k) is not None:
            return d[k]
    return default


def _reserves(records: list[dict], name: str, prices, notes: Notes) -> pd.DataFrame:
    rows = []
    for r in records:
        em = r.get("eMode") or {}
        price_raw = (r.get("price") or {}).get("priceInEth")
        rows.append({
            "rid": str(r.get("id")), "symbol": r.get("symbol"), "decimals": r.get("decimals"),
            "ltv": r.get("baseLTVasCollateral"), "lt": r.get("reserveLiquidationThreshold"),
            "bonus": r.get("reserveLiquidationBonus"), "collateral_ok": r.get("usageAsCollateralEnabled", True),
            "supply": r.get("totalATokenSupply"), "available": r.get("availableLiquidity"),
            "debt": (float(r.get("totalCurrentVariableDebt") or 0) + float(r.get("totalPrincipalStableDebt") or 0)),
            "price_raw": price_raw, "emode": str(em.get("id", "0") or "0"), "emode_label": em.get("label"),
            "emode_lt": em.get("liquidationThreshold"), "emode_bonus": em.get("liquidationBonus"),
            "pool": (r.get("pool") or {}).get("id"),
        })
    res = pd.DataFrame(rows)
    for c in ("decimals", "ltv", "lt", "bonus", "supply", "available", "price_raw", "emode_lt", "emode_bonus"):
        res[c] = _num(res[c])
    no_dec = res["decimals"].isna()
    notes.add_many(name, "decimals", "Reserves without 'decimals', whose raw amounts cannot be converted to token "
                                     "units (their user reserves are skipped): {n} ({items}).",
                   res.loc[no_dec, "symbol"])
    price = res["price_raw"] / 1e8                      # AaveOracle: USD x 1e8 on v3
    price_as_of = pd.Series([None] * len(res), dtype=object)
    if prices is not None:
        for i, sym in enumerate(res["symbol"]):
            got = prices.get(sym)
            if got is not None:
                price.iat[i], price_as_of.iat[i] = got
    res["price"] = price.where(price > 0)
    res["price_as_of"] = price_as_of
    notes.add_many(name, "price", "Reserves without a price (no price.priceInEth and none in the price table; "
                                  "their user reserves are skipped): {n} ({items}).",
                   res.loc[res["price"].isna() & ~no_dec, "symbol"])
    res["unit"] = res["price"] / 10.0 ** res["decimals"]   # USD per raw unit
    # basis points; the bonus includes the principal
    res["lt_f"] = res["lt"] / 1e4
    res["bonus_f"] = (res["bonus"] - 1e4).clip(lower=0) / 1e4
    res["emode_lt_f"] = res["emode_lt"] / 1e4
    res["emode_bonus_f"] = (res["emode_bonus"] - 1e4).clip(lower=0) / 1e4
    return res


def import_aave(sources, *, prices=None, as_of=None, positions: str = "aggregate", lender: str | None = None,
                notes: Notes | None = None):
    """Map saved Aave v3 subgraph responses onto node and edge tables (see the module notes).

    Returns ``(nodes, edges, meta)``.
    """
    notes = notes if notes is not None else Notes()
    reserves, users, stamp, names = [], [], None, []
    for src in sources:
        doc, name = load_json(src)
        names.append(name)
        data = graphql_data(doc, name, ("reserves", "userReserves"))
        reserves += [r for r in data.get("reserves") or [] if isinstance(r, dict)]
        users += [u for u in data.get("userReserves") or [] if isinstance(u, dict)]
        ts = ((data.get("_meta") or {}).get("block") or {}).get("timestamp")
        if ts is not None:
            stamp = max(stamp or 0, int(ts))
        del doc, data
    name = names[0]
    if not reserves:
        raise format_error("No 'reserves' in the saved responses: the reserves' decimals, prices and risk "
                           "parameters are needed to map 'userReserves'.", name, "$.data")
    date = parse_date(as_of).isoformat() if as_of is not None else \
        (parse_date(stamp).isoformat() if stamp is not None else None)
    if date is None:
        notes.add(name, "date", "The responses have no _meta.block.timestamp and no --as-of was given: the "
                                "edges carry no as_of date.")
    res = _reserves(reserves, name, prices, notes)
    pool_ids = {p for p in res["pool"] if p}
    pool = AAVE_POOLS.get(next(iter(pool_ids)).lower()) if len(pool_ids) == 1 else None
    lender_id = lender or (pool["id"] if pool else os.path.splitext(os.path.basename(name))[0])
    rid_index = pd.Index(res["rid"])

    # --- user reserves: columns, then USD amounts
    uid = [str((u.get("user") or {}).get("id")) for u in users]
    emode = [str((u.get("user") or {}).get("eModeCategoryId") or "0") for u in users]
    ridx = rid_index.get_indexer([str((u.get("reserve") or {}).get("id")) for u in users])
    supply_raw = _num([u.get("currentATokenBalance") for u in users])
    debt_raw = _num([_first(u, "currentTotalDebt") if "currentTotalDebt" in u else
                     float(u.get("currentVariableDebt") or 0) + float(u.get("currentStableDebt") or 0)
                     for u in users])
    coll_flag = np.array([bool(u.get("usageAsCollateralEnabledOnUser")) for u in users], dtype=bool)
    del users
    unknown = ridx < 0
    if unknown.any():
        notes.add(name, "reserve", "User reserves naming a reserve that is not in 'reserves' (skipped): {n}.",
                  n=int(unknown.sum()))
    safe = np.where(unknown, 0, ridx)
    unit = res["unit"].to_numpy()[safe]
    usable = ~unknown & np.isfinite(unit)
    bad_amount = usable & (~np.isfinite(supply_raw) | ~np.isfinite(debt_raw))
    if bad_amount.any():
        notes.add(name, "amount", "User reserves with a balance that is not a number (skipped): {n}.",
                  n=int(bad_amount.sum()))
    usable &= ~bad_amount
    sup = np.where(usable, supply_raw * np.where(usable, unit, 0), 0.0)
    dbt = np.where(usable, debt_raw * np.where(usable, unit, 0), 0.0)
    coll_ok = res["collateral_ok"].astype(bool).to_numpy()[safe] & (res["lt"].fillna(0).to_numpy()[safe] > 0)
    coll = np.where(coll_flag & coll_ok, sup, 0.0)

    ur = pd.DataFrame({"user": pd.Categorical(uid), "emode": emode, "r": safe, "coll": coll, "debt": dbt})
    tot = ur.groupby("user", observed=True)[["coll", "debt"]].sum()
    borrowers = tot.index[tot["debt"] > 0]
    ur = ur[ur["user"].isin(borrowers)]
    C = ur["user"].map(tot["coll"]).to_numpy(dtype=float)
    D = ur["user"].map(tot["debt"]).to_numpy(dtype=float)
    ur = ur.assign(C=C, D=D)
    cl = ur[ur["coll"] > 0][["user", "emode", "r", "coll", "C", "D"]]
    dl = ur[ur["debt"] > 0][["user", "r", "debt", "C"]]
    pairs = cl.merge(dl, on="user", suffixes=("_c", "_d"))
    pairs["collateral"] = pairs["coll"] * pairs["debt"] / pairs["D"]
    pairs["pdebt"] = pairs["debt"] * pairs["coll"] / pairs["C_c"]
    unsecured = dl[dl["C"] <= 0]
    sym = res["symbol"].to_numpy(dtype=object)

    # effective e-mode: the account's category when the collateral belongs to it
    res_emode = res["emode"].to_numpy(dtype=object)
    in_emode = (pairs["emode"].to_numpy(dtype=object) != "0") & \
        (res_emode[pairs["r_c"].to_numpy()] == pairs["emode"].to_numpy(dtype=object))
    pairs["em"] = np.where(in_emode, pairs["emode"], "0")
    lt = np.where(in_emode, res["emode_lt_f"].to_numpy()[pairs["r_c"]], res["lt_f"].to_numpy()[pairs["r_c"]])
    bonus = np.where(in_emode, res["emode_bonus_f"].to_numpy()[pairs["r_c"]],
                     res["bonus_f"].to_numpy()[pairs["r_c"]])
    pairs["lt"], pairs["bonus"] = lt, bonus
    if positions == "aggregate":
        grouped = pairs.groupby(["r_c", "r_d", "em"], sort=True, observed=True).agg(
            collateral=("collateral", "sum"), debt=("pdebt", "sum"), lt=("lt", "first"), bonus=("bonus", "first"),
            accounts=("user", "nunique")).reset_index()
        borrower = [f"{lender_id}/{sym[c]}-{sym[d]}" + (f"-emode{e}" if e != "0" else "")
                    for c, d, e in zip(grouped["r_c"], grouped["r_d"], grouped["em"])]
        pos = grouped.assign(borrower=borrower)
    else:
        pos = pairs.rename(columns={"pdebt": "pdebt"}).assign(
            borrower=lender_id + "/" + pairs["user"].astype(str), debt=pairs["pdebt"], accounts=1)
    oracle_by_reserve = [oracle_of("aave", s) if isinstance(s, str) else None for s in sym]
    oracle = [oracle_by_reserve[c] for c in pos["r_c"]]
    edges = [edge_frame("collateral", {
        "lender": lender_id, "borrower": pos["borrower"].to_numpy(dtype=object),
        "collateral_token": sym[pos["r_c"].to_numpy()], "collateral": pos["collateral"].to_numpy(),
        "debt_token": sym[pos["r_d"].to_numpy()], "debt": pos["debt"].to_numpy(),
        "liquidation_threshold": pos["lt"].to_numpy(), "liquidation_bonus": pos["bonus"].to_numpy(),
        "close_factor": AAVE_CLOSE_FACTOR, "oracle": np.array([o or "market" for o in oracle], dtype=object),
        "oracle_assumed": np.array([True if o is None else None for o in oracle], dtype=object),
        "emode": np.array([None if e == "0" else e for e in pos["em"]], dtype=object),
        "accounts": pos["accounts"].to_numpy() if positions == "aggregate" else None,
        "relation": "borrow", "as_of": date, "source": name})]
    if positions != "aggregate":
        edges[0] = edges[0].drop(columns="accounts")
    if len(unsecured):
        notes.add(name, "unsecured", "Accounts owing debt with no collateral, recorded as claims of "
                                     "'<lender>/<token>-unsecured' borrowers that hold nothing: {n}.",
                  n=int(unsecured["user"].nunique()))
        u = unsecured.groupby("r", sort=True)["debt"].sum()
        edges.append(edge_frame("claim", {
            "debtor": np.array([f"{lender_id}/{sym[r]}-unsecured" for r in u.index], dtype=object),
            "creditor": lender_id, "amount": u.to_numpy(), "relation": "borrow", "as_of": date, "source": name}))

    # --- the lender's cash, liabilities and loans outside the export
    posted = np.bincount(pos["r_c"].to_numpy(dtype=np.int64), weights=pos["collateral"].to_numpy(),
                         minlength=len(res))
    unit_ok = res["unit"].fillna(0).to_numpy()
    cash = res["available"].fillna(0).to_numpy() * unit_ok - posted
    short = cash < -1e-9 * np.maximum(1.0, posted)
    notes.add_many(name, "cash", "Reserves holding less available liquidity than the collateral the export's "
                                 "accounts post in them (cash set to 0): {n} ({items}).", sym[short])
    cash = np.maximum(cash, 0.0)
    supplied = float(np.nansum(res["supply"].fillna(0).to_numpy() * unit_ok))
    other_debt = max(0.0, float(np.nansum(res["debt"].to_numpy() * unit_ok)) - float(pos["debt"].sum()) -
                     float(unsecured["debt"].sum()))
    keep = cash > 0
    edges.append(edge_frame("holding", {"holder": lender_id, "token": sym[keep], "amount": cash[keep],
                                        "relation": "cash", "as_of": date, "source": name}))
    lender_rec = {"id": lender_id, "kind": "protocol", "label": pool["label"] if pool else lender_id,
                  "category": "pooled_lender", "liability_type": "debt",
                  "external_assets": other_debt,
                  "external_liabilities": max(0.0, supplied - float(posted.sum())), "venue": "aave-v3"}
    if pool:
        fl = 0.0
        for tok, qty in pool["first_loss"].items():
            p = res.loc[res["symbol"] == tok, "price"]
            got = prices.get(tok) if prices is not None else None
            price = got[0] if got else (float(p.iloc[0]) if len(p) and np.isfinite(p.iloc[0]) else None)
            if price is None:
                notes.add(name, "first_loss", "First-loss tokens of the pool without a price (left out of "
                                              "first_loss): {n} ({items}).", tok)
                continue
            fl += qty * price
        lender_rec.update(first_loss=fl, first_loss_source=pool["first_loss_source"],
                          first_loss_as_of=pool["first_loss_as_of"])
    nodes = [lender_rec]
    for i, r in res.iterrows():
        if not isinstance(r["symbol"], str):
            continue
        rec = {"id": r["symbol"], "kind": token_kind(r["symbol"]), "label": r["symbol"]}
        if np.isfinite(r["price"]):
            rec["price"] = float(r["price"])
            if r["price_as_of"]:
                rec["price_as_of"] = r["price_as_of"]
        nodes.append(rec)
    for b in pd.unique(pos["borrower"]):
        nodes.append({"id": b, "kind": "position", "category": "borrower_group" if positions == "aggregate"
                      else "account", "part_of": lender_id})
    if len(unsecured):
        for r in sorted(unsecured["r"].unique()):
            nodes.append({"id": f"{lender_id}/{sym[r]}-unsecured", "kind": "position",
                          "category": "borrower_group", "part_of": lender_id})
    nodes = pd.DataFrame.from_records(nodes).drop_duplicates("id")
    meta = {"name": lender_id, "as_of": date, "currency": "USD",
            "description": f"Imported from an Aave v3 subgraph export ({len(names)} file{'s' * (len(names) != 1)})."}
    return nodes, pd.concat([e for e in edges if len(e)], ignore_index=True), meta
