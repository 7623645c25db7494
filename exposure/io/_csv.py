"""The CSV form of the graph format: ``nodes.csv`` and ``edges.csv``.

The columns are the field names of the JSON form (``id, kind, label,
external_assets, external_liabilities, ...`` and ``kind, debtor, creditor,
amount, ...``). An empty cell is a missing value; ``nan`` and ``inf`` are
values, and invalid ones. A CSV pair has no header document, so its format
version is 2 when it uses an edge kind or a node field of version 2, else 1.

Reading goes through Arrow's multithreaded CSV reader: node references are
read dictionary-encoded and resolved once per distinct value
(:mod:`exposure.io._arrow`), numeric fields of the schema as float64, other
text as strings, so memory stays proportional to nodes + edges. A file Arrow
does not parse as the format expects (a cell that is not a number in a numeric
field, a row with more cells than the header, a quote never closed, bytes that
are not UTF-8) is read again with the pandas C parser, which gives the result or
the exact error of every such input. Line numbers of problems are found
afterwards, only when there are problems, with the :mod:`csv` module (exact
also for quoted cells spanning several lines).
"""

from __future__ import annotations

import csv
import mmap
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ._arrow import to_frame

from ._common import decode_text, format_error, infer_version, locate
from .._validation import build_tables, sort_problems
from ..exceptions import GraphFormatError, InvalidNetworkError, Problem, InvalidParameterError
from ..network import ExposureNetwork
from ..schema import EDGE_KINDS, NODE_CHOICES, NODE_FIELDS, NODE_REFERENCES

__all__ = ["read_csv_graph", "csv_paths", "read_csv_table", "line_numbers", "graph_from_tables", "NODE_TEXT", "NODE_NUMBERS",
           "EDGE_REFS", "EDGE_NUMBERS", "EDGE_TEXT",
           "NODE_CATEGORIES", "EDGE_CATEGORIES"]

#: Columns of the node and edge tables by how they are read (from the tables of exposure.schema).
NODE_TEXT = ("id", "kind", "label", *NODE_REFERENCES, *NODE_CHOICES)
NODE_NUMBERS = tuple(NODE_FIELDS)
EDGE_REFS = tuple(sorted({r for k in EDGE_KINDS.values() for r in k.refs}))
EDGE_NUMBERS = tuple(sorted({f for k in EDGE_KINDS.values() for f in (*k.amounts, *k.fractions)}))
EDGE_TEXT = tuple(sorted({"kind", *(f for k in EDGE_KINDS.values() for f in k.choices)}))
#: Text columns of few distinct values, read dictionary-encoded and kept as categoricals.
NODE_CATEGORIES = ("kind", *NODE_CHOICES)
EDGE_CATEGORIES = EDGE_TEXT


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


#: Words read as booleans (those of the pandas C parser, so that both readers agree).
_TRUE, _FALSE = ["True", "TRUE", "true"], ["False", "FALSE", "false"]


def _has_quotes(path: str) -> bool:
    """Whether the file holds a double quote (a quoted cell may then span lines)."""
    with open(path, "rb") as fh:
        try:
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
                return m.find(b'"') >= 0
        except ValueError:  # an empty file cannot be mapped
            return False


def _arrow_kept(t: pa.DataType, nulls: int) -> bool:
    """Whether an inferred Arrow column is what the pandas parser gives (else it is read as text):
    integers and floats without empty cells, booleans without empty cells, strings."""
    return ((pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)) and nulls == 0) \
        or pa.types.is_string(t) or pa.types.is_large_string(t)


def _read_arrow(path: str, cols: list[str], text, refs, numbers, node_ids, categories=()) -> pd.DataFrame:
    """The Arrow read of :func:`read_csv_table`; raises ``pyarrow.ArrowInvalid`` for any input the
    pandas parser must judge."""
    types = {c: pa.string() for c in cols if c in text}
    types.update({c: pa.dictionary(pa.int32(), pa.string()) for c in (*refs, *categories) if c in cols})
    types.update({c: pa.float64() for c in cols if c in numbers and c not in types})

    def read(column_types, include=None):
        return pacsv.read_csv(
            path, read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=quotes),
            convert_options=pacsv.ConvertOptions(
                column_types=column_types, null_values=[""], strings_can_be_null=False,
                quoted_strings_can_be_null=False, true_values=_TRUE, false_values=_FALSE,
                include_columns=include))
    quotes = _has_quotes(path)
    table = read(types)
    if table.column_names != cols:
        raise pa.ArrowInvalid("columns differ from the header")
    redo = [c for c, col in zip(cols, table.columns) if c not in types and not _arrow_kept(col.type, col.null_count)]
    if redo:
        # dates, numbers or booleans with empty cells, empty columns: the pandas parser keeps them as text
        again = read({**types, **{c: pa.string() for c in redo}}, include=redo)
        for c in redo:
            table = table.set_column(cols.index(c), c, again.column(c))
    numbers = [c for c in cols if c in numbers]
    return to_frame(table, numbers=numbers, refs=refs, node_ids=node_ids, categorical=categories)


