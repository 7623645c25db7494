"""The long exposure table: one row per holder, token (or issuer) and kind.

Columns ``holder, token_or_issuer, amount_usd, kind, as_of, source`` (further
columns such as ``note`` or ``derived`` are kept as edge metadata). Read from
a ``.csv`` file, or from a JSON document ``{"nodes": [...], "edges": [...]}``
whose edges are such rows (the layout of analysts' research notes), with an
optional node table giving node kinds.

Mapping onto the graph format
-----------------------------
In every row the holder is the side exposed to ``token_or_issuer``. The
row's ``kind`` is kept as the edge field ``relation``, with ``as_of``,
``source`` and any other column.

Version 2 (default):

==============  ==========================================================================
``backing``     claim ``debtor = token_or_issuer``, ``creditor = holder`` (a token is a claim
                on its issuer); when the holder is a ``token`` and ``token_or_issuer`` is not a
                base asset, ``token_or_issuer`` becomes the token's ``issuer`` (unless the node
                table declares one; with several, the largest backing)
``deposit``,    a ``holding`` of the holder on ``token_or_issuer`` when that is a node of kind
``collateral``  ``token`` or ``asset``; otherwise a claim as for ``backing``
``debt``        claim ``debtor = token_or_issuer``, ``creditor = holder`` ("holder = creditor,
                token_or_issuer = debtor")
==============  ==========================================================================

Version 1 (``version=1``, claims only): every row is a claim ``debtor =
token_or_issuer``, ``creditor = holder``, ``amount = amount_usd``.

A claim on a node of kind ``asset`` is a holding of that base asset and counts
in the holder's external assets (:mod:`exposure.network`). Nodes not in the
node table are created with kind ``protocol`` when there is no node table;
when there is one, they are errors. A node's ``name`` becomes its ``label``.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd

from ._common import decode_text, format_error, locate, object_frame, read_bytes, source_name
from ._csv import line_numbers, read_csv_table
from ._json import JsonLocator, json_path, parse_json_text
from .._params import check_number
from .._validation import _Collector, _check_numbers, _describe, _is_missing, build_tables, sort_problems
from ..exceptions import GraphFormatError, InvalidNetworkError, Problem
from ..network import ExposureNetwork

__all__ = ["read_exposure_table", "TABLE_COLUMNS", "TABLE_KINDS"]

TABLE_COLUMNS = ("holder", "token_or_issuer", "amount_usd", "kind", "as_of", "source")
TABLE_KINDS = ("backing", "collateral", "deposit", "debt")
_REQUIRED = ("holder", "token_or_issuer", "amount_usd", "kind")
_TEXT = ("holder", "token_or_issuer", "kind", "as_of", "source", "note")


def _read_rows(source, nodes):
    """Rows and node table of a table source; returns (rows, nodes, name, where_row, where_node)."""
    name = source_name(source)
    stream = not isinstance(source, (str, os.PathLike)) or os.fspath(source) == "-"
    text = None
    if stream:
        data, name = read_bytes(source)
        text = decode_text(data, name)
        if text.lstrip()[:1] not in ("[", "{"):
            return _csv_stream_rows(text, name, nodes)
    if stream or os.fspath(source).lower().endswith(".json"):
        if text is None:
            data, name = read_bytes(source)
            text = decode_text(data, name)
        doc = parse_json_text(text, name)
        key = "edges"
        if isinstance(doc, list):
            doc, key = {"edges": doc}, None
        if not isinstance(doc, dict) or not isinstance(doc.get("edges"), list):
            raise format_error("An exposure table in JSON is a list of rows or an object whose 'edges' is a list "
                               f"of rows. Got {_describe(doc)} instead.", name, "$ (line 1)")
        bad = [i for i, r in enumerate(doc["edges"]) if not isinstance(r, dict)]
        if bad:
            raise format_error(f"Each row must be an object. Got {_describe(doc['edges'][bad[0]])} instead.",
                               name, json_path(*([key] if key else []), bad[0]))
        rows = object_frame(doc["edges"])
        if nodes is None and isinstance(doc.get("nodes"), list):
            nodes = object_frame([n for n in doc["nodes"] if isinstance(n, dict)])
        loc = JsonLocator(text)

        def where_row(i, fld=None):
            parts = ([key] if key else []) + [int(i)]
            if fld and fld in rows.columns and rows[fld].iat[i] is not None:
                parts.append(fld)
            return f"{json_path(*parts)} (line {loc.line(parts)})"

        def where_node(i, fld=None):
            return f"{json_path('nodes', int(i))} (line {loc.line(['nodes', int(i)])})"
        return rows, nodes, name, where_row, where_node, doc
    path = os.fspath(source)
    rows = read_csv_table(path, text=_TEXT)
    cache: dict[int, int] = {}

    def where_row(i, fld=None):
        if i not in cache:
            cache.update(line_numbers(path, [i]))
        return f"line {cache.get(i, i + 2)}"
    return rows, nodes, name, where_row, (lambda i, fld=None: None), {}


def _csv_stream_rows(text: str, name: str, nodes):
    """A CSV table from standard input or a stream: parsed from a temporary copy, located by line."""

    fd, tmp = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        try:
            rows = read_csv_table(tmp, text=_TEXT)
        except GraphFormatError as err:
            raise GraphFormatError([p.at(file=name) for p in err.problems]) from None
        lines = line_numbers(tmp, range(len(rows)))
    finally:
        os.unlink(tmp)
    return rows, nodes, name, (lambda i, fld=None: f"line {lines.get(i, i + 2)}"), (lambda i, fld=None: None), {}


def _node_frame(nodes) -> pd.DataFrame | None:
    if nodes is None or isinstance(nodes, pd.DataFrame):
        return nodes
    return read_csv_table(os.fspath(nodes), text=("id", "kind", "label", "issuer", "name"))


def read_exposure_table(source, *, nodes=None, version: int = 2, strict: bool = True):
    """Read a long exposure table; return ``(network, problems)``.

    Parameters
    ----------
    source : path or file
        A ``.csv`` table, or a ``.json`` document (list of rows, or an object with
        ``edges`` rows and optional ``nodes``).
    nodes : DataFrame or path, optional
        Node table (``id``, ``kind``, ...). Needed for the version-2 mapping to tell
        tokens and base assets from protocols.
    version : {1, 2}
        The mapping (see the module notes).
    """
    check_number(version, "version", "read_exposure_table", lo=1, hi=2, integer=True)
    rows, nodes, name, where_row, where_node, doc = _read_rows(source, nodes)
    nodes = _node_frame(nodes)
    missing_cols = [c for c in _REQUIRED if c not in rows.columns]
    if missing_cols:
        raise format_error(f"The table has no column {' and no column '.join(map(repr, missing_cols))}; expected "
                           f"columns {', '.join(TABLE_COLUMNS)}. Found: {', '.join(map(str, rows.columns))}.",
                           name, "line 1" if not name.endswith(".json") else "$.edges")
    col = _Collector()
    m = len(rows)
    holder = rows["holder"].to_numpy(dtype=object)
    target = rows["token_or_issuer"].to_numpy(dtype=object)
    kind = rows["kind"].to_numpy(dtype=object)
    ok = np.ones(m, bool)

    def label(i):
        return f"{holder[i]}->{target[i]}"

    def add(i, fld, msg):
        col.add(("rows", fld, "error"), Problem("error", msg, table="rows", row=int(i), field=fld, node=label(i)))
        ok[i] = False

    for fld, vals in (("holder", holder), ("token_or_issuer", target)):
        for i, v in enumerate(vals):
            if _is_missing(v) or isinstance(v, float) and np.isnan(v):
                add(i, fld, f"Field {fld!r} of row {i} is required but missing.")
            elif not isinstance(v, str):
                add(i, fld, f"Field {fld!r} of row {label(i)!r} must be a node id (a string). "
                            f"Got {_describe(v)} instead.")
    for i, k in enumerate(kind):
        if k not in TABLE_KINDS:
            what = "is required but missing" if _is_missing(k) else \
                f"must be one of {', '.join(TABLE_KINDS)}. Got {_describe(k)} instead"
            add(i, "kind", f"Field 'kind' of row {label(i)!r} {what}.")
    for i in np.flatnonzero((holder == target) & ok):
        add(i, "token_or_issuer", f"Row {label(i)!r} has the same node as holder and token_or_issuer; a node "
                                  "cannot be exposed to itself.")
    before = len(col.problems)
    amount = _check_numbers(col, "rows", np.arange(m), "amount_usd", rows["amount_usd"].reset_index(drop=True),
                            None, 0.0, True, np.inf, label, text_input=not name.endswith(".json"),
                            what="row")
    ok[[p.row for p in col.problems[before:]]] = False
    ok &= np.isfinite(amount)

    # nodes: declared, or created from the rows
    if nodes is None:
        ids = pd.unique(pd.Series(np.concatenate([holder[ok], target[ok]]), dtype=object))
        node_frame = pd.DataFrame({"id": ids, "kind": "protocol"})
    else:
        node_frame = nodes.copy()
        if "id" in node_frame.columns:
            known = set(node_frame["id"].tolist())
            for i in np.flatnonzero(ok):
                for fld, v in (("holder", holder[i]), ("token_or_issuer", target[i])):
                    if v not in known:
                        add(i, fld, f"Field {fld!r} of row {label(i)!r} refers to unknown node {v!r}.")
                        break
    if "name" in node_frame.columns:
        lab = node_frame["name"]
        node_frame = node_frame.drop(columns="name")
        node_frame["label"] = (node_frame["label"].where(node_frame["label"].notna(), lab)
                               if "label" in node_frame.columns else lab)
    kinds = dict(zip(node_frame["id"].tolist(), node_frame["kind"].tolist())) \
        if "id" in node_frame.columns and "kind" in node_frame.columns else {}

    meta_cols = [c for c in rows.columns if c not in ("holder", "token_or_issuer", "amount_usd", "kind")]
    keep = np.flatnonzero(ok)
    tk = np.array([kinds.get(t) for t in target], dtype=object) if m else np.zeros(0, object)
    as_holding = np.zeros(m, bool)
    if version == 2:
        as_holding = np.isin(kind, ["deposit", "collateral"]) & np.isin(tk, ["token", "asset"])
    edges = pd.DataFrame({
        "kind": np.where(as_holding, "holding", "claim")[keep],
        "debtor": np.where(as_holding, None, target)[keep],
        "creditor": np.where(as_holding, None, holder)[keep],
        "holder": np.where(as_holding, holder, None)[keep],
        "token": np.where(as_holding, target, None)[keep],
        "amount": amount[keep],
        "relation": kind[keep],
    }, index=pd.RangeIndex(len(keep)))
    for c in meta_cols:
        edges[c] = rows[c].to_numpy(dtype=object)[keep]
    if version == 1 or not as_holding[keep].any():
        edges = edges.drop(columns=["holder", "token"])
    if version == 2:
        node_frame = _set_issuers(node_frame, holder, target, kind, amount, ok, kinds)
    node_table, tables, found = build_tables(node_frame, edges, version=version,
                                             text_input=not name.endswith(".json"))
    # edge problems refer to mapped edges: give them their table row
    row_of_edge = keep
    problems = []
    for p in col.finish() + found:
        if p.table == "edges" and p.row is not None:
            p = p.at(table="rows", row=int(row_of_edge[p.row]))
        problems.append(p)

    def where(p: Problem):
        if p.table == "rows" and p.row is not None:
            return where_row(p.row, p.field)
        if p.table == "nodes" and p.row is not None:
            return where_node(p.row, p.field)
        return None

    order = {"nodes": 0, "rows": 1}
    problems = locate(sorted(sort_problems(problems), key=lambda p: (order.get(p.table, -1),
                                                                      float("inf") if p.row is None
                                                                      else p.row)),
                      name, where)
    meta = {"version": version}
    for k in ("name", "as_of", "currency", "description"):
        if isinstance(doc.get(k), str):
            meta[k] = doc[k]
    meta.setdefault("name", os.path.splitext(os.path.basename(name))[0])
    meta["mapping"] = f"exposure-table v{version}"
    if strict and any(p.severity == "error" for p in problems):
        raise InvalidNetworkError(problems)
    return ExposureNetwork._assemble(node_table, tables, meta, tuple(problems)), problems


def _set_issuers(node_frame, holder, target, kind, amount, ok, kinds):
    """``issuer`` of each token from its largest ``backing`` row on a non-asset node."""
    sel = ok & (kind == "backing")
    sel &= np.array([kinds.get(h) == "token" and kinds.get(t) not in ("asset", None)
                     for h, t in zip(holder, target)], bool) if len(holder) else sel
    if not sel.any() or "id" not in node_frame.columns:
        return node_frame
    back = pd.DataFrame({"h": holder[sel], "t": target[sel], "a": amount[sel]})
    best = back.sort_values("a", ascending=False, kind="stable").drop_duplicates("h").set_index("h")["t"]
    node_frame = node_frame.copy()
    current = node_frame["issuer"] if "issuer" in node_frame.columns else pd.Series([None] * len(node_frame),
                                                                                     index=node_frame.index)
    declared = current.map(lambda v: not _is_missing(v) and not (isinstance(v, float) and np.isnan(v)))
    node_frame["issuer"] = np.where(declared.to_numpy(), current.to_numpy(dtype=object),
                                    node_frame["id"].map(best).to_numpy(dtype=object))
    node_frame["issuer"] = node_frame["issuer"].astype(object).where(node_frame["issuer"].notna(), None)
    return node_frame
