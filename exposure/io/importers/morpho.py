"""Morpho Blue subgraph responses: isolated markets, their suppliers (MetaMorpho vaults) and borrowers.

Source: saved GraphQL responses of the Morpho Blue subgraph (``morpho-org/morpho-blue-subgraph``,
Messari lending schema v3.1.0), files each ``{"data": {...}}`` holding ``markets``,
``positions`` and optionally ``metaMorphos`` (and ``_meta { block { timestamp } }``):

* ``markets``: ``id, lltv`` (a WAD string: ``945000000000000000`` = 94.5%), ``inputToken`` — the
  **collateral** token — and ``borrowedToken`` — the loan token — each ``{id, symbol, decimals,
  lastPriceUSD}``, ``totalSupply`` and ``totalBorrow`` (raw units of the loan token);
* ``positions``: ``account { id }, market { id }, side`` (``COLLATERAL``, ``SUPPLIER``,
  ``BORROWER``), ``balance`` (raw units of the side's token);
* ``metaMorphos``: ``id`` (the vault's address, the ``account`` of its SUPPLIER positions),
  ``name``, ``symbol``.

Mapping
-------
* Each market is one **isolated lender** ``morpho/<collateral>-<loan>-<LLTV %>`` whose bad debt is
  socialised to its own suppliers at once (``liability_type`` ``shares``, ``first_loss`` 0:
  Morpho Blue has no buffer, ``Morpho.sol`` ``liquidate``). Its cash is a holding of the loan
  token, ``totalSupply − totalBorrow``.
* A MetaMorpho vault is a node of its own (``liability_type`` ``shares``): what it has supplied to
  a market — its SUPPLIER position there — is a claim of the vault on the market; its depositors
  (outside the graph) are its external liabilities. The market's other suppliers are the
  market's external liabilities.
* Borrowers: an account's BORROWER and COLLATERAL positions in a market form one secured
  position, liquidation threshold = LLTV, bonus = LIF − 1 with Morpho's
  ``LIF = min(1.15, 1/(1 − 0.3·(1 − LLTV)))``, close factor 1 (no close factor); summed per market
  into ``<market>/borrowers`` (``positions="aggregate"``) or one per account. Accounts with
  collateral and no debt are not exposures of the market and are left out; debt with no
  collateral becomes a claim of ``<market>/unsecured`` with a warning. Loans not in the export
  (``totalBorrow`` above the positions' debt) are the market's external assets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import Notes, edge_frame, graphql_data, load_json, parse_date, token_kind
from ._venues import morpho_liquidation_incentive, oracle_of
from .._common import format_error

__all__ = ["import_morpho"]

SIDES = ("COLLATERAL", "SUPPLIER", "BORROWER")


def _f(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def import_morpho(sources, *, prices=None, as_of=None, positions: str = "aggregate", notes: Notes | None = None):
    """Map saved Morpho Blue subgraph responses onto node and edge tables (see the module notes)."""
    notes = notes if notes is not None else Notes()
    markets, pos, vaults, names, stamp = [], [], {}, [], None
    for src in sources:
        doc, name = load_json(src)
        names.append(name)
        data = graphql_data(doc, name, ("markets", "positions"))
        markets += [m for m in data.get("markets") or [] if isinstance(m, dict)]
        pos += [p for p in data.get("positions") or [] if isinstance(p, dict)]
        for v in data.get("metaMorphos") or []:
            if isinstance(v, dict) and v.get("id"):
                vaults[str(v["id"]).lower()] = v
        ts = ((data.get("_meta") or {}).get("block") or {}).get("timestamp")
        if ts is not None:
            stamp = max(stamp or 0, int(ts))
    name = names[0]
    if not markets:
        raise format_error("No 'markets' in the saved responses: the markets' tokens and LLTVs are needed to "
                           "map 'positions'.", name, "$.data")
    date = parse_date(as_of).isoformat() if as_of is not None else \
        (parse_date(stamp).isoformat() if stamp is not None else None)
    if date is None:
        notes.add(name, "date", "The responses have no _meta.block.timestamp and no --as-of was given: the "
                                "edges carry no as_of date.")

    tokens: dict[str, dict] = {}

    def token(t) -> tuple[str | None, float]:
        """(symbol, USD per raw unit) of a token object; (None, nan) when it cannot be priced."""
        t = t or {}
        sym = t.get("symbol")
        dec = _f(t.get("decimals"))
        if not isinstance(sym, str) or not np.isfinite(dec):
            notes.add(name, "decimals", "Tokens without a symbol or decimals, whose amounts cannot be converted "
                                        "(their markets are skipped): {n} ({items}).", t.get("id"))
            return None, float("nan")
        got = prices.get(sym) if prices is not None else None
        price = got[0] if got else _f(t.get("lastPriceUSD"))
        if not (np.isfinite(price) and price > 0):
            notes.add(name, "price", "Tokens without a price (no lastPriceUSD and none in the price table; their "
                                     "markets are skipped): {n} ({items}).", sym)
            return None, float("nan")
        rec = tokens.setdefault(sym, {"id": sym, "kind": token_kind(sym), "label": sym, "price": price})
        if got:
            rec["price_as_of"] = got[1]
        return sym, price / 10.0 ** dec

    mk: dict[str, dict] = {}
    used_ids: set[str] = set()
    for m in markets:
        coll, cu = token(m.get("inputToken"))
        loan, lu = token(m.get("borrowedToken"))
        lltv = _f(m.get("lltv")) / 1e18
        if not (0 < lltv < 1):
            notes.add(name, "lltv", "Markets whose lltv is not a WAD fraction in (0, 1) (skipped): {n} ({items}).",
                      m.get("id"))
            continue
        if coll is None or loan is None:
            continue
        mid = f"morpho/{coll}-{loan}-{lltv * 100:g}"
        if mid in used_ids:
            mid += f"-{str(m.get('id'))[:8]}"
        used_ids.add(mid)
        mk[str(m.get("id")).lower()] = {"node": mid, "coll": coll, "loan": loan, "cu": cu, "lu": lu, "lltv": lltv,
                                        "supply": _f(m.get("totalSupply")) * lu,
                                        "borrow": _f(m.get("totalBorrow")) * lu}

    acct = [str((p.get("account") or {}).get("id")).lower() for p in pos]
    mids = [str((p.get("market") or {}).get("id")).lower() for p in pos]
    side = [p.get("side") for p in pos]
    bal = np.array([_f(p.get("balance")) for p in pos], dtype=float)
    known = np.array([m in mk for m in mids], dtype=bool)
    bad_side = np.array([s not in SIDES for s in side], dtype=bool)
    notes.add(name, "market", "Positions in a market that is not in 'markets' or was skipped (left out): {n}.",
              n=int((~known).sum())) if (~known).any() else None
    notes.add(name, "side", "Positions whose side is not COLLATERAL, SUPPLIER or BORROWER (left out): {n}.",
              n=int((known & bad_side).sum())) if (known & bad_side).any() else None
    ok = known & ~bad_side & np.isfinite(bal)
    frame = pd.DataFrame({"account": acct, "market": mids, "side": side, "balance": bal})[ok]
    unit = np.array([mk[m]["cu"] if s == "COLLATERAL" else mk[m]["lu"] for m, s in
                     zip(frame["market"], frame["side"])], dtype=float)
    frame["usd"] = frame["balance"].to_numpy() * unit
    wide = frame.pivot_table(index=["market", "account"], columns="side", values="usd", aggfunc="sum",
                             fill_value=0.0).reset_index()
    for s in SIDES:
        if s not in wide.columns:
            wide[s] = 0.0

    nodes: list[dict] = []
    edges: list[pd.DataFrame] = []
    claims_d, claims_c, claims_a = [], [], []
    vault_supply: dict[str, float] = {}
    for key, m in mk.items():
        w = wide[wide["market"] == key]
        sup = w[(w["SUPPLIER"] > 0) & w["account"].isin(list(vaults))]
        to_vaults = 0.0
        for a, amount in zip(sup["account"], sup["SUPPLIER"]):
            v = vaults[a]
            vid = f"morpho-vault/{v.get('symbol') or a}"
            vault_supply[vid] = vault_supply.get(vid, 0.0) + amount
            claims_d.append(m["node"]), claims_c.append(vid), claims_a.append(amount)
            to_vaults += amount
        b = w[w["BORROWER"] > 0]
        secured = b[b["COLLATERAL"] > 0]
        unsecured = b[b["COLLATERAL"] <= 0]
        lif = morpho_liquidation_incentive(m["lltv"])
        if len(secured):
            if positions == "aggregate":
                borrower = np.array([f"{m['node']}/borrowers"], dtype=object)
                coll = np.array([secured["COLLATERAL"].sum()])
                debt = np.array([secured["BORROWER"].sum()])
                accounts = np.array([len(secured)])
            else:
                borrower = (m["node"] + "/" + secured["account"]).to_numpy(dtype=object)
                coll, debt = secured["COLLATERAL"].to_numpy(), secured["BORROWER"].to_numpy()
                accounts = None
            oracle = oracle_of("morpho", m["coll"])
            cols = {"lender": m["node"], "borrower": borrower, "collateral_token": m["coll"], "collateral": coll,
                    "debt_token": m["loan"], "debt": debt, "liquidation_threshold": m["lltv"],
                    "liquidation_bonus": lif - 1.0, "close_factor": 1.0, "oracle": oracle or "market"}
            if oracle is None:
                cols["oracle_assumed"] = True
            if accounts is not None:
                cols["accounts"] = accounts
            cols.update(relation="borrow", as_of=date, source=name)
            edges.append(edge_frame("collateral", cols, n=len(borrower)))
            for bid in borrower:
                nodes.append({"id": bid, "kind": "position", "part_of": m["node"],
                              "category": "borrower_group" if positions == "aggregate" else "account"})
        if len(unsecured):
            notes.add(name, "unsecured", "Accounts owing debt with no collateral, recorded as claims of "
                                         "'<market>/unsecured' borrowers that hold nothing: {n}.",
                      n=len(unsecured))
            uid = f"{m['node']}/unsecured"
            claims_d.append(uid), claims_c.append(m["node"]), claims_a.append(float(unsecured["BORROWER"].sum()))
            nodes.append({"id": uid, "kind": "position", "part_of": m["node"], "category": "borrower_group"})
        pos_debt = float(b["BORROWER"].sum())
        cash = m["supply"] - m["borrow"]
        if cash < 0:
            notes.add(name, "cash", "Markets whose totalBorrow exceeds totalSupply (cash set to 0): {n} ({items}).",
                      m["node"])
        if cash > 0:
            edges.append(edge_frame("holding", {"holder": m["node"], "token": m["loan"], "amount": cash,
                                                "relation": "cash", "as_of": date, "source": name}, n=1))
        others = m["supply"] - to_vaults
        if others < -1e-9 * max(1.0, m["supply"]):
            notes.add(name, "supply", "Markets whose vaults supply more than totalSupply (other suppliers set "
                                      "to 0): {n} ({items}).", m["node"])
        nodes.append({"id": m["node"], "kind": "protocol", "label": f"Morpho Blue market {m['coll']} / "
                      f"{m['loan']} (LLTV {m['lltv'] * 100:g}%)", "category": "isolated_market",
                      "liability_type": "shares", "first_loss": 0.0, "isolated": True,
                      "external_assets": max(0.0, m["borrow"] - pos_debt), "external_liabilities": max(0.0, others),
                      "lltv": m["lltv"], "market_id": key, "venue": "morpho-blue"})
    if claims_d:
        edges.append(edge_frame("claim", {"debtor": np.array(claims_d, dtype=object),
                                          "creditor": np.array(claims_c, dtype=object),
                                          "amount": np.array(claims_a, dtype=float),
                                          "relation": np.array(["supply" if d != "" and not d.endswith("/unsecured")
                                                                else "borrow" for d in claims_d], dtype=object),
                                          "as_of": date, "source": name}))
    for vid, amount in vault_supply.items():
        addr = next(a for a, v in vaults.items() if f"morpho-vault/{v.get('symbol') or a}" == vid)
        nodes.append({"id": vid, "kind": "protocol", "label": vaults[addr].get("name") or vid, "category": "vault",
                      "liability_type": "shares", "external_liabilities": amount, "address": addr,
                      "venue": "metamorpho"})
    nodes = pd.DataFrame.from_records(nodes + list(tokens.values())).drop_duplicates("id")
    meta = {"name": "morpho-blue", "as_of": date, "currency": "USD",
            "description": f"Imported from a Morpho Blue subgraph export ({len(names)} file{'s' * (len(names) != 1)})."}
    return nodes, pd.concat(edges, ignore_index=True) if edges else pd.DataFrame({"kind": []}), meta
