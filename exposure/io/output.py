"""Tables out: the one writer of results, for the command line and for reports.

Every command that writes a table calls :func:`write` (or :func:`render` for the text alone);
a new format or a faster writer is a property of this module, never of one command.

Formats (:data:`FORMATS`):

* ``table``: aligned columns for a person; amounts of 10,000 and more as whole units with
  thousands separators, other numbers with 6 significant digits.
* ``csv``: one header line, booleans as ``true``/``false``, missing values as empty cells,
  cells quoted only when they hold a comma, a quote or a line break. Every float is written
  with the shortest text that reads back as the same number (``float(text) == value``).
* ``json``: plain JSON values, indented by two spaces; NaN and infinities become ``null``;
  frames become lists of records.
* ``parquet``: the frame as a Parquet file (needs a file name); the other values of ``obj``
  (a summary) as JSON under the key ``exposure`` of the file's key-value metadata.

The CSV and JSON writers format a column at a time (Arrow's float formatting, C string
escaping), never one Python call per float, so a million rows take well under a second.

API (stable):

``write(fmt, output="-", *, frame=None, obj=None, tables=None)``
    Write a result: ``frame`` (the rows) as CSV or Parquet, ``obj`` (else ``frame``) as JSON,
    ``tables`` (title, frame; else ``frame``) as tables; to standard output (``"-"``) or,
    atomically, to the file ``output``.
``render(fmt, *, frame=None, obj=None, tables=None) -> str``
    The text of a text format.
``output_format(fmt, output, terminal) -> str``
    The format to use: ``fmt`` when given, else from the suffix of ``output`` (``.csv``,
    ``.json``, ``.parquet``), else ``table`` on a terminal and ``json`` otherwise.
``frame_csv``, ``to_json``, ``frame_records``, ``jsonable``, ``frame_table``, ``format_float``
    The pieces, for reports.

>>> import pandas as pd
>>> print(render("csv", frame=pd.DataFrame({"node": ["a", "b,c"], "loss": [0.1, None],
...                                         "defaulted": [True, False]})), end="")
node,loss,defaulted
a,0.1,true
"b,c",,false
"""

from __future__ import annotations

import json
import math
import os
import sys
from json.encoder import encode_basestring_ascii
from typing import Any, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._atomic import atomic_write
from ._parquet import arrow_table, write_table
from ..exceptions import InvalidParameterError

__all__ = ["FORMATS", "TEXT_FORMATS", "write", "render", "output_format", "jsonable", "frame_records",
           "frame_csv", "to_json", "frame_table", "format_float", "write_text"]

#: Output formats of every command that writes a table.
FORMATS = ("table", "csv", "json", "parquet")

#: The formats that are text (and can go to standard output).
TEXT_FORMATS = ("table", "csv", "json")

_SUFFIXES = {".csv": "csv", ".json": "json", ".parquet": "parquet"}


def output_format(fmt: str | None, output: str = "-", terminal: bool = False) -> str:
    """The format of a result: ``fmt``, else the suffix of ``output``, else table on a terminal, json otherwise.

    Raises
    ------
    InvalidParameterError
        For ``parquet`` to standard output.
    """
    if not fmt:
        fmt = _SUFFIXES.get(os.path.splitext(output)[1].lower()) if output != "-" else None
        fmt = fmt or ("table" if output == "-" and terminal else "json")
    if fmt == "parquet" and output == "-":
        raise InvalidParameterError("The parquet format writes a file, not standard output: give -o FILE.")
    return fmt


