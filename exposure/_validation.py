"""One validation entry point for node and edge tables, whatever file they came from.

:func:`build_tables` checks every record with vectorised operations and
returns the cleaned tables together with every :class:`Problem` found. A
problem names its table (``nodes``/``edges``), its 0-based row, its field and
its node; the loaders turn ``row`` into a line number (CSV) or a JSON path.

Missing versus invalid: a value is *missing* when it is absent, ``None`` or
an empty CSV cell; a missing optional field takes its default and a missing
required field is an error. ``NaN``, infinities, negative amounts and text
where a number is expected are always errors.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from .exceptions import Problem
from .schema import EDGE_KINDS, NODE_CHOICES, NODE_FIELDS, NODE_REFERENCES, kind_of_table

#: Problems of one kind (same table, field and message shape) listed in full; past that, a count.
MAX_PER_KIND = 50

_BASE_NODE_COLUMNS = ("kind", "label", "external_assets", "external_liabilities")


class _Collector:
    """Collects problems, capping each kind of problem at MAX_PER_KIND entries."""

    def __init__(self):
        self.problems: list[Problem] = []
        self._counts: dict[tuple, int] = {}

    def add(self, key: tuple, problem: Problem):
        n = self._counts.get(key, 0) + 1
        self._counts[key] = n
        if n <= MAX_PER_KIND:
            self.problems.append(problem)

    def finish(self) -> list[Problem]:
        for key, n in self._counts.items():
            if n > MAX_PER_KIND:
                table, fld, sev = key[0], key[1], key[2]
                self.problems.append(Problem(
                    sev, f"{n - MAX_PER_KIND} more {table} with the same problem in field {fld!r} "
                    f"({n} in all); only the first {MAX_PER_KIND} are listed.", table=table, field=fld))
        return self.problems


def _describe(v) -> str:
    if isinstance(v, str):
        return f"the string {v!r}"
    if isinstance(v, bool):
        return f"the boolean {str(v).lower()}"
    if isinstance(v, (list, dict)):
        return f"a {'list' if isinstance(v, list) else 'object'}"
    return repr(v)


def _is_missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, str) and v.strip() == "")


def text_masks(values) -> tuple[np.ndarray, np.ndarray]:
    """``(missing, is_string)`` masks of a text column, vectorised for string and categorical dtypes.

    Missing means absent, ``None``/NA or blank text (as :func:`_is_missing`).
    """
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object), dtype=object)
    if isinstance(s.dtype, pd.CategoricalDtype):
        cat_missing, cat_str = text_masks(s.cat.categories.to_numpy(dtype=object))
        codes = np.asarray(s.array.codes)
        have = codes >= 0
        safe = np.where(have, codes, 0)
        missing = np.where(have, cat_missing[safe] if len(cat_missing) else True, True)
        return missing, np.where(have, cat_str[safe] if len(cat_str) else False, False)
    if s.dtype != object and pd.api.types.is_string_dtype(s.dtype):
        na = s.isna().to_numpy()
        blank = _blank(s.to_numpy(dtype=object), ~na)
        return na | blank, ~na
    obj = s.to_numpy(dtype=object)
    if len(obj) and pd.api.types.infer_dtype(obj, skipna=False) == "string":  # all str, checked in C
        return _blank(obj, np.ones(len(obj), bool)), np.ones(len(obj), bool)
    isstr = np.fromiter((isinstance(v, str) for v in obj), bool, len(obj))
    missing = np.fromiter((_is_missing(v) for v in obj), bool, len(obj))
    return missing, isstr


_ISSPACE = np.frompyfunc(lambda v: v == "" or v.isspace(), 1, 1)


def _blank(obj: np.ndarray, isstr: np.ndarray) -> np.ndarray:
    """Empty or whitespace-only strings among ``obj[isstr]``.

    A string whose first character is visible ASCII (``!`` to ``~``) is not blank; that is told
    for every string at once (Arrow, in C), and only the others (empty, or starting with a space,
    a control or a non-ASCII character) are looked at one by one with :meth:`str.isspace`.
    """
    out = np.zeros(len(obj), bool)
    if isstr.any():
        pos = np.flatnonzero(isstr)
        text = obj[pos]
        try:
            visible = pc.match_substring_regex(pa.array(text, type=pa.string()), r"^[!-~]")
            maybe = ~visible.to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # pragma: no cover - strings Arrow cannot take
            maybe = np.ones(len(pos), bool)
        if maybe.any():
            out[pos[maybe]] = _ISSPACE(text[maybe]).astype(bool)
    return out


def numeric_column(raw: pd.Series, *, text_input: bool):
    """Parse a column of numbers.

    Returns ``(values, missing, bad)``: float64 values (NaN where missing or bad),
    a boolean mask of missing values and a list of ``(position, description)``
    for values that are present but not numbers.
    """
    if isinstance(raw.dtype, pd.api.extensions.ExtensionDtype) and raw.dtype.kind in "fiu":
        # a masked column (Arrow readers): masked = missing, NaN = a value, and invalid
        missing = raw.isna().to_numpy()
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan).copy()
        nan = np.flatnonzero(np.isnan(values) & ~missing)
        return values, missing, [(int(i), "NaN") for i in nan]
    if raw.dtype.kind in "fiu":
        values = raw.to_numpy(dtype=np.float64, copy=True)
        return values, np.isnan(values), []
    if raw.dtype.kind == "b":
        return (np.full(len(raw), np.nan), np.zeros(len(raw), bool),
                [(i, _describe(bool(v))) for i, v in enumerate(raw)])
    if not text_input and len(raw) and pd.api.types.infer_dtype(raw, skipna=False) in (
            "floating", "integer", "mixed-integer-float"):
        # only Python / numpy numbers (no None, text or booleans): checked in C
        try:
            values = raw.to_numpy(dtype=np.float64, copy=True)
        except (OverflowError, TypeError, ValueError):
            pass
        else:
            return values, np.zeros(len(raw), bool), [(int(i), "NaN") for i in np.flatnonzero(np.isnan(values))]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    missing = np.zeros(len(raw), bool)
    bad = []
    obj = raw.to_numpy(dtype=object)
    check = np.flatnonzero(np.isnan(values))
    if not text_input:
        # JSON / Python input: a string or a boolean is a wrong type even if it looks like a number.
        types = pd.Series(obj).map(type)
        check = np.union1d(check, np.flatnonzero(~types.isin([float, int, type(None)]).to_numpy()
                                                 & ~pd.Series(obj).map(lambda v: isinstance(v, (float, int, np.number)) and not isinstance(v, bool)).to_numpy()))
    for i in check:
        v = obj[i]
        if _is_missing(v):
            missing[i] = True
            values[i] = np.nan
        elif isinstance(v, float) and math.isnan(v) or (isinstance(v, str) and v.strip().lower() == "nan"):
            values[i] = np.nan
            bad.append((i, "NaN"))
        elif text_input and isinstance(v, str) and math.isinf(_overflow(v)):
            values[i] = _overflow(v)      # "1e400": a number too large for a float (pandas 2 says NaN)
        else:
            values[i] = np.nan
            bad.append((i, _describe(v)))
    return values, missing, bad


def _overflow(text: str) -> float:
    """``float(text)`` when it overflows to an infinity, else NaN (what pandas 3 and Arrow read)."""
    try:
        x = float(text)
    except ValueError:
        return math.nan
    return x if math.isinf(x) else math.nan


def _node_label(ids: np.ndarray, i: int):
    return str(ids[i]) if ids is not None and i < len(ids) else None


def _check_numbers(col: _Collector, table: str, rows: np.ndarray, fld: str, raw: pd.Series,
                   default, lo, lo_ok, hi, names, *, text_input, what: str):
    """Validate one numeric field; return float64 values with defaults filled."""
    values, missing, bad = numeric_column(raw, text_input=text_input)
    key = (table, fld, "error")
    for i, desc in bad:
        col.add(key, Problem("error", f"Field {fld!r} of {what} {names(i)!r} must be a finite number. "
                             f"Got {desc} instead.", table=table, row=int(rows[i]), field=fld, node=names(i)))
    if default is None:
        for i in np.flatnonzero(missing):
            col.add(key, Problem("error", f"Field {fld!r} of {what} {names(i)!r} is required but missing.",
                                 table=table, row=int(rows[i]), field=fld, node=names(i)))
    elif isinstance(default, float):
        values[missing] = default
    with np.errstate(invalid="ignore"):
        out = np.isinf(values) | (values < lo) | ((values == lo) & (not lo_ok)) | (values > hi)
    for i in np.flatnonzero(out):
        lo_txt = "(" if not lo_ok else "["
        hi_txt = "]" if np.isfinite(hi) else ")"
        rng = f"in {lo_txt}{lo:g}, {hi:g}{hi_txt}" if np.isfinite(hi) else (
            "a finite non-negative number" if lo_ok and lo == 0 else f"a finite number > {lo:g}")
        if np.isfinite(hi):
            rng = f"a number {rng}"
        col.add(key, Problem("error", f"Field {fld!r} of {what} {names(i)!r} must be {rng}. "
                             f"Got {float(values[i])!r} instead.", table=table, row=int(rows[i]), field=fld, node=names(i)))
    return values


def _is_absent_reference(v) -> bool:
    """A missing node reference: absent, None/NA, blank text, or NaN (pandas turns None into NaN)."""
    return _is_missing(v) or (isinstance(v, float) and math.isnan(v))


def _node_reference(col: _Collector, raw: pd.Series, fld: str, ids: np.ndarray, kinds_of: dict, names,
                    ok: np.ndarray) -> np.ndarray:
    """Validate a node field that names another node (:data:`~exposure.schema.NODE_REFERENCES`).

    Absent values (see :func:`_is_absent_reference`) become None. ``denomination`` must name a
    node of kind ``asset``; no node may name itself. Invalid rows are cleared in ``ok``.
    """
    values = raw.to_numpy(dtype=object, copy=True)
    for i, v in enumerate(values):
        if _is_absent_reference(v):
            values[i] = None
            continue
        if not isinstance(v, str) or v not in kinds_of:
            msg = f"Field {fld!r} of node {names(i)!r} must be the id of a node in the graph. Got {_describe(v)} instead."
        elif v == ids[i]:
            msg = f"Node {names(i)!r} cannot be its own {fld}."
        elif fld == "denomination" and kinds_of[v] != "asset":
            msg = (f"Field 'denomination' of node {names(i)!r} must name a base asset (a node of kind 'asset'). "
                   f"Got {v!r}, a node of kind {kinds_of[v]!r}.")
        else:
            continue
        col.add(("nodes", fld, "error"), Problem("error", msg, table="nodes", row=i, field=fld, node=names(i)))
        ok[i] = False
    return values


def build_nodes(nodes: pd.DataFrame, col: _Collector, *, version: int, text_input: bool):
    """Validate the node table; return (table indexed by id, mask of valid rows, mask of valid unique ids)."""
    nodes = nodes.copy()
    if "id" not in nodes.columns:
        nodes = nodes.rename_axis("id").reset_index() if not isinstance(nodes.index, pd.RangeIndex) else nodes
    n = len(nodes)
    if n == 0:
        col.add(("nodes", "id", "empty"), Problem("error", "The graph has no nodes; expected at least one.",
                                                  table="nodes", field="nodes"))
    rows = np.arange(n)
    ok = np.ones(n, bool)
    if "id" not in nodes.columns:
        if n:
            col.add(("nodes", "id", "error"), Problem("error", "The node table has no field 'id'.",
                                                      table="nodes", field="id"))
        ids = np.array([f"#{i}" for i in range(n)], dtype=object)
        ok[:] = False
        id_ok = np.zeros(n, bool)
    else:
        ids = nodes["id"].to_numpy(dtype=object)
        id_missing, id_str = text_masks(nodes["id"])
        for i in np.flatnonzero(id_missing | ~id_str):
            v = ids[i]
            if not isinstance(v, str) or not v.strip():
                col.add(("nodes", "id", "error"), Problem(
                    "error", ("Field 'id' of node number " + str(i) + (" is required but missing." if _is_missing(v)
                              else f" must be a non-empty string. Got {_describe(v)} instead.")),
                    table="nodes", row=i, field="id"))
                ok[i] = False
        index = pd.Index(ids, name="id", dtype=object)
        # the hash table that tells uniqueness is the one every later lookup of a node id uses
        s = None if index.is_unique else pd.Series(ids)
        dup = np.zeros(n, bool) if s is None else s.duplicated(keep="first").to_numpy() & ok
        first = {}
        for i in (np.flatnonzero(s.duplicated(keep=False).to_numpy() & ok) if dup.any() else ()):
            first.setdefault(ids[i], i)
        for i in np.flatnonzero(dup):
            col.add(("nodes", "id", "duplicate"), Problem(
                "error", f"Duplicate node id {ids[i]!r}: it is already defined by node number {first[ids[i]]}.",
                table="nodes", row=int(i), field="id", node=ids[i]))
            ok[i] = False
        id_ok = ok.copy()

    def names(i):
        return _node_label(ids, i)

    table = pd.DataFrame(index=index if "id" in nodes.columns else pd.Index(ids, name="id", dtype=object))
    kind_col = nodes["kind"] if "kind" in nodes.columns else pd.Series([None] * n, dtype=object)
    k_missing, k_str = text_masks(kind_col)
    kind = np.where(k_missing, "protocol", kind_col.to_numpy(dtype=object)) if n else \
        kind_col.to_numpy(dtype=object)
    for i in np.flatnonzero(~k_str & ~k_missing):
        col.add(("nodes", "kind", "error"), Problem(
            "error", f"Field 'kind' of node {names(i)!r} must be a string. Got {_describe(kind[i])} instead.",
            table="nodes", row=int(i), field="kind", node=names(i)))
        ok[i] = False
    table["kind"] = kind.astype(object)
    if "label" in nodes.columns:
        label = nodes["label"].to_numpy(dtype=object)
        table["label"] = np.where(text_masks(nodes["label"])[0], ids, label) if n else label
    else:
        table["label"] = ids.copy()
    for fld, (default, lo, lo_ok, hi, fver) in NODE_FIELDS.items():
        if fld not in nodes.columns:
            if fver <= 1 or fld == "price" and version >= 2:
                table[fld] = np.full(n, default if default is not None else np.nan, dtype=np.float64)
            continue
        before = len(col.problems)
        vals = _check_numbers(col, "nodes", rows, fld, nodes[fld],
                              np.nan if default is None else float(default), lo, lo_ok, hi, names,
                              text_input=text_input, what="node")
        bad = {p.row for p in col.problems[before:]}
        ok[list(bad)] = False
        table[fld] = vals
    kinds_of = dict(zip(ids.tolist(), kind.tolist())) if n and any(f in nodes.columns for f in NODE_REFERENCES) \
        else {}
    for fld in NODE_REFERENCES:
        if fld in nodes.columns:
            table[fld] = _node_reference(col, nodes[fld], fld, ids, kinds_of, names, ok)
    for fld, (allowed, default, _) in NODE_CHOICES.items():
        if fld in nodes.columns:
            table[fld] = _node_choice(col, nodes[fld], fld, allowed, default, names, ok)
    for c in nodes.columns:
        if c not in table.columns and c != "id":
            table[c] = nodes[c].to_numpy()
    return table, ok, id_ok


def _node_choice(col: _Collector, raw: pd.Series, fld: str, allowed: tuple, default: str, names,
                 ok: np.ndarray) -> np.ndarray:
    """Validate a text node field with a fixed set of values (:data:`~exposure.schema.NODE_CHOICES`):
    a missing value takes the default; any other value not allowed is an error."""
    values = raw.to_numpy(dtype=object, copy=True)
    missing, _ = text_masks(raw)
    values[missing | pd.isna(raw).to_numpy()] = default
    for i in np.flatnonzero(~np.isin(values, list(allowed))):
        col.add(("nodes", fld, "error"), Problem(
            "error", f"Field {fld!r} of node {names(i)!r} must be one of {', '.join(allowed)}. "
            f"Got {_describe(values[i])} instead.", table="nodes", row=int(i), field=fld, node=names(i)))
        ok[i] = False
    return values


def _edge_name(kind, refs, arrays, i):
    return "->".join(str(arrays[r][i]) for r in refs[:2])


def _edge_denomination(col: _Collector, raw: pd.Series, node_index: pd.Index, asset_mask: np.ndarray,
                       rows: np.ndarray, names, ok: np.ndarray) -> np.ndarray:
    """Validate the ``denomination`` of claim edges: absent, or the id of a node of kind ``asset``."""
    values = raw.to_numpy(dtype=object, copy=True)
    missing, isstr = text_masks(raw)
    absent = missing | raw.isna().to_numpy()
    values[absent] = None
    pos = np.full(len(values), -1, dtype=np.int64)
    text = isstr & ~absent
    if text.any():
        pos[text] = node_index.get_indexer(values[text].astype(object))
    ok_den = absent | ((pos >= 0) & asset_mask[np.maximum(pos, 0)] if len(asset_mask) else absent)
    for i in np.flatnonzero(~ok_den):  # only the invalid values are looked at one by one
        v = values[i]
        if pos[i] < 0:
            msg = (f"Field 'denomination' of claim {names(i)!r} must be the id of a base asset in the graph. "
                   f"Got {_describe(v) if not isinstance(v, str) else f'unknown node {v!r}'} instead.")
        else:
            msg = (f"Field 'denomination' of claim {names(i)!r} must name a base asset (a node of kind 'asset'). "
                   f"Got {v!r}, which is not of kind 'asset'.")
        col.add(("edges", "denomination", "error"), Problem("error", msg, table="edges", row=int(rows[i]),
                                                            field="denomination", node=names(i)))
        ok[i] = False
    return values


def build_edge_table(kind, sub: pd.DataFrame, node_index: pd.Index, asset_mask: np.ndarray,
                     col: _Collector, *, text_input: bool):
    """Validate the edges of one kind; return (table, mask of valid rows)."""
    spec = EDGE_KINDS[kind]
    m = len(sub)
    rows = sub.index.to_numpy()
    ok = np.ones(m, bool)
    out = {}
    raw_refs = {}
    for r in spec.refs:
        # positional access without materialising a column of Python strings
        raw_refs[r] = sub[r].array if r in sub.columns else np.full(m, None, dtype=object)
    names = lambda i: _edge_name(kind, spec.refs, raw_refs, i)  # noqa: E731
    dtype = pd.CategoricalDtype(node_index, ordered=False)
    for r in spec.refs:
        vals = raw_refs[r]
        col_r = sub[r] if r in sub.columns else pd.Series(vals, dtype=object)
        # node ids are strings, so a value that matches one is a valid reference; values that
        # match none (missing, not a string, unknown) are told apart below, one by one
        if isinstance(col_r.dtype, pd.CategoricalDtype):
            # resolve each category once, then map the codes
            cats = col_r.cat.categories
            k = len(node_index)
            raw_codes = np.asarray(col_r.array.codes)
            if len(cats) >= k and (cats is node_index or cats[:k].equals(node_index)):
                # the readers' categories: the node ids, then the unknown values (hashed already)
                if len(cats) == k:
                    codes = raw_codes.copy()  # already codes of node_index, -1 where missing
                else:
                    cat_pos = np.full(len(cats), -1, dtype=np.int64)
                    cat_pos[:k] = np.arange(k)
                    cat_pos[k:] = node_index.get_indexer(cats[k:].astype(object))
                    codes = np.where(raw_codes >= 0, cat_pos[np.maximum(raw_codes, 0)], -1)
            else:
                cat_pos = node_index.get_indexer(cats.astype(object))
                codes = np.where(raw_codes >= 0, cat_pos[np.maximum(raw_codes, 0)] if len(cat_pos) else -1, -1)
        else:
            codes = node_index.get_indexer(np.asarray(vals, dtype=object))
        codes = np.asarray(codes)
        for i in np.flatnonzero(codes < 0):
            v = vals[i]
            if _is_missing(v) or isinstance(v, float) and math.isnan(v):
                msg = f"Field {r!r} of {kind} edge number {rows[i]} is required but missing."
            elif not isinstance(v, str):
                msg = f"Field {r!r} of {kind} {names(i)!r} must be a node id (a string). Got {_describe(v)} instead."
            else:
                msg = f"Field {r!r} of {kind} {names(i)!r} refers to unknown node {v!r}."
            col.add(("edges", r, "error"), Problem("error", msg, table="edges", row=int(rows[i]), field=r,
                                                   node=names(i)))
        valid = codes >= 0
        ok &= valid
        codes = codes.astype(np.int32, copy=False) if valid.all() else np.where(valid, codes, -1).astype(np.int32)
        out[r] = pd.Categorical.from_codes(codes, dtype=dtype, validate=False)
    a, b = (np.asarray(out[spec.refs[0]].codes), np.asarray(out[spec.refs[1]].codes))
    for i in np.flatnonzero((a == b) & (a >= 0)):
        col.add(("edges", spec.refs[0], "self"), Problem(
            "error", f"{kind.capitalize()} edge {names(i)!r} has the same node as {spec.refs[0]} and "
            f"{spec.refs[1]}; self-{kind}s are not allowed.", table="edges", row=int(rows[i]),
            field=spec.refs[1], node=names(i)))
        ok[i] = False
    if kind == "claim" and len(asset_mask):
        cred = np.asarray(out["creditor"].codes)
        for i in np.flatnonzero((cred >= 0) & asset_mask[np.maximum(cred, 0)]):
            col.add(("edges", "creditor", "asset"), Problem(
                "error", f"Claim {names(i)!r}: creditor {raw_refs['creditor'][i]!r} is a base asset "
                "(kind 'asset'), which cannot hold claims.", table="edges", row=int(rows[i]),
                field="creditor", node=names(i)))
            ok[i] = False
    if kind == "claim" and "denomination" in sub.columns:
        out["denomination"] = _edge_denomination(col, sub["denomination"], node_index, asset_mask, rows, names, ok)
    what = f"{kind} edge"
    named = lambda i: names(i)  # noqa: E731
    for f in spec.amounts:
        if f not in sub.columns:
            raw = pd.Series([None] * m, dtype=object)
        else:
            raw = sub[f].reset_index(drop=True)
        before = len(col.problems)
        out[f] = _check_numbers(col, "edges", rows, f, raw, None, 0.0, True, np.inf, named,
                                text_input=text_input, what=what)
        ok &= ~np.isin(rows, [p.row for p in col.problems[before:]]) if len(col.problems) > before else True
        ok &= np.isfinite(out[f]) & (out[f] >= 0)
    for f, default in spec.fractions.items():
        raw = sub[f].reset_index(drop=True) if f in sub.columns else pd.Series([None] * m, dtype=object)
        vals = _check_numbers(col, "edges", rows, f, raw, None if default is None else float(default),
                              0.0, True, 1.0, named, text_input=text_input, what=what)
        ok &= np.isfinite(vals) & (vals >= 0) & (vals <= 1)
        out[f] = vals
    for f, (allowed, default) in spec.choices.items():
        vals = sub[f].to_numpy(dtype=object) if f in sub.columns else np.full(m, None, dtype=object)
        vals = np.array([default if _is_missing(v) else v for v in vals], dtype=object)
        for i in np.flatnonzero(~np.isin(vals, list(allowed))):
            col.add(("edges", f, "error"), Problem(
                "error", f"Field {f!r} of {kind} {names(i)!r} must be one of {', '.join(allowed)}. "
                f"Got {_describe(vals[i])} instead.", table="edges", row=int(rows[i]), field=f, node=names(i)))
            ok[i] = False
        out[f] = vals
    index = sub.index.rename("edge") if isinstance(sub.index, pd.RangeIndex) else pd.Index(rows, name="edge")
    table = pd.DataFrame(out, index=index, copy=False)
    for c in sub.columns:
        if c not in spec.fields and c != "kind" and c not in out:
            v = sub[c]
            if v.notna().any():
                table[c] = v.to_numpy()
    if kind == "claim" and m:
        _duplicate_claims(col, a, b, ok, rows, len(node_index), names)
    return table, ok


def strictly_sorted(rows: np.ndarray, cols: np.ndarray) -> bool:
    """Whether the pairs ``(rows[k], cols[k])`` strictly increase (sorted by row, then column,
    none repeated), as in an export sorted by debtor, then creditor. Two comparisons of
    neighbours, no combined key."""
    if len(rows) < 2:
        return True
    r0, r1 = rows[:-1], rows[1:]
    if not (r1 >= r0).all():
        return False
    return bool(((r1 != r0) | (cols[1:] > cols[:-1])).all())


def _duplicate_claims(col: _Collector, a, b, ok, rows, n: int, names) -> None:
    """Warn about claims between the same debtor and creditor (they are summed).

    A (debtor, creditor) pair that strictly increases (an export sorted by debtor, then creditor)
    has none; otherwise a sparse pattern with duplicates summed tells cheaply whether there are
    any; only then are the repeated pairs grouped (sorting, no per-pair scan).
    """
    every = bool(ok.all())
    sel = None if every else np.flatnonzero(ok)
    m = len(ok) if every else len(sel)
    if m < 2:
        return
    aa, bb = (a, b) if every else (a[sel], b[sel])
    if strictly_sorted(aa, bb):
        return  # sorted by debtor, then creditor (as exports often are), without a repeated pair
    key = aa.astype(np.int64) * max(n, 1) + bb
    pattern = sp.csr_array((np.ones(m, np.int8), (aa, bb)), shape=(max(n, 1), max(n, 1)))
    pattern.sum_duplicates()
    if pattern.nnz == m:
        return
    if sel is None:
        sel = np.arange(m)
    dup = pd.Series(key).duplicated(keep=False).to_numpy()
    pos = sel[dup]
    order = np.argsort(key[dup], kind="stable")
    pos, k = pos[order], key[dup][order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    ends = np.r_[starts[1:], len(k)]
    # groups in file order of their first edge
    first = pos[starts]
    tag = ("edges", "debtor", "warning")
    for g in np.argsort(first, kind="stable")[:MAX_PER_KIND]:
        members = pos[starts[g]:ends[g]]
        rs = [int(rows[i]) for i in members]
        i = int(members[0])
        col.add(tag, Problem(
            "warning", f"Claim {names(i)!r} appears {len(rs)} times (edges {', '.join(map(str, rs))}); "
            "the amounts are summed.", table="edges", row=rs[0], field="amount", node=names(i)))
    rest = len(starts) - min(len(starts), MAX_PER_KIND)
    if rest:
        col._counts[tag] = col._counts.get(tag, 0) + rest


def _edge_kinds(edges: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(values, codes)``: the edge kinds as written (a missing kind is ``"claim"``) and each row's
    position among ``values``, so that ``values[codes]`` is the kind of every row. A categorical
    column (the Arrow readers) is judged once per category, not once per row."""
    m = len(edges)
    if "kind" not in edges.columns:
        return np.array(["claim"], dtype=object), np.zeros(m, np.intp)  # every edge is a claim
    raw = edges["kind"]
    if isinstance(raw.dtype, pd.CategoricalDtype):
        cats = raw.cat.categories.to_numpy(dtype=object)
        values = np.append(np.where(text_masks(cats)[0], "claim", cats) if len(cats) else cats, "claim")
        codes = np.asarray(raw.array.codes).astype(np.intp)
        codes[codes < 0] = len(cats)
        return values.astype(object), codes
    kinds = raw.to_numpy(dtype=object)
    kinds = np.where(text_masks(raw)[0], "claim", kinds) if m else kinds
    return kinds.astype(object), np.arange(m, dtype=np.intp)


