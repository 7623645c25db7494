"""DeFiLlama responses: protocols' token holdings, their loans, separately counted sections, pools.

Sources (saved JSON, recognised by their shape; docs/domain.md §4.1):

* ``/protocol/{slug}``: an object with ``name`` (and ``slug``), ``category``, ``chainTvls`` —
  per key a ``tvl`` series ``[{date, totalLiquidityUSD}]`` and token series ``tokensInUsd`` and
  ``tokens`` ``[{date, tokens: {SYMBOL: amount}}]`` — and flags ``doublecounted``,
  ``misrepresentedTokens``;
* ``/protocols``: a list of protocol summaries (``name, slug, category, tvl, chainTvls{key: usd},
  doublecounted, parentProtocol``);
* ``/lendBorrow`` (``yields.llama.fi``): a bare list of ``{pool, ltv, totalSupplyUsd,
  totalBorrowUsd, ...}``, joined on the ``pool`` UUID to
* ``/pools``: ``{status, data: [{pool, chain, project, symbol, tvlUsd, ...}]}``.

Mapping
-------
* Of each series the latest point dated on or before ``as_of`` (the last point without it).
* ``chainTvls[<Chain>].tokensInUsd`` (summed over chains) are the protocol's **holdings** of
  each token (a holding of the protocol on the token's symbol). For a lending protocol that is
  its cash, supplied minus borrowed.
* ``chainTvls[<Chain>-borrowed]`` are the protocol's **loans**: a claim of the protocol on an
  aggregate borrower ``<slug>/borrowers-<SYMBOL>`` per token, so supply = cash + borrowed. The
  export has no collateral: each borrower node's external assets are set equal to its debt
  (``estimate``), so that it is solvent at face value.
* ``staking``, ``pool2``, ``offers``, ``treasury``, ``vesting`` are kept apart as node fields
  ``<section>_usd`` and never added to holdings. A section counts per chain
  (``Ethereum-staking``) when any chain gives it, else by its aggregate key (``staking``).
* The protocol's depositors are outside the graph: its external liabilities are its holdings
  plus its loans (equity 0 at face value).
* ``doublecounted`` is set when the adapter flags it or the category is one DeFiLlama hides as
  double counted (:data:`~._venues.DEFILLAMA_DOUBLECOUNTED_CATEGORIES`), with the reason.
* With a price table, ``tokens`` (native amounts) are valued at its prices; tokens it does not
  price keep ``tokensInUsd``, with a warning.
* A protocol with TVL but no token breakdown (``misrepresentedTokens``, or only ``/protocols``)
  keeps its TVL as external assets, with a warning.
* ``/lendBorrow`` records add ``ltv`` (Aave: base LTV; Morpho: LLTV), ``supply_usd``,
  ``borrow_usd`` and ``pool`` to the holding of their (project, symbol); records that match no
  pool or no holding are counted in warnings.

Token keys are symbols, not addresses: ``USDC`` on two chains is one node.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import Notes, day_end, edge_frame, load_json, loans_to_borrowers, parse_date, slug, token_kind
from ._venues import DEFILLAMA_DOUBLECOUNTED_CATEGORIES, DEFILLAMA_SEPARATE_SECTIONS
from .._common import format_error

__all__ = ["import_defillama"]


def _shape(doc) -> str | None:
    if isinstance(doc, dict) and isinstance(doc.get("data"), list) and "status" in doc:
        return "pools"
    if isinstance(doc, dict) and isinstance(doc.get("chainTvls"), dict):
        return "protocol"
    if isinstance(doc, list) and doc and all(isinstance(r, dict) for r in doc):
        if "pool" in doc[0]:
            return "lendBorrow"
        if "chainTvls" in doc[0] or "tvl" in doc[0]:
            return "protocols"
    return None


def _latest(series, cutoff):
    """The last point of a DeFiLlama series dated on or before ``cutoff`` (UNIX seconds)."""
    best = None
    for p in series or []:
        if not isinstance(p, dict) or p.get("date") is None:
            continue
        d = float(p["date"])
        if (cutoff is None or d <= cutoff) and (best is None or d >= float(best["date"])):
            best = p
    return best


def _section(key: str) -> tuple[str | None, str]:
    """(chain or None, section or '') of a ``chainTvls`` key."""
    if key in DEFILLAMA_SEPARATE_SECTIONS:
        return None, key
    head, _, tail = key.rpartition("-")
    if head and tail in DEFILLAMA_SEPARATE_SECTIONS:
        return head, tail
    return key, ""


def _iso(ts) -> str:
    return parse_date(float(ts)).isoformat()


def import_defillama(sources, *, prices=None, as_of=None, positions: str = "aggregate",
                     notes: Notes | None = None):
    """Map saved DeFiLlama responses onto node and edge tables (see the module notes)."""
    notes = notes if notes is not None else Notes()
    cutoff = day_end(parse_date(as_of)) if as_of is not None else None
    details, summaries, lend, pools, names = [], [], [], {}, []
    for src in sources:
        doc, name = load_json(src)
        names.append(name)
        kind = _shape(doc)
        if kind is None:
            raise format_error("Not a DeFiLlama response this importer knows: expected /protocol/{slug} (an "
                               "object with chainTvls), /protocols (a list of protocols), /lendBorrow (a list of "
                               "records with 'pool') or /pools ({status, data}).", name, "$")
        if kind == "protocol":
            details.append((doc, name))
        elif kind == "protocols":
            summaries += [(r, name) for r in doc]
        elif kind == "lendBorrow":
            lend += [(r, name) for r in doc]
        else:
            for r in doc["data"]:
                if isinstance(r, dict) and r.get("pool"):
                    pools[r["pool"]] = r

    nodes: dict[str, dict] = {}
    tokens: dict[str, dict] = {}
    hold_rows: list[tuple] = []   # (slug, symbol, usd, date, source, chains, priced)
    loan_rows: list[tuple] = []

    def mark_doublecounted(rec, flagged, category):
        if flagged:
            rec["doublecounted"], rec["doublecounted_reason"] = True, "adapter flag doublecounted"
        elif category in DEFILLAMA_DOUBLECOUNTED_CATEGORIES:
            rec["doublecounted"] = True
            rec["doublecounted_reason"] = f"category {category!r} is counted by DeFiLlama as double counted"

    unpriced: dict[str, str] = {}
    for doc, name in details:
        sid = doc.get("slug") or slug(doc.get("name", name))
        rec = nodes.setdefault(sid, {"id": sid, "kind": "protocol", "label": doc.get("name", sid),
                                     "category": doc.get("category"), "source": name})
        mark_doublecounted(rec, doc.get("doublecounted"), doc.get("category"))
        chains = doc["chainTvls"]
        # a section counts per chain when any chain gives it, else by its aggregate key
        per_chain = {_section(k)[1] for k in chains if _section(k)[0] is not None and _section(k)[1]}
        held = False
        for key, body in chains.items():
            if not isinstance(body, dict):
                continue
            chain, section = _section(key)
            if section and chain is None and section in per_chain:
                continue
            if section and section != "borrowed":
                pt = _latest(body.get("tvl"), cutoff)
                if pt is not None:
                    f = f"{section}_usd"
                    rec[f] = rec.get(f, 0.0) + float(pt.get("totalLiquidityUSD") or 0)
                continue
            usd_pt = _latest(body.get("tokensInUsd"), cutoff)
            if usd_pt is None:
                continue  # no breakdown at this date (a protocol without any is handled below)
            native_pt = _latest(body.get("tokens"), cutoff) if prices is not None else None
            native = (native_pt or {}).get("tokens") or {}
            for sym, usd in (usd_pt.get("tokens") or {}).items():
                got = prices.get(sym) if prices is not None else None
                priced = None
                if prices is not None:
                    if got is not None and sym in native:
                        usd, priced = float(native[sym]) * got[0], got[1]
                    else:
                        unpriced.setdefault(sym, name)
                row = (sid, sym, float(usd), _iso(usd_pt["date"]), name, chain or "all", priced)
                (loan_rows if section == "borrowed" else hold_rows).append(row)
                held = held or not section
        if not held:
            tvl = _latest(doc.get("tvl"), cutoff)
            value = float(tvl.get("totalLiquidityUSD") or 0) if tvl else 0.0
            if value > 0:
                notes.add(name, "breakdown", "Protocols with TVL but no token breakdown (misrepresentedTokens or "
                                             "no tokensInUsd), whose TVL is kept as external assets: {n} ({items}).",
                          sid)
                rec["external_assets"] = value
        if doc.get("misrepresentedTokens"):
            rec["misrepresented_tokens"] = True

    for sym, name in unpriced.items():
        notes.add(name, "price", "Tokens the price table does not price, kept at DeFiLlama's tokensInUsd: {n} "
                                 "({items}).", sym)
    for r, name in summaries:
        sid = r.get("slug") or slug(r.get("name", ""))
        if not sid:
            continue
        rec = nodes.get(sid)
        if rec is None:
            rec = nodes[sid] = {"id": sid, "kind": "protocol", "label": r.get("name", sid),
                                "category": r.get("category"), "source": name}
            tvl = float(r.get("tvl") or 0)
            if tvl > 0:
                notes.add(name, "summary", "Protocols listed in /protocols only (no /protocol/{{slug}} file), "
                                           "whose TVL is kept as external assets: {n} ({items}).", sid)
                rec["external_assets"] = tvl
            for section in ("staking", "pool2"):
                v = r.get(section, (r.get("chainTvls") or {}).get(section))
                if isinstance(v, (int, float)) and v:
                    rec[f"{section}_usd"] = float(v)
        for k in ("category", "parentProtocol"):
            if r.get(k) and not rec.get(k):
                rec[k] = r[k]
        mark_doublecounted(rec, r.get("doublecounted"), rec.get("category"))

    def frame(rows):
        f = pd.DataFrame(rows, columns=["slug", "symbol", "usd", "date", "source", "chain", "priced"])
        return f.groupby(["slug", "symbol"], sort=False).agg(
            amount=("usd", "sum"), as_of=("date", "max"), source=("source", "first"),
            chains=("chain", lambda c: ",".join(sorted(set(c)))),
            price_as_of=("priced", "max")).reset_index()

    edges = []
    holds = frame(hold_rows)
    holds = holds[holds["amount"] > 0]
    loans = frame(loan_rows)
    loans = loans[loans["amount"] > 0]
    # /lendBorrow joined to /pools on the pool UUID, onto the holding of (project, symbol)
    extra = {c: np.full(len(holds), None, dtype=object) for c in ("ltv", "supply_usd", "borrow_usd", "pool")}
    if lend:
        where = {(s, y): i for i, (s, y) in enumerate(zip(holds["slug"], holds["symbol"]))}
        best: dict[int, float] = {}
        for r, name in lend:
            pool = pools.get(r.get("pool"))
            if pool is None:
                notes.add(name, "pool", "/lendBorrow records whose pool is not in the /pools file (left out): {n}.")
                continue
            i = where.get((pool.get("project"), pool.get("symbol")))
            if i is None:
                notes.add(name, "reserve", "/lendBorrow pools whose project and symbol match no imported holding "
                                           "(left out): {n} ({items}).", f"{pool.get('project')}:{pool.get('symbol')}")
                continue
            size = float(r.get("totalSupplyUsd") or 0)
            if i in best:
                notes.add(name, "pools", "/lendBorrow pools sharing a (project, symbol) with a larger pool, of "
                                         "which only the largest is kept: {n}.")
                if size <= best[i]:
                    continue
            best[i] = size
            extra["ltv"][i], extra["supply_usd"][i] = r.get("ltv"), r.get("totalSupplyUsd")
            extra["borrow_usd"][i], extra["pool"][i] = r.get("totalBorrowUsd"), r.get("pool")
    if len(holds):
        cols = {"holder": holds["slug"].to_numpy(dtype=object), "token": holds["symbol"].to_numpy(dtype=object),
                "amount": holds["amount"].to_numpy(), "relation": "holding", "chains": holds["chains"].to_numpy(),
                "price_as_of": holds["price_as_of"].to_numpy(dtype=object),
                "as_of": holds["as_of"].to_numpy(dtype=object), "source": holds["source"].to_numpy(dtype=object)}
        cols.update({k: v for k, v in extra.items() if any(x is not None for x in v)})
        edges.append(edge_frame("holding", cols))
    if len(loans):
        borrower = (loans["slug"] + "/borrowers-" + loans["symbol"]).to_numpy(dtype=object)
        claims, borrowers = loans_to_borrowers(loans["slug"].to_numpy(dtype=object), borrower,
                                               loans["amount"].to_numpy(), chains=loans["chains"].to_numpy(),
                                               as_of=loans["as_of"].to_numpy(dtype=object),
                                               source=loans["source"].to_numpy(dtype=object))
        edges.append(claims)
        nodes.update((b["id"], b) for b in borrowers)
    for sid, rec in list(nodes.items()):
        if rec["kind"] != "protocol":
            continue
        owned = float(holds.loc[holds["slug"] == sid, "amount"].sum() + loans.loc[loans["slug"] == sid,
                                                                                   "amount"].sum())
        rec["external_liabilities"] = owned + float(rec.get("external_assets", 0.0))
    syms = pd.unique(pd.concat([holds["symbol"], loans["symbol"]]))
    lower: dict[str, str] = {}
    for s in syms:
        if s.lower() in lower and lower[s.lower()] != s:
            notes.add(names[0], "case", "Token symbols that differ only in case, kept as different tokens (DeFiLlama "
                                        "keys tokens by symbol): {n} ({items}).", f"{lower[s.lower()]}/{s}")
        lower.setdefault(s.lower(), s)
        if s in nodes:
            continue
        rec = {"id": s, "kind": token_kind(s), "label": s}
        got = prices.get(s) if prices is not None else None
        if got:
            rec["price"], rec["price_as_of"] = got
        tokens[s] = rec
    out_nodes = pd.DataFrame.from_records(list(nodes.values()) + list(tokens.values()))
    dates = sorted(set(holds["as_of"]) | set(loans["as_of"]))
    meta = {"name": "defillama", "as_of": dates[-1] if dates else None, "currency": "USD",
            "description": f"Imported from DeFiLlama responses ({len(names)} file{'s' * (len(names) != 1)})."}
    out_edges = pd.concat(edges, ignore_index=True) if edges else pd.DataFrame({"kind": pd.Series([], dtype=object)})
    return out_nodes, out_edges, meta
