"""What every importer shares: reading saved responses, the price table, warnings with counts,
and assembling (or merging) the version-2 graph.

An importer turns its source into a node table and an edge table in the columns of the graph
format and hands them to :func:`assemble`, which validates them through
:meth:`exposure.network.ExposureNetwork.from_frames` (the one validation entry point), merges
them into an existing graph by node id when asked, and returns an :class:`ImportResult`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .._common import decode_text, format_error, read_bytes, source_name
from ._venues import BASE_ASSETS
from .._convert import to_frames
from .._graph import read_graph
from .._csv import line_numbers, read_csv_table
from .._json import parse_json_text
from ..._results import Result
from ..._validation import _describe
from ...exceptions import InvalidNetworkError, InvalidParameterError, Problem
from ...network import ExposureNetwork

__all__ = ["ImportResult", "Notes", "PriceTable", "read_prices", "load_json", "graphql_data", "parse_date",
           "assemble", "slug", "token_kind", "POSITION_MODES"]

#: How secured positions are kept: summed per (collateral, debt, e-mode) or one per account.
POSITION_MODES = ("aggregate", "user")


@dataclass(frozen=True, eq=False)
class ImportResult(Result):
    """A graph built from exports, with what could not be mapped.

    Attributes
    ----------
    network : ExposureNetwork
        The version-2 graph (merged into ``into`` when one was given).
    problems : tuple of Problem
        Warnings (with counts) for what the sources held and the graph does not: unknown
        tokens, missing prices, units that could not be inferred, inconsistent totals.
    kind : str
        The source kind (``defillama``, ``aave-subgraph``, ...).
    sources : tuple of str
        The files read.
    """

    network: ExposureNetwork
    problems: tuple[Problem, ...]
    kind: str
    sources: tuple[str, ...]
    converged: bool = True
    status: int = 0
    message: str = field(default="")

    def __post_init__(self):
        if not self.message:
            w = len(self.problems)
            object.__setattr__(self, "message", (
                f"imported {len(self.sources)} {self.kind} source{'s' * (len(self.sources) != 1)}: "
                f"{self.network.n} nodes, {self.n_edges} edges, {w} warning{'s' * (w != 1)}"))

    @property
    def n_edges(self) -> int:
        net = self.network
        return int(net.n_claims + len(net.holdings) + len(net.positions))

    def summary(self) -> dict[str, Any]:
        net = self.network
        return {**self._record(), "kind": self.kind, "sources": list(self.sources), "nodes": int(net.n),
                "claims": int(net.n_claims), "holdings": int(len(net.holdings)),
                "positions": int(len(net.positions)), "warnings": len(self.problems)}

    def to_frame(self) -> pd.DataFrame:
        """One row per warning: ``severity, file, message``."""
        return pd.DataFrame([{"severity": p.severity, "file": p.file, "message": p.message}
                             for p in self.problems], columns=["severity", "file", "message"])


class Notes:
    """Counts what an importer could not map, one warning per file and kind of problem.

    ``add(file, key, template, item)`` counts one occurrence; the warning text is
    ``template.format(n=count, items=first few items)``.
    """

    def __init__(self):
        self._seen: dict[tuple[str, str], list] = {}

    def add(self, file: str, key: str, template: str, item: Any = None, n: int = 1) -> None:
        entry = self._seen.setdefault((file, key), [template, 0, []])
        entry[1] += int(n)
        if item is not None and len(entry[2]) < 3 and item not in entry[2]:
            entry[2].append(item)

    def add_many(self, file: str, key: str, template: str, items: Iterable) -> None:
        items = list(items)
        if items:
            self.add(file, key, template, None, n=len(items))
            entry = self._seen[(file, key)]
            for it in items:
                if len(entry[2]) >= 3:
                    break
                if it not in entry[2]:
                    entry[2].append(it)

    def problems(self) -> list[Problem]:
        out = []
        for (file, _), (template, n, items) in self._seen.items():
            shown = ", ".join(map(str, items)) + (", ..." if n > len(items) and items else "")
            out.append(Problem("warning", template.format(n=n, s="s" * (n != 1), items=shown), file=file))
        return out


def slug(text: str) -> str:
    """A node id from a name: lower case, runs of spaces as ``-`` (``"Aave V3"`` -> ``"aave-v3"``)."""
    return "-".join(str(text).strip().lower().split())


def token_kind(symbol: str) -> str:
    """``asset`` for base assets (:data:`~._venues.BASE_ASSETS`), ``token`` otherwise."""
    return "asset" if symbol in BASE_ASSETS else "token"


def parse_date(value, what: str = "--as-of") -> _dt.date:
    """A date ``YYYY-MM-DD`` (or a UNIX timestamp in seconds); a clear error otherwise."""
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _dt.datetime.fromtimestamp(float(value), _dt.timezone.utc).date()
    try:
        return _dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InvalidParameterError(f"{what} must be a date YYYY-MM-DD. Got {value!r} instead.") from None


def day_end(date: _dt.date) -> float:
    """UNIX time of the last second of ``date`` (UTC)."""
    return _dt.datetime.combine(date, _dt.time(23, 59, 59), _dt.timezone.utc).timestamp()


def load_json(source) -> tuple[Any, str]:
    """A saved JSON response: ``(document, name)``, errors naming the file and line."""
    data, name = read_bytes(source)
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        doc = parse_json_text(decode_text(data, name), name)  # raises with file, line and column
    return doc, name


def graphql_data(doc, name: str, keys: tuple[str, ...]) -> dict:
    """The ``data`` object of a saved GraphQL response holding at least one of ``keys``."""
    if isinstance(doc, dict) and doc.get("errors") and not doc.get("data"):
        first = doc["errors"][0] if isinstance(doc["errors"], list) and doc["errors"] else doc["errors"]
        msg = first.get("message") if isinstance(first, dict) else first
        raise format_error(f"The saved response is a GraphQL error, not data: {msg!r}.", name, "$.errors")
    data = doc.get("data", doc) if isinstance(doc, dict) else None
    if not isinstance(data, dict) or not any(isinstance(data.get(k), list) for k in keys):
        raise format_error(f"A saved subgraph response is an object whose 'data' holds a list "
                           f"{' or '.join(map(repr, keys))}. Got {_describe(doc)} instead.", name, "$")
    return data


# ------------------------------------------------------------------------------- prices
@dataclass(frozen=True)
class PriceTable:
    """USD prices by token symbol, each with the date it was read (``token,price_usd,as_of``)."""

    prices: dict[str, tuple[float, str]]
    name: str
    #: tokens whose only prices are dated after the ``as_of`` the table was read for
    late: tuple[str, ...] = ()
    #: tokens looked up so far (an importer's warnings name only the late prices it used)
    used: set = field(default_factory=set, compare=False)

    def get(self, token: str) -> tuple[float, str] | None:
        got = self.prices.get(token)
        if got is not None:
            self.used.add(token)
        return got


def read_prices(source, as_of=None) -> PriceTable:
    """Read a price table CSV ``token,price_usd,as_of``.

    A token listed at several dates takes the latest price dated on or before ``as_of``
    (the latest of all without ``as_of``; the earliest when all are later, and the token is
    listed in ``late``, which the importers report as a warning). Prices must be
    finite and > 0; every bad row is reported with its line.

    >>> import io, tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "prices.csv")
    >>> _ = open(p, "w").write("token,price_usd,as_of\\nWETH,3000,2025-10-01\\nWETH,3900,2025-10-31\\n")
    >>> read_prices(p).get("WETH"), read_prices(p, as_of="2025-10-15").get("WETH")
    ((3900.0, '2025-10-31'), (3000.0, '2025-10-01'))
    """
    path = os.fspath(source)
    frame = read_csv_table(path, text=("token", "as_of", "price_usd"))
    missing = [c for c in ("token", "price_usd", "as_of") if c not in frame.columns]
    if missing:
        raise format_error(f"A price table has the columns token,price_usd,as_of; column "
                           f"{' and '.join(map(repr, missing))} {'is' if len(missing) == 1 else 'are'} missing. "
                           f"Found: {', '.join(map(str, frame.columns))}.", path, "line 1")
    bad: list[tuple[int, str]] = []
    rows = []
    for i, (tok, price, date) in enumerate(zip(frame["token"], frame["price_usd"], frame["as_of"])):
        try:
            p = float(price)
        except ValueError:
            p = float("nan")
        if not tok.strip():
            bad.append((i, f"Field 'token' of row {i} is required but missing."))
        elif not (np.isfinite(p) and p > 0):
            bad.append((i, f"Field 'price_usd' of token {tok!r} must be a finite number > 0. Got {price!r} instead."))
        else:
            try:
                d = parse_date(date, "Field 'as_of'").isoformat()
            except InvalidParameterError:
                bad.append((i, f"Field 'as_of' of token {tok!r} must be a date YYYY-MM-DD. Got {date!r} instead."))
                continue
            rows.append((tok.strip(), p, d))
    if bad:
        lines = line_numbers(path, [i for i, _ in bad])
        raise InvalidNetworkError([Problem("error", m, file=path, location=f"line {lines.get(i, i + 2)}",
                                           node=None) for i, m in bad])
    limit = parse_date(as_of).isoformat() if as_of is not None else None
    chosen: dict[str, tuple[float, str]] = {}
    for tok, p, d in sorted(rows, key=lambda r: r[2]):
        cur = chosen.get(tok)
        # dates ascend: a later row replaces the chosen one unless it is dated after the limit
        # (the earliest row stays when every row is)
        if cur is None or limit is None or d <= limit:
            chosen[tok] = (p, d)
    late = tuple(sorted(t for t, (_, d) in chosen.items() if limit is not None and d > limit))
    return PriceTable(chosen, path, late)


# ----------------------------------------------------------------------------- assembly
def _node_frame(records: list[dict] | pd.DataFrame) -> pd.DataFrame:
    if isinstance(records, pd.DataFrame):
        return records
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame({"id": []})
    return frame


def merge_frames(old_nodes: pd.DataFrame, old_edges: pd.DataFrame, nodes: pd.DataFrame,
                 edges: pd.DataFrame, notes: Notes, into_name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes and edges of ``into`` followed by the new ones; a node in both keeps the fields it has
    there and takes the new fields it lacks (warned when a kind differs)."""
    old = old_nodes.set_index("id", drop=False)
    new = nodes.set_index("id", drop=False)
    both = new.index.intersection(old.index)
    if len(both) and "kind" in new.columns:
        differ = [i for i in both if str(old.at[i, "kind"]) != str(new.at[i, "kind"])]
        notes.add_many(into_name, "kind", "Imported nodes already in the graph with another kind, which keep "
                                          "the kind they have there: {n} ({items}).", differ)
    merged = old.combine_first(new.loc[both]) if len(both) else old
    merged = merged.loc[old.index]
    out_nodes = pd.concat([merged, new.drop(index=both)], ignore_index=True)
    cols = ["id"] + [c for c in out_nodes.columns if c != "id"]
    out_edges = pd.concat([old_edges, edges], ignore_index=True) if len(old_edges) else edges
    return out_nodes[cols], out_edges


