"""Dune lending exports: ``lending.borrow`` and ``lending.supply`` flows summed to stocks.

Sources: CSV exports of Dune Spellbook's ``lending.borrow`` (columns ``blockchain, project,
version, transaction_type, symbol, token_address, borrower, ..., amount, usd_amount,
block_time, ...``) and ``lending.supply`` (the same with ``depositor`` instead of
``borrower``), told apart by those columns (docs/domain.md §4.3).

The rows are **flows** (events) and their signs are already applied by the models: ``repay``,
``borrow_liquidation``, ``withdraw`` and ``deposit_liquidation`` rows carry a negative
``amount``. A stock is therefore ``sum(amount)`` — never multiplied by a sign again — by
(project, token), over the rows up to the end of ``as_of`` when it is given. ``amount`` is in
token units (decimal-adjusted); ``usd_amount`` is at each event's price, so the stock is valued
at the price table's price; a token the table does not price keeps ``sum(usd_amount)`` (prices
of mixed dates) with a warning. Flow sums give principal only: accrued interest is missing.

Mapping, per lending protocol ``<project>-v<version>`` (``aave-v3``):

* supply stock ``S`` and borrow stock ``B`` of each token; the protocol holds ``S − B`` of the token
  (its cash) and has lent ``B`` to an aggregate borrower ``<protocol>/borrowers-<SYMBOL>``
  (``positions="user"``: one borrower ``<protocol>/<address>`` per account), whose collateral
  the export does not give (its assets are set equal to its debt, ``estimate``);
* the suppliers (outside the graph) are owed ``S``: the protocol's external liabilities.
* A negative stock (more repaid or withdrawn than the export's window holds) is set to 0 with a
  warning.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import Notes, day_end, edge_frame, loans_to_borrowers, parse_date, token_kind
from .._common import format_error
from .._csv import line_numbers, read_csv_table
from ...exceptions import InvalidNetworkError, Problem

__all__ = ["import_dune"]

_NEEDED = ("project", "symbol", "amount")
_TEXT = ("blockchain", "project", "version", "transaction_type", "symbol", "token_address", "borrower",
         "depositor", "block_time", "on_behalf_of")


def _read(path: str) -> tuple[pd.DataFrame, str]:
    frame = read_csv_table(path, text=_TEXT)
    side = "borrow" if "borrower" in frame.columns else "supply" if "depositor" in frame.columns else None
    missing = [c for c in _NEEDED if c not in frame.columns]
    if side is None or missing:
        what = (f"no column {' and no column '.join(map(repr, missing))}" if missing else
                "neither a 'borrower' column (lending.borrow) nor a 'depositor' column (lending.supply)")
        raise format_error(f"Not a Dune lending.borrow / lending.supply export: {what}. Found: "
                           f"{', '.join(map(str, frame.columns))}.", path, "line 1")
    for c in ("amount", "usd_amount"):
        if c in frame.columns:
            raw = frame[c]
            num = pd.to_numeric(raw, errors="coerce")
            bad = np.flatnonzero(num.isna().to_numpy() & (raw.astype(str).str.strip() != "").to_numpy()
                                 if raw.dtype == object else ~np.isfinite(num.to_numpy(dtype=float)))
            if len(bad):
                lines = line_numbers(path, bad[:20].tolist())
                raise InvalidNetworkError([Problem("error", f"Field {c!r} must be a number. Got {raw.iat[i]!r} "
                                                   "instead.", file=path, location=f"line {lines.get(i, i + 2)}",
                                                   node=str(frame['project'].iat[i])) for i in bad[:20]])
            frame[c] = num.fillna(0.0).to_numpy(dtype=float)
    return frame.assign(_side=side), side


def import_dune(sources, *, prices=None, as_of=None, positions: str = "aggregate", notes: Notes | None = None):
    """Map Dune ``lending.borrow`` / ``lending.supply`` CSV exports onto node and edge tables."""
    notes = notes if notes is not None else Notes()
    parts, names = [], []
    for src in sources:
        frame, _ = _read(str(src))
        names.append(str(src))
        parts.append(frame.assign(_file=str(src)))
    rows = pd.concat(parts, ignore_index=True)
    name = names[0]
    times = pd.to_datetime(rows["block_time"], utc=True, errors="coerce") if "block_time" in rows.columns else None
    if as_of is not None:
        if times is None:
            notes.add(name, "time", "No block_time column: --as-of cannot select rows; every row is summed.")
        else:
            keep = (times.isna() | (times <= pd.Timestamp(day_end(parse_date(as_of)), unit="s", tz="UTC"))).to_numpy()
            rows, times = rows[keep], times[keep]
    date = parse_date(as_of).isoformat() if as_of is not None else \
        (times.max().date().isoformat() if times is not None and times.notna().any() else None)
    version = rows["version"].fillna("").astype(str).str.strip() if "version" in rows.columns else ""
    rows = rows.assign(node=np.where(version != "", rows["project"] + "-v" + version, rows["project"]))
    if "usd_amount" not in rows.columns:
        rows["usd_amount"] = np.nan
    account = "borrower" if positions == "user" else None
    keys = ["node", "symbol", "_side"] + ([account] if account and account in rows.columns else [])
    stock = rows.groupby(keys, sort=True, dropna=False).agg(amount=("amount", "sum"), usd=("usd_amount", "sum"),
                                                            source=("_file", "first")).reset_index()
    price = np.full(len(stock), np.nan)
    price_date = np.full(len(stock), None, dtype=object)
    for i, sym in enumerate(stock["symbol"]):
        got = prices.get(sym) if prices is not None else None
        if got:
            price[i], price_date[i] = got
    unpriced = np.isnan(price)
    notes.add_many(name, "price", "Tokens without a price in the price table, valued at the sum of usd_amount "
                                  "(each event at its own date's price): {n} ({items}).",
                   pd.unique(stock.loc[unpriced, "symbol"]))
    stock["value"] = np.where(unpriced, stock["usd"], stock["amount"] * price)
    stock["price_as_of"] = price_date
    neg = stock["value"] < 0
    notes.add_many(name, "negative", "Stocks below zero (more repaid or withdrawn than the export's rows hold), "
                                     "set to 0: {n} ({items}).",
                   [f"{n}:{s}:{d}" for n, s, d in stock.loc[neg, ["node", "symbol", "_side"]].itertuples(index=False)])
    stock.loc[neg, "value"] = 0.0
    sup = stock[stock["_side"] == "supply"].groupby(["node", "symbol"])["value"].sum()
    bor_rows = stock[(stock["_side"] == "borrow") & (stock["value"] > 0)]
    bor = bor_rows.groupby(["node", "symbol"])["value"].sum()
    cash = sup.sub(bor, fill_value=0.0)
    short = cash[cash < 0]
    notes.add_many(name, "cash", "Tokens borrowed beyond what was supplied (cash set to 0): {n} ({items}).",
                   [f"{n}:{s}" for n, s in short.index])
    cash = cash[cash > 0]
    src = stock.groupby(["node", "symbol"])["source"].first()
    pdate = stock.groupby(["node", "symbol"])["price_as_of"].first()
    edges = [edge_frame("holding", {
        "holder": cash.index.get_level_values(0).to_numpy(dtype=object),
        "token": cash.index.get_level_values(1).to_numpy(dtype=object), "amount": cash.to_numpy(),
        "relation": "cash", "price_as_of": pdate.reindex(cash.index).to_numpy(dtype=object),
        "as_of": date, "source": src.reindex(cash.index).to_numpy(dtype=object)})]
    if account and account in bor_rows.columns:
        borrower = (bor_rows["node"] + "/" + bor_rows[account].astype(str)).to_numpy(dtype=object)
    else:
        borrower = (bor_rows["node"] + "/borrowers-" + bor_rows["symbol"]).to_numpy(dtype=object)
    claims, borrowers = loans_to_borrowers(bor_rows["node"].to_numpy(dtype=object), borrower,
                                           bor_rows["value"].to_numpy(), loan_token=bor_rows["symbol"].to_numpy(dtype=object),
                                           as_of=date, source=bor_rows["source"].to_numpy(dtype=object))
    edges.append(claims)
    lenders = sorted(set(stock["node"]))
    nodes = [{"id": n, "kind": "protocol", "label": n, "category": "lending",
              "external_liabilities": float(sup.get(n, pd.Series(dtype=float)).sum()) if n in sup.index else 0.0}
             for n in lenders]
    syms = sorted(set(stock["symbol"]))
    for s in syms:
        rec = {"id": s, "kind": token_kind(s), "label": s}
        got = prices.get(s) if prices is not None else None
        if got:
            rec["price"], rec["price_as_of"] = got
        nodes.append(rec)
    meta = {"name": "dune-lending", "as_of": date, "currency": "USD",
            "description": f"Imported from Dune lending exports ({len(names)} file{'s' * (len(names) != 1)})."}
    return pd.DataFrame.from_records(nodes + borrowers), pd.concat([e for e in edges if len(e)], ignore_index=True), meta