def jsonable(obj):
    """Convert numpy / pandas values to plain JSON values; NaN and infinities become null."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return frame_records(obj)
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if obj is pd.NA or obj is None:
        return None
    return obj


def frame_records(frame: pd.DataFrame) -> list[dict]:
    """The rows of ``frame`` as JSON-ready records."""
    cols = list(frame.columns)
    return [jsonable(dict(zip(cols, row))) for row in frame.itertuples(index=False, name=None)]


# ----------------------------------------------------------------------- cells, a column at a time
def _floats(values: np.ndarray, *, point: bool = False) -> pa.Array:
    """Shortest round-trip text of float64 values, a column at a time; nulls where NaN.

    Arrow formats the column (the shortest digits that read back as the same double); the layout
    is Python's ``repr``: positional from 1e-4 to 1e16, else with an exponent (the few values
    that Arrow lays out otherwise are written by ``repr``). Whole numbers below 10^16 are written
    as integers (``33000000000``), with ``.0`` after them when ``point`` (JSON: a float stays a
    float, as ``json.dumps`` writes it)."""
    values = np.asarray(values, dtype=np.float64)
    text = pc.cast(pa.array(values, type=pa.float64(), from_pandas=True), pa.string())
    with np.errstate(invalid="ignore"):
        size = np.abs(values)
        whole = (values == np.trunc(values)) & (size < 1e16) & ~((values == 0) & np.signbit(values))
        # Arrow and Python write the same shortest digits; where they place them differently
        # (Python: positional from 1e-4 to 1e16, else with an exponent), take Python's layout
        positional = (size >= 1e-4) & (size < 1e16)
    exponent = pc.fill_null(pc.match_substring(text, "e"), False).to_numpy(zero_copy_only=False)
    short = pc.fill_null(pc.match_substring_regex(text, "e[-+]?[0-9]$"), False).to_numpy(zero_copy_only=False)
    odd = np.isfinite(values) & ~whole & ((exponent == positional) | short)   # Python: e-07, Arrow: e-7
    if odd.any():
        at = np.flatnonzero(odd)
        fixed = np.array(text.to_numpy(zero_copy_only=False), dtype=object)
        fixed[at] = [repr(v) for v in values[at].tolist()]
        text = pa.array(fixed, type=pa.string(), from_pandas=True)
    if whole.any():
        ints = pc.cast(pa.array(np.where(whole, values, 0).astype(np.int64)), pa.string())
        if point:
            ints = pc.binary_join_element_wise(ints, ".0", "")
        text = pc.if_else(pa.array(whole), ints, text)
    return text


def _is_text(col: pd.Series) -> bool:
    return isinstance(col.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(col.dtype) and \
        (col.dtype != object or pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty"))


def _strings(col: pd.Series) -> pa.Array:
    values = col.astype(object).to_numpy() if isinstance(col.dtype, pd.CategoricalDtype) else col.to_numpy(
        dtype=object)
    return pa.array(values, type=pa.string(), from_pandas=True)


_NEEDS_QUOTES = r'[,"\r\n]'


def _csv_quote(text: pa.Array) -> pa.Array:
    """Cells holding a comma, a quote or a line break quoted, as the csv module's QUOTE_MINIMAL does."""
    needs = pc.fill_null(pc.match_substring_regex(text, _NEEDS_QUOTES), False)
    if not pc.any(needs).as_py():
        return text
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, text)


def _bools(col: pd.Series) -> pa.Array:
    """``true``/``false`` (null where missing)."""
    return pc.if_else(pa.Array.from_pandas(col), "true", "false")


def _ints(col: pd.Series) -> pa.Array:
    """Integers as text (null where missing, for pandas' nullable integers)."""
    return pc.cast(pa.Array.from_pandas(col), pa.string())


def _csv_cells(col: pd.Series) -> pa.Array:
    if col.dtype.kind == "b":
        return _bools(col)
    if col.dtype.kind == "f":
        return _floats(col.to_numpy(dtype=np.float64, na_value=np.nan))
    if col.dtype.kind in "iu":
        return _ints(col)
    if _is_text(col):
        return _csv_quote(_strings(col))
    values = [None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v)
              for v in col.to_numpy(dtype=object)]
    return _csv_quote(pa.array(values, type=pa.string()))


def _lines(columns: list[pa.Array], separator: str, end: str = "\n") -> str:
    """Join cell texts row by row (``separator`` between cells, ``end`` after each row); one string."""
    cells = [pc.fill_null(c, "") for c in columns]
    rows = pc.binary_join_element_wise(*cells, separator) if len(cells) > 1 else cells[0]
    rows = pc.binary_join_element_wise(rows, end, "")
    rows = (rows.combine_chunks() if isinstance(rows, pa.ChunkedArray) else rows).cast(pa.large_string())
    if len(rows) == 0:
        return ""
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset:rows.offset + len(rows) + 1]
    data = rows.buffers()[2]
    return data.to_pybytes()[offsets[0]:offsets[-1]].decode("utf-8")


def frame_csv(frame: pd.DataFrame) -> str:
    """CSV text (see the module notes): ``float(text)`` gives back every float exactly."""
    if not len(frame.columns):
        return "\n"
    header = ",".join(_csv_quote(pa.array([str(c) for c in frame.columns], type=pa.string())).to_pylist())
    body = _lines([_csv_cells(frame[c]) for c in frame.columns], ",")
    return header + "\n" + body