def assemble(nodes, edges: pd.DataFrame, *, kind: str, sources: list[str], notes: Notes, meta: dict,
             into=None, strict: bool = False) -> ImportResult:
    """Validate the imported tables (merged into ``into`` first), apply ``strict``, return the result."""
    nodes = _node_frame(nodes)
    if into is not None:
        old = into if isinstance(into, ExposureNetwork) else None
        if old is None:
            old = read_graph(into)
        on, oe = to_frames(old)
        nodes, edges = merge_frames(on, oe, nodes, edges, notes, source_name(into) if old is not into else
                                    old.meta.get("name", "graph"))
        meta = {**dict(old.meta), **{k: v for k, v in meta.items() if k not in ("name", "description")}}
    meta = {**meta, "version": 2}
    problems = notes.problems()
    if strict and problems:
        raise InvalidNetworkError([p.at(severity="error", message=p.message + " (--strict: warnings are errors)")
                                   for p in problems])
    net = ExposureNetwork.from_frames(nodes, edges, meta=meta)
    return ImportResult(network=net, problems=tuple(problems) + tuple(net.problems), kind=kind,
                        sources=tuple(sources))


def edge_frame(kind: str, columns: dict[str, Any], n: int | None = None) -> pd.DataFrame:
    """An edge table of one kind from column arrays (scalars are broadcast)."""
    if n is None:
        n = max((len(v) for v in columns.values() if not np.isscalar(v) and v is not None), default=0)
    frame = pd.DataFrame({k: (np.full(n, v, dtype=object) if np.isscalar(v) or v is None else v)
                          for k, v in columns.items()}, index=pd.RangeIndex(n))
    frame.insert(0, "kind", kind)
    return frame


