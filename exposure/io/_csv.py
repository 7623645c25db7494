"""The CSV form of the graph format: ``nodes.csv`` and ``edges.csv``.

The columns are the field names of the JSON form (``id, kind, label,
external_assets, external_liabilities, ...`` and ``kind, debtor, creditor,
amount, ...``). An empty cell is a missing value; ``nan`` and ``inf`` are
values, and invalid ones. A CSV pair has no header document, so its format
version is 2 when it uses an edge kind or a node field of version 2, else 1.

Reading goes through the pandas C parser with node references read as
categoricals, so memory stays proportional to nodes + edges. Line numbers of
problems are found afterwards, only when there are problems, with the
:mod:`csv` module (exact also for quoted cells spanning several lines).
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ._common import decode_text, format_error, infer_version, locate
from .._validation import build_tables, sort_problems
from ..exceptions import GraphFormatError, InvalidNetworkError, Problem, InvalidParameterError
from ..network import ExposureNetwork
from ..schema import EDGE_KINDS

__all__ = ["read_csv_graph", "csv_paths", "read_csv_table", "line_numbers"]

_REF_COLUMNS = sorted({r for k in EDGE_KINDS.values() for r in k.refs})
_TEXT_COLUMNS = ("id", "kind", "label", "issuer", "oracle")


def csv_paths(source) -> tuple[str, str]:
    """``(nodes_csv, edges_csv)`` for a directory or a pair of paths."""
    if isinstance(source, (tuple, list)):
        if len(source) != 2:
            raise InvalidParameterError(f"A CSV graph is a pair (nodes_csv, edges_csv). Got {len(source)} paths instead.")
        return os.fspath(source[0]), os.fspath(source[1])
    d = os.fspath(source)
    paths = os.path.join(d, "nodes.csv"), os.path.join(d, "edges.csv")
    missing = [os.path.basename(p) for p in paths if not os.path.isfile(p)]
    if missing:
        raise format_error(f"The directory has no {' and no '.join(missing)}; a CSV graph is a directory "
                           "holding nodes.csv and edges.csv.", d)
    return paths


def _check_bytes(path: str) -> None:
    """Reject UTF-16/32 and non-UTF-8 files with the line of the first bad byte."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[:4] == b"\x00\x00\xfe\xff":
        decode_text(head, path)


def _utf8_error(path: str) -> GraphFormatError:
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        decode_text(data, path)
    except GraphFormatError as err:
        return err
    return format_error("The file is not valid UTF-8; expected UTF-8 text.", path)


_PANDAS_MAJOR = int(pd.__version__.split(".")[0])

_PARSER_LINE = re.compile(r"(?:line|row) (\d+)")


#: Rows per chunk when node references are resolved while reading (bounds the memory taken by
#: the Python strings of one chunk).
CHUNK_ROWS = 2_000_000


def _header(path: str) -> list[str]:
    _check_bytes(path)
    with open(path, "rb") as fh:
        header = fh.readline()
    if not header.strip():
        raise format_error("The file is empty; expected a header line with column names.", path, "line 1")
    try:
        return next(csv.reader([header.decode("utf-8-sig", errors="replace").rstrip("\r\n")]))
    except (csv.Error, StopIteration):
        return []


def _parser_error(err: Exception, path: str) -> GraphFormatError:
    if isinstance(err, UnicodeDecodeError):
        return _utf8_error(path)
    if isinstance(err, pd.errors.EmptyDataError):
        return format_error("The file is empty; expected a header line with column names.", path, "line 1")
    msg = str(err).strip()
    m = _PARSER_LINE.search(msg)
    if "EOF inside string" in msg:
        return format_error("A quoted cell is never closed (is the file truncated?); expected a closing "
                            "double quote.", path, f"line {int(m.group(1)) + 1}" if m else None)
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if fields:
        return format_error(f"Expected {fields.group(1)} cells as in the header. Got {fields.group(3)} instead.",
                            path, f"line {fields.group(2)}")
    return format_error(f"Cannot parse the CSV file: {msg}", path)