# ------------------------------------------------------------------------------------------ JSON
def _json_cells(col: pd.Series) -> pa.Array:
    if col.dtype.kind == "b":
        return pc.fill_null(_bools(col), "null")
    if col.dtype.kind == "f":
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        return pc.fill_null(_floats(np.where(np.isfinite(values), values, np.nan), point=True), "null")
    if col.dtype.kind in "iu":
        return pc.fill_null(_ints(col), "null")
    if _is_text(col):
        values = col.astype(object).to_numpy() if isinstance(col.dtype, pd.CategoricalDtype) else \
            col.to_numpy(dtype=object)
        return pa.array([encode_basestring_ascii(v) if isinstance(v, str) else "null" for v in values],
                        type=pa.string())
    encode = json.JSONEncoder(allow_nan=False).encode
    return pa.array([encode(jsonable(v)) for v in col.to_numpy(dtype=object)], type=pa.string())


def _records_json(frame: pd.DataFrame, level: int) -> str:
    if not len(frame):
        return "[]"
    pad = "  " * (level + 1)
    if not len(frame.columns):
        return "[\n" + ",\n".join([pad + "{}"] * len(frame)) + "\n" + "  " * level + "]"
    keys = [pad + "  " + encode_basestring_ascii(str(c)) + ": " for c in frame.columns]
    cells = [pc.binary_join_element_wise(k, _json_cells(frame[c]), "") for k, c in zip(keys, frame.columns)]
    body = _lines(cells, ",\n", "\n" + pad + "},\n" + pad + "{\n")
    tail = "\n" + pad + "},\n" + pad + "{\n"
    return "[\n" + pad + "{\n" + body[:-len(tail)] + "\n" + pad + "}\n" + "  " * level + "]"


def _json(obj, level: int) -> str:
    pad = "  " * level
    if isinstance(obj, pd.DataFrame):
        return _records_json(obj, level)
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}  {encode_basestring_ascii(str(k))}: {_json(v, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if not obj:
            return "[]"
        return "[\n" + ",\n".join(f"{pad}  {_json(v, level + 1)}" for v in obj) + "\n" + pad + "]"
    return json.dumps(jsonable(obj), allow_nan=False)


def to_json(obj) -> str:
    """JSON text of ``obj`` (dicts, lists, frames, numpy and pandas values), indented by two spaces
    as ``json.dumps(..., indent=2)`` would give, frames formatted a column at a time."""
    return _json(obj, 0) + "\n"


# ----------------------------------------------------------------------------------------- table
def format_float(x: float) -> str:
    """A number for a person: whole units with thousands separators from 10,000 on, else 6 digits."""
    if not math.isfinite(x):
        return str(x)
    if 1e4 <= abs(x) < 1e15:
        return f"{x:,.0f}"                 # amounts in USD: whole units with thousands separators
    return f"{x:.6g}"


def frame_table(frame: pd.DataFrame, title: str | None = None) -> str:
    """A human-readable table, with ``title`` above it."""
    if frame.empty:
        body = "(no rows)"
    else:
        with pd.option_context("display.max_rows", None, "display.max_columns", None,
                               "display.width", 200, "display.float_format", format_float):
            body = frame.to_string(index=False)
    return f"{title}\n{body}\n" if title else f"{body}\n"


def render(fmt: str, *, frame: pd.DataFrame | None = None, obj: Any = None,
           tables: Iterable[tuple[str | None, pd.DataFrame]] | None = None) -> str:
    """The text of a result: ``frame`` as CSV, ``obj`` (else ``frame``) as JSON, ``tables`` (title,
    frame; else ``frame``) as tables."""
    if fmt == "csv":
        return frame_csv(frame)
    if fmt == "json":
        return to_json(obj if obj is not None else frame)
    if fmt == "parquet":
        raise InvalidParameterError("The parquet format is not text; write it to a file with write().")
    parts = list(tables) if tables is not None else [(None, frame)]
    return "\n".join(frame_table(f, t) for t, f in parts)


def _summary(obj) -> dict | None:
    if not isinstance(obj, dict):
        return None
    rest = {k: v for k, v in obj.items() if not isinstance(v, pd.DataFrame)}
    return rest or None


def write(fmt: str, output: str = "-", *, frame: pd.DataFrame | None = None, obj: Any = None,
          tables: Iterable[tuple[str | None, pd.DataFrame]] | None = None) -> None:
    """Write a result in format ``fmt`` to standard output (``"-"``) or atomically to the file ``output``."""
    if fmt == "parquet":
        if output == "-":
            raise InvalidParameterError("The parquet format writes a file, not standard output: give -o FILE.")
        summary = _summary(obj)
        meta = {b"exposure": to_json(summary).encode("utf-8")} if summary else None
        write_table(arrow_table(frame, meta), output)
        return
    write_text(render(fmt, frame=frame, obj=obj, tables=tables), output)


def write_text(text: str, output: str = "-") -> None:
    """Write ``text`` to standard output (``"-"``) or atomically to the file ``output``."""
    if output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    atomic_write(output, lambda fh: fh.write(text))
