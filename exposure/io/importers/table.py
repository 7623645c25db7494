"""The long exposure table, with optional parameter and market columns.

Source: the long exposure table of the graph format (``holder, token_or_issuer, amount_usd,
kind, as_of, source``, docs/format.md), read by :func:`exposure.io.read_exposure_table` with its
version-2 mapping, as CSV or JSON, with an optional node table (a CSV whose header has ``id``
and no ``holder``). Optional columns:

============================  =====================================================================
``liquidation_threshold``,    on a ``collateral`` row that also gives ``debt_token`` and ``debt_usd``:
``liquidation_bonus``,        the row is a **secured position** of ``borrower`` (default
``close_factor``, ``oracle``  ``<holder>/<token>-borrowers``) at lender ``holder``, collateral
                              ``token_or_issuer`` worth ``amount_usd``, with these parameters
``debt_token``, ``debt_usd``,  the debt of that position, its borrower, and the supplier of an
``borrower``, ``supplier``    isolated market (a claim of ``supplier`` on the lender of the debt)
``isolated``                  ``true``: the lender is an isolated market whose losses fall on its
                              suppliers (``liability_type`` ``shares`` unless the node table says)
``depth``, ``depth_slippage`` market depth of ``token_or_issuer`` (node fields)
``amount_native``             with a price table, ``amount_usd`` = ``amount_native`` × the price of
                              ``token_or_issuer`` (the edge keeps ``price_as_of``)
============================  =====================================================================

A ``collateral`` row with a liquidation threshold but no debt is kept as a holding, with a
warning; so is a depth given twice with different values (the first is kept).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import Notes
from .._common import format_error
from .._convert import to_frames
from .._csv import read_csv_table
from .._table import read_exposure_table
from ...schema import EDGE_KINDS

__all__ = ["import_table", "secured_positions", "PARAMETER_COLUMNS", "MARKET_COLUMNS"]

#: Columns that make a collateral row a secured position.
PARAMETER_COLUMNS = ("liquidation_threshold", "liquidation_bonus", "close_factor", "oracle")
#: Columns that describe the market of ``token_or_issuer``.
MARKET_COLUMNS = ("depth", "depth_slippage")
_POSITION = ("debt_token", "debt_usd", "borrower", "supplier", "isolated")


def _is_node_table(path: str) -> bool:
    if not str(path).lower().endswith(".csv"):
        return False
    with open(path, encoding="utf-8-sig") as fh:
        header = fh.readline().strip().split(",")
    return "id" in header and "holder" not in header


def _numbers(col: pd.Series) -> np.ndarray:
    return pd.to_numeric(col.replace("", np.nan), errors="coerce").to_numpy(dtype=float)


def _flag(v) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def secured_positions(rows: pd.DataFrame) -> pd.DataFrame:
    """Collateral edges from exposure-table rows with parameter columns (the rows keep their index).

    ``rows`` holds ``holder`` (the lender), ``token_or_issuer`` (the collateral token), ``amount_usd``
    (the collateral), ``debt_token``, ``debt_usd`` and ``liquidation_threshold``, optionally
    ``liquidation_bonus``, ``close_factor``, ``oracle`` (missing values take the format's defaults) and
    ``borrower`` (default ``<holder>/<token>-borrowers``); every other column is kept as metadata.
    """
    h = rows["holder"].to_numpy(dtype=object)
    t = rows["token_or_issuer"].to_numpy(dtype=object)
    given = rows["borrower"].to_numpy(dtype=object) if "borrower" in rows.columns else np.full(len(rows), None, object)
    borrower = np.array([b if isinstance(b, str) and b else f"{hh}/{tt}-borrowers" for b, hh, tt in zip(given, h, t)],
                        dtype=object)
    pos = pd.DataFrame({"kind": "collateral", "lender": h, "borrower": borrower, "collateral_token": t,
                        "collateral": rows["amount_usd"].to_numpy(dtype=float),
                        "debt_token": rows["debt_token"].to_numpy(dtype=object),
                        "debt": rows["debt_usd"].to_numpy(dtype=float),
                        "liquidation_threshold": rows["liquidation_threshold"].to_numpy(dtype=float)},
                       index=rows.index)
    spec = EDGE_KINDS["collateral"]
    for c, default in spec.fractions.items():   # missing cells take the format's defaults
        if c in rows.columns and default is not None:
            v = pd.to_numeric(rows[c], errors="coerce").to_numpy(dtype=float)
            pos[c] = np.where(np.isfinite(v), v, default)
    if "oracle" in rows.columns:
        default = spec.choices["oracle"][1]
        pos["oracle"] = [o if isinstance(o, str) and o else default for o in rows["oracle"]]
    done = set(pos.columns) | {"holder", "token_or_issuer", "amount_usd", "debt_usd"} | set(PARAMETER_COLUMNS)
    for c in rows.columns:
        if c not in done:
            pos[c] = rows[c].to_numpy(dtype=object)
    return pos


def import_table(sources, *, prices=None, as_of=None, positions: str = "aggregate", notes: Notes | None = None):
    """Map long exposure tables (and a node table) onto node and edge tables (see the module notes)."""
    notes = notes if notes is not None else Notes()
    sources = [str(s) for s in sources]
    node_files = [s for s in sources if _is_node_table(s)]
    tables = [s for s in sources if s not in node_files]
    node_frame = None
    if node_files:
        node_frame = pd.concat([read_csv_table(p, text=("id", "kind", "label", "issuer", "name", "denomination",
                                                        "liability_type"))
                                for p in node_files], ignore_index=True)
    all_nodes, all_edges, meta = [], [], {}
    for path in tables:
        net, _ = read_exposure_table(path, nodes=node_frame, version=2)
        n, e = to_frames(net)
        all_nodes.append(n)
        all_edges.append(e)
        meta = meta or {k: v for k, v in net.meta.items() if k in ("name", "as_of", "currency", "description")}
    if not tables:
        raise format_error("No exposure table among the sources (only node tables: a CSV with an 'id' column).",
                           sources[0])
    nodes = pd.concat(all_nodes, ignore_index=True).drop_duplicates("id").reset_index(drop=True)
    edges = pd.concat(all_edges, ignore_index=True)
    name = tables[0]
    for c in ("amount_native",) + PARAMETER_COLUMNS[:3] + MARKET_COLUMNS + ("debt_usd",):
        if c in edges.columns:
            edges[c] = _numbers(edges[c].astype(object).where(edges[c].notna(), ""))
    target = np.where(edges["kind"] == "holding", edges.get("token"), edges.get("debtor")).astype(object)
    holder = np.where(edges["kind"] == "holding", edges.get("holder"), edges.get("creditor")).astype(object)

    # re-price native amounts
    if prices is not None and "amount_native" in edges.columns:
        native = edges["amount_native"].to_numpy(dtype=float)
        priced = np.full(len(edges), None, dtype=object)
        for i in np.flatnonzero(np.isfinite(native)):
            got = prices.get(target[i])
            if got is None:
                notes.add(name, "price", "Rows with amount_native whose token the price table does not price "
                                         "(amount_usd kept): {n} ({items}).", target[i])
                continue
            edges.at[i, "amount"] = native[i] * got[0]
            priced[i] = got[1]
        edges["price_as_of"] = priced

    # market columns: node fields of token_or_issuer
    node_ix = pd.Index(nodes["id"])
    for c in MARKET_COLUMNS:
        if c not in edges.columns:
            continue
        vals = edges[c].to_numpy(dtype=float)
        col = nodes[c].to_numpy(dtype=float).copy() if c in nodes.columns else np.full(len(nodes), np.nan)
        for i in np.flatnonzero(np.isfinite(vals)):
            j = node_ix.get_loc(target[i])
            if np.isfinite(col[j]) and col[j] != vals[i]:
                notes.add(name, f"{c}-twice", f"Tokens given two different {c} values (the first is kept): "
                                              "{n} ({items}).", target[i])
                continue
            col[j] = vals[i]
        nodes[c] = col
        edges = edges.drop(columns=c)

    # parameter columns: collateral rows become secured positions
    lt = edges["liquidation_threshold"].to_numpy(dtype=float) if "liquidation_threshold" in edges.columns else \
        np.full(len(edges), np.nan)
    is_pos = (edges.get("relation") == "collateral").to_numpy() & np.isfinite(lt)
    debt = edges["debt_usd"].to_numpy(dtype=float) if "debt_usd" in edges.columns else np.full(len(edges), np.nan)
    debt_tok = edges["debt_token"].to_numpy(dtype=object) if "debt_token" in edges.columns else \
        np.full(len(edges), None, dtype=object)
    has_debt = np.isfinite(debt) & np.array([isinstance(t, str) and t != "" for t in debt_tok], dtype=bool)
    lacking = is_pos & ~has_debt
    notes.add_many(name, "debt", "Collateral rows with a liquidation_threshold but no debt_token and debt_usd, "
                                 "kept as holdings: {n} ({items}).",
                   [f"{h}->{t}" for h, t in zip(holder[lacking], target[lacking])])
    is_pos &= has_debt
    extra_cols = [c for c in PARAMETER_COLUMNS + _POSITION if c in edges.columns]
    out = [edges[~is_pos].drop(columns=[c for c in extra_cols + ["debt_usd"] if c in edges.columns],
                               errors="ignore")]
    new_nodes = []
    if is_pos.any():
        p = edges[is_pos]
        h, t = holder[is_pos], target[is_pos]
        rows = p.drop(columns=[c for c in ("kind", "holder", "token", "debtor", "creditor", "amount", "debt_token",
                                           "debt_usd", "liquidation_threshold") if c in p.columns])
        rows.insert(0, "holder", h)
        rows.insert(1, "token_or_issuer", t)
        rows.insert(2, "amount_usd", p["amount"].to_numpy(dtype=float))
        rows.insert(3, "debt_token", debt_tok[is_pos])
        rows.insert(4, "debt_usd", debt[is_pos])
        rows.insert(5, "liquidation_threshold", lt[is_pos])
        pos = secured_positions(rows.drop(columns=[c for c in ("supplier", "isolated") if c in rows.columns]))
        borrower = pos["borrower"].to_numpy(dtype=object)
        out.append(pos)
        known = set(nodes["id"])
        for b, hh in zip(borrower, h):
            if b not in known:
                known.add(b)
                new_nodes.append({"id": b, "kind": "position", "category": "borrower_group", "part_of": hh})
        if "supplier" in p.columns:
            sup = [(s, hh, d, a, src) for s, hh, d, a, src in
                   zip(p["supplier"], h, debt[is_pos], p.get("as_of", [None] * len(p)),
                       p.get("source", [None] * len(p))) if isinstance(s, str) and s]
            if sup:
                # one supply claim per (market, supplier): the suppliers have lent what the borrowers owe
                s = pd.DataFrame(sup, columns=["creditor", "debtor", "amount", "as_of", "source"]).groupby(
                    ["debtor", "creditor"], sort=False).agg(amount=("amount", "sum"), as_of=("as_of", "max"),
                                                            source=("source", "first")).reset_index()
                s.index = pd.RangeIndex(len(edges), len(edges) + len(s))
                out.append(s.assign(kind="claim", relation="supply"))
        if "isolated" in p.columns:
            iso = {hh for hh, f in zip(h, p["isolated"]) if _flag(f)}
            if "liability_type" not in nodes.columns:
                nodes["liability_type"] = None
            mask = nodes["id"].isin(iso).to_numpy()
            nodes.loc[mask, "isolated"] = True
            nodes.loc[mask & nodes["liability_type"].isna().to_numpy(), "liability_type"] = "shares"
    if new_nodes:
        nodes = pd.concat([nodes, pd.DataFrame.from_records(new_nodes)], ignore_index=True)
    edges = pd.concat(out).sort_index(kind="stable").reset_index(drop=True)
    if as_of is not None and "as_of" in edges.columns:
        edges["as_of"] = edges["as_of"].where(edges["as_of"].notna() & (edges["as_of"] != ""), str(as_of))
    meta.setdefault("currency", "USD")
    meta.pop("version", None)
    return nodes, edges, meta