def _string_lookup(index: pd.Index):
    """A function mapping an object array of strings to positions in ``index`` (-1 when absent).

    Uses pandas' C string hash table when available (about 4x faster than
    ``Index.get_indexer`` on millions of Python strings), else ``get_indexer``.
    """
    values = index.to_numpy(dtype=object)
    try:
        from pandas._libs.hashtable import StringHashTable

        table = StringHashTable(max(len(values), 1))
        table.map_locations(values)

        def lookup(x: np.ndarray, _keep=values) -> np.ndarray:
            # The table points into the strings of ``values`` without owning them: ``_keep`` holds
            # them for as long as the table is used (an Arrow-backed index makes new strings for
            # ``to_numpy``, which would otherwise be freed when this function returns).
            try:
                return np.asarray(table.lookup(x), dtype=np.int64)
            except (TypeError, ValueError):  # a value that is not a string
                return index.get_indexer(x)

        def find(x: np.ndarray) -> np.ndarray:
            # exports are often grouped by holder or debtor: look up one value per run
            if len(x) > 1:
                heads = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])
                if len(heads) < len(x) // 2:
                    return np.repeat(lookup(x[heads]), np.diff(np.r_[heads, len(x)]))
            return lookup(x)
        return find
    except (ImportError, AttributeError, TypeError, ValueError):
        return index.get_indexer


