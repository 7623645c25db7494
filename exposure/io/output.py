"""Tables out: one rendering of results as a human-readable table, CSV or JSON, for the command line
and for reports.

* ``table``: aligned columns for a person; amounts of 10,000 and more as whole units with
  thousands separators, other numbers with 6 significant digits.
* ``csv``: one header line, booleans as ``true``/``false``, every float written so that
  ``float(text) == value`` (17 significant digits).
* ``json``: plain JSON values; NaN and infinities become ``null``; frames become lists of records.

:func:`render` returns the text; :func:`write_text` writes it to standard output or, atomically,
to a file (:func:`exposure.io._atomic.atomic_write`).

>>> import pandas as pd
>>> print(render("csv", frame=pd.DataFrame({"node": ["a"], "loss": [0.5], "defaulted": [True]})), end="")
node,loss,defaulted
a,0.5,true
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ._atomic import atomic_write

__all__ = ["FORMATS", "jsonable", "frame_records", "frame_csv", "frame_table", "format_float", "render",
           "write_text"]

#: Output formats of every command that writes a table.
FORMATS = ("table", "csv", "json")


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


def frame_csv(frame: pd.DataFrame) -> str:
    """CSV text: booleans as true/false, floats with full precision (``float(text)`` round-trips)."""
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == bool:
            out[c] = np.where(out[c], "true", "false")
    return out.to_csv(index=False, float_format="%.17g", lineterminator="\n")


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
        return json.dumps(jsonable(obj if obj is not None else frame_records(frame)), indent=2,
                          allow_nan=False) + "\n"
    parts = list(tables) if tables is not None else [(None, frame)]
    return "\n".join(frame_table(f, t) for t, f in parts)


def write_text(text: str, output: str = "-") -> None:
    """Write ``text`` to standard output (``"-"``) or atomically to the file ``output``."""
    if output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    atomic_write(output, lambda fh: fh.write(text))