#: Why an aggregate borrower of an export without collateral is given assets equal to its debt.
UNSEEN_COLLATERAL = "collateral not in the export: assets set equal to the debt (equity 0)"


def loans_to_borrowers(lenders, borrowers, amounts, **meta) -> tuple[pd.DataFrame, list[dict]]:
    """Claims of ``lenders`` on ``borrowers`` whose collateral the export does not give.

    Each borrower node gets external assets equal to what it owes (flagged ``estimate``), so that
    it is solvent at face value and a loss reaches the lender only through a shock. Returns the
    claim edges and the borrower node records.
    """
    lenders = np.asarray(lenders, dtype=object)
    borrowers = np.asarray(borrowers, dtype=object)
    amounts = np.asarray(amounts, dtype=float)
    edges = edge_frame("claim", {"debtor": borrowers, "creditor": lenders, "amount": amounts,
                                 "relation": "borrow", **meta}, n=len(borrowers))
    owed = pd.Series(amounts).groupby(borrowers, sort=False).sum()
    part = dict(zip(borrowers, lenders))
    nodes = [{"id": b, "kind": "position", "category": "borrower_group", "part_of": part[b],
              "external_assets": float(a), "estimate": True, "method": UNSEEN_COLLATERAL}
             for b, a in owed.items()]
    return edges, nodes