def build_tables(nodes: pd.DataFrame, edges: pd.DataFrame | None, *, version: int = 1,
                 text_input: bool = False):
    """Validate a node and an edge table.

    Returns ``(node_table, {"claims": ..., "holdings": ..., "positions": ...}, problems)``.
    Rows with errors are left out of the returned tables.
    """
    col = _Collector()
    if version not in (1, 2):
        col.add(("document", "version", "error"), Problem(
            "error", f"Field 'version' must be 1 or 2. Got {version!r} instead.", field="version"))
    node_table, node_ok, id_ok = build_nodes(nodes, col, version=version, text_input=text_input)
    # Edges are resolved against every node with a valid, unique id, so that an edge to a node
    # with a bad field is not also reported as "unknown node"; such edges are then left out.
    known = node_table if id_ok.all() else node_table[id_ok]
    node_index = known.index
    asset_mask = (known["kind"] == "asset").to_numpy()
    if edges is None:
        edges = pd.DataFrame({"kind": pd.Series([], dtype=object)})
    kind_values, kind_codes = _edge_kinds(edges)
    tables = {}
    for kind, spec in EDGE_KINDS.items():
        mask = (kind_values == kind)[kind_codes]
        if mask.any() and spec.version > version:
            for i in np.flatnonzero(mask):
                col.add(("edges", "kind", "version"), Problem(
                    "error", f"Edge kind {kind!r} needs format version {spec.version}; the document declares "
                    f"version {version}.", table="edges", row=int(edges.index[i]), field="kind"))
            mask = np.zeros_like(mask)
        sub = edges if mask.all() else edges[mask]
        table, ok = build_edge_table(kind, sub, node_index, asset_mask, col, text_input=text_input)
        tables[spec.table] = table if ok.all() else table[ok]
    node_table = node_table if node_ok.all() else node_table[node_ok]
    if len(node_table) < len(known):
        # re-code edge references onto the nodes that remain; drop edges touching invalid nodes
        new_code = node_table.index.get_indexer(node_index)
        dtype = pd.CategoricalDtype(node_table.index, ordered=False)
        for name, table in tables.items():
            spec = kind_of_table(name)
            keep = np.ones(len(table), bool)
            recoded = {}
            for r in spec.refs:
                codes = new_code[np.asarray(table[r].cat.codes)]
                keep &= codes >= 0
                recoded[r] = codes
            table = table[keep].copy()
            for r in spec.refs:
                table[r] = pd.Categorical.from_codes(recoded[r][keep].astype(np.int32), dtype=dtype)
            tables[name] = table
    known = set(EDGE_KINDS)
    for i in np.flatnonzero(~np.isin(kind_values, list(known))[kind_codes]):
        allowed = ", ".join(k for k, s in EDGE_KINDS.items() if s.version <= max(version, 1))
        col.add(("edges", "kind", "unknown"), Problem(
            "error", f"Field 'kind' of edge number {edges.index[i]} must be one of {allowed}. "
            f"Got {_describe(kind_values[kind_codes[i]])} instead.", table="edges", row=int(edges.index[i]),
            field="kind"))
    return node_table, tables, col.finish()


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems in file order: nodes first, then edges, by row; a table's problems without a row
    (counts of problems not listed, an empty table) come after its rows."""
    order = {"document": 0, "nodes": 1, "edges": 2}
    return sorted(problems, key=lambda p: (order.get(p.table or "document", 3),
                                           float("inf") if p.row is None else p.row))