def read_csv_table(path: str, *, text=(), refs=(), node_ids=None) -> pd.DataFrame:
    """Read one CSV file; every cell kept as written (no NA guessing), errors as GraphFormatError.

    Columns in ``text`` are read as strings; the others are numbers where every
    cell is a number, else strings. Columns in ``refs`` (node references) are
    resolved against ``node_ids`` chunk by chunk while reading and returned as
    categoricals whose categories are the node ids followed by any unknown
    values, so that no column of millions of Python strings is ever held.
    """
    cols = _header(path)
    dup = [c for c in cols if cols.count(c) > 1]
    if dup:
        raise format_error(f"The header names column {dup[0]!r} more than once; expected each column once.",
                           path, "line 1")
    refs = [c for c in cols if c in refs]
    dtype = {c: str for c in cols if c in text or c in refs}
    kw = dict(dtype=dtype, na_filter=False, encoding="utf-8-sig", engine="c")
    if _PANDAS_MAJOR < 3:
        # every number read back exactly as written: the default converter of pandas 2 can be an
        # ulp off, which breaks exact round trips (pandas 3 reads exactly and deprecates the option)
        kw["float_precision"] = "round_trip"
    try:
        if not refs:
            frame = pd.read_csv(path, **kw)
        else:
            lookup = pd.Index(pd.unique(np.asarray(node_ids, dtype=object)))
            find = _string_lookup(lookup)
            extras: dict[str, int] = {}
            parts, codes = [], {c: [] for c in refs}
            for chunk in pd.read_csv(path, chunksize=CHUNK_ROWS, **kw):
                for c in refs:
                    values = chunk[c].to_numpy(dtype=object)
                    code = find(values)
                    unknown = np.flatnonzero(code < 0)
                    if len(unknown):
                        for v in pd.unique(values[unknown]):
                            extras.setdefault(v, len(lookup) + len(extras))
                        code[unknown] = [extras[v] for v in values[unknown]]
                    codes[c].append(code.astype(np.int32))
                parts.append(chunk.drop(columns=refs))
            frame = pd.concat(parts, ignore_index=True) if parts else pd.read_csv(path, **kw).drop(columns=refs)
            categories = lookup.append(pd.Index(list(extras), dtype=object)) if extras else lookup
            for c in refs:
                frame[c] = pd.Categorical.from_codes(np.concatenate(codes[c]) if codes[c] else
                                                     np.zeros(0, np.int32), categories=categories)
            frame = frame[[c for c in cols if c in frame.columns]]
    except (UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise _parser_error(err, path) from None
    return frame


def line_numbers(path: str, rows) -> dict[int, int]:
    """Line where each data record (0-based, blank lines skipped as pandas does) starts."""
    want = sorted(set(int(r) for r in rows))
    out: dict[int, int] = {}
    if not want:
        return out
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        rec, k = 0, 0
        start = reader.line_num + 1
        for record in reader:
            if record and any(x != "" for x in record) or len(record) > 1:
                if rec == want[k]:
                    out[rec] = start
                    k += 1
                    if k == len(want):
                        break
                rec += 1
            start = reader.line_num + 1
    return out


def _empty_to_missing(frame: pd.DataFrame, keep: set) -> pd.DataFrame:
    """Metadata columns: empty cells become missing values."""
    for c in frame.columns:
        if c not in keep and frame[c].dtype != np.float64 and frame[c].dtype.kind not in "iub":
            col = frame[c]
            if isinstance(col.dtype, pd.CategoricalDtype):
                if "" in col.cat.categories:
                    frame[c] = col.cat.remove_categories([""])
                continue
            empty = col.astype(str) == ""
            if empty.any():
                frame[c] = col.astype(object).where(~empty, None)
    return frame


def read_csv_graph(source, *, strict: bool = True):
    """Read a CSV graph (directory or pair); return ``(network, problems)``."""
    nodes_path, edges_path = csv_paths(source)
    nodes = read_csv_table(nodes_path, text=_TEXT_COLUMNS)
    ids = nodes["id"].to_numpy(dtype=object) if "id" in nodes.columns else np.zeros(0, dtype=object)
    edges = read_csv_table(edges_path, refs=_REF_COLUMNS, node_ids=ids, text=("kind", "oracle"))
    problems: list[Problem] = []
    if "id" not in nodes.columns:
        raise format_error(f"The header has no column 'id'; expected columns id, kind, label, external_assets, "
                           f"external_liabilities. Found: {', '.join(map(str, nodes.columns))}.",
                           nodes_path, "line 1")
    if "kind" not in edges.columns:
        missing = [c for c in EDGE_KINDS["claim"].fields if c not in edges.columns]
        if missing:
            raise format_error(f"The header has no column {' and no column '.join(map(repr, missing))}; "
                               "expected columns kind, debtor, creditor, amount (kind optional). "
                               f"Found: {', '.join(map(str, edges.columns))}.", edges_path, "line 1")
    version = infer_version(nodes.columns, edges["kind"].unique() if "kind" in edges.columns else ())
    nodes = _empty_to_missing(nodes, set())
    edge_fields = {f for s in EDGE_KINDS.values() for f in s.fields}
    edges = _empty_to_missing(edges, edge_fields - set(_REF_COLUMNS))
    node_table, tables, found = build_tables(nodes, edges, version=version, text_input=True)
    problems += found
    need = {"nodes": [p.row for p in found if p.table == "nodes" and p.row is not None],
            "edges": [p.row for p in found if p.table == "edges" and p.row is not None]}
    lines = {"nodes": line_numbers(nodes_path, need["nodes"]), "edges": line_numbers(edges_path, need["edges"])}

    def where(p: Problem):
        if p.table in lines and p.row is not None:
            return f"line {lines[p.table].get(p.row, p.row + 2)}"
        return None

    out = []
    for p in sort_problems(problems):
        path = nodes_path if p.table == "nodes" else edges_path if p.table == "edges" else None
        out.extend(locate([p], path or f"{Path(nodes_path).parent}", where))
    errors = [p for p in out if p.severity == "error"]
    if errors and strict:
        raise InvalidNetworkError(out)
    meta = {"version": version, "name": Path(nodes_path).parent.name}
    return ExposureNetwork._assemble(node_table, tables, meta, tuple(out)), out