def read_csv_table(path: str, *, text=(), refs=(), node_ids=None, numbers=(), categories=()) -> pd.DataFrame:
    """Read one CSV file; every cell kept as written (no NA guessing), errors as GraphFormatError.

    Columns in ``text`` are read as strings; ``numbers`` (numeric fields of the
    schema) as float64, or a masked ``Float64`` column when a cell is empty or
    ``nan``; the others are numbers where every cell is a number, else strings.
    Columns in ``refs`` (node references) are resolved against ``node_ids`` while
    reading and returned as categoricals whose categories are the node ids
    followed by any unknown values, so that no column of millions of Python
    strings is ever held.
    """
    cols = _header(path)
    dup = [c for c in cols if cols.count(c) > 1]
    if dup:
        raise format_error(f"The header names column {dup[0]!r} more than once; expected each column once.",
                           path, "line 1")
    refs = [c for c in cols if c in refs]
    try:
        return _read_arrow(path, cols, text, refs, numbers, node_ids if node_ids is not None else [], categories)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, ValueError):
        pass  # the pandas parser gives the result or the exact error
    return _read_pandas(path, cols, text, refs, node_ids)


def _read_pandas(path: str, cols: list[str], text, refs, node_ids) -> pd.DataFrame:
    """The pandas C parser, chunk by chunk, resolving node references per chunk."""
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
        if c not in keep and frame[c].dtype.kind not in "fiub":
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
    nodes = read_csv_table(nodes_path, text=NODE_TEXT, numbers=NODE_NUMBERS, categories=NODE_CATEGORIES)
    ids = nodes["id"].to_numpy(dtype=object) if "id" in nodes.columns else np.zeros(0, dtype=object)
    edges = read_csv_table(edges_path, refs=EDGE_REFS, node_ids=ids, text=EDGE_TEXT, numbers=EDGE_NUMBERS,
                           categories=EDGE_CATEGORIES)
    nodes = _empty_to_missing(nodes, set())
    edge_fields = {f for s in EDGE_KINDS.values() for f in s.fields}
    edges = _empty_to_missing(edges, edge_fields - set(EDGE_REFS))

    def lines(table: str, rows) -> dict[int, str]:
        found = line_numbers(nodes_path if table == "nodes" else edges_path, rows)
        return {r: f"line {found.get(r, r + 2)}" for r in rows}
    meta = {"name": Path(nodes_path).parent.name}
    return graph_from_tables(nodes, edges, (nodes_path, edges_path), lines, meta=meta, strict=strict,
                             text_input=True, header="line 1")


def graph_from_tables(nodes: pd.DataFrame, edges: pd.DataFrame, paths: tuple[str, str], locations, *, meta: dict,
                      strict: bool, text_input: bool, header: str | None):
    """Validate the node and edge tables read from the files ``paths``; return ``(network, problems)``.

    ``locations(table, rows)`` gives the location of each 0-based row of ``"nodes"`` or ``"edges"``
    (``"line 12"`` in CSV, ``"row 11"`` in Parquet), asked only for rows with problems; ``header``
    is the location of the column names. ``meta["version"]``, when given, is the declared version;
    otherwise the version is inferred from the edge kinds and node fields.
    """
    nodes_path, edges_path = paths
    where_header = "header" if header else "table"
    if "id" not in nodes.columns:
        raise format_error(f"The {where_header} has no column 'id'; expected columns id, kind, label, external_assets, "
                           f"external_liabilities. Found: {', '.join(map(str, nodes.columns))}.",
                           nodes_path, header)
    if "kind" not in edges.columns:
        missing = [c for c in EDGE_KINDS["claim"].fields if c not in edges.columns]
        if missing:
            raise format_error(f"The {where_header} has no column {' and no column '.join(map(repr, missing))}; "
                               "expected columns kind, debtor, creditor, amount (kind optional). "
                               f"Found: {', '.join(map(str, edges.columns))}.", edges_path, header)
    meta = dict(meta)
    version = meta.get("version") or infer_version(nodes.columns,
                                                   edges["kind"].unique() if "kind" in edges.columns else ())
    meta["version"] = version
    node_table, tables, found = build_tables(nodes, edges, version=version, text_input=text_input)
    where_rows = {t: locations(t, sorted({p.row for p in found if p.table == t and p.row is not None}))
                  for t in ("nodes", "edges")}

    def where(p: Problem):
        if p.table in where_rows and p.row is not None:
            return where_rows[p.table].get(p.row)
        return None

    out = []
    for p in sort_problems(found):
        path = nodes_path if p.table == "nodes" else edges_path if p.table == "edges" else None
        out.extend(locate([p], path or f"{Path(nodes_path).parent}", where))
    if strict and any(p.severity == "error" for p in out):
        raise InvalidNetworkError(out)
    return ExposureNetwork._assemble(node_table, tables, meta, tuple(out)), out
