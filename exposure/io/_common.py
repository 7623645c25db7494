"""Reading raw input for the loaders: sources, encodings, problem locations.

Every loader turns its input into a node table and an edge table and hands
them to :func:`exposure._validation.build_tables`; the helpers here read bytes
from a path, standard input or an open file, decode them as UTF-8 with an
error that names the file, line and byte, and attach file names and locations
to the problems the validator returns.
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from ..exceptions import GraphFormatError, Problem
from ..schema import EDGE_KINDS, V2_NODE_FIELDS

__all__ = ["source_name", "read_bytes", "decode_text", "format_error", "locate", "object_frame", "infer_version"]


def source_name(source: Any) -> str:
    """A name for ``source`` to show in messages (``"<stdin>"`` for ``-``)."""
    if isinstance(source, (str, os.PathLike)):
        s = os.fspath(source)
        return "<stdin>" if s == "-" else s
    return str(getattr(source, "name", "<stream>"))


def read_bytes(source: Any) -> tuple[bytes | str, str]:
    """Read everything from a path, ``"-"`` (standard input) or an open file.

    Returns ``(data, name)``; ``data`` is ``bytes`` except for text streams
    that cannot give bytes.
    """
    name = source_name(source)
    if isinstance(source, (str, os.PathLike)):
        if os.fspath(source) == "-":
            stream = sys.stdin
            buf = getattr(stream, "buffer", None)
            return (buf.read() if buf is not None else stream.read()), name
        with open(source, "rb") as fh:
            return fh.read(), name
    if isinstance(source, io.TextIOBase) and hasattr(source, "buffer"):
        try:
            return source.buffer.read(), name
        except (AttributeError, io.UnsupportedOperation):
            pass
    return source.read(), name


def format_error(message: str, name: str, location: str | None = None) -> GraphFormatError:
    """A :class:`GraphFormatError` carrying one problem."""
    return GraphFormatError([Problem("error", message, file=name, location=location)])


def decode_text(data: bytes | str, name: str) -> str:
    """Decode UTF-8 (a leading byte-order mark is allowed).

    Raises
    ------
    GraphFormatError
        For UTF-16/UTF-32 files and bytes that are not UTF-8, naming the line and
        byte offset of the first undecodable byte.
    """
    if isinstance(data, str):
        return data[1:] if data.startswith("\ufeff") else data
    for bom, enc in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                     (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if data.startswith(bom):
            raise format_error(f"The file is encoded as {enc} (it starts with a {enc} byte-order mark); "
                               "expected UTF-8. Re-save it as UTF-8.", name, "line 1")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise format_error(f"The file is not valid UTF-8: byte 0x{data[err.start]:02x} at byte offset "
                           f"{err.start} cannot be decoded. Expected UTF-8 text; re-save the file as UTF-8.",
                           name, f"line {line}") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise format_error("The file contains NUL bytes; expected UTF-8 text (is it UTF-16 or binary?).",
                           name, f"line {line}")
    return text[1:] if text.startswith("\ufeff") else text


def locate(problems: Iterable[Problem], name: str,
           where: Callable[[Problem], str | None]) -> list[Problem]:
    """Attach the file name and a location (from ``where``) to each problem."""
    out = []
    for p in problems:
        loc = p.location or where(p)
        out.append(p.at(file=p.file or name, location=loc))
    return out


def object_frame(rows: list[dict]) -> pd.DataFrame:
    """Object columns from records; an absent key is None (missing), never NaN."""
    keys: dict[str, None] = {}
    for r in rows:
        keys.update(dict.fromkeys(r))
    data = {}
    for k in keys:
        col = np.empty(len(rows), dtype=object)
        col[:] = [r.get(k) for r in rows]
        data[k] = col
    return pd.DataFrame(data, index=pd.RangeIndex(len(rows)), dtype=object)


def infer_version(node_columns, edge_kinds) -> int:
    """Format version of an input that does not declare one (CSV, GEXF, networkx):
    2 when it uses an edge kind or a node field of version 2, else 1."""
    v2_kinds = {k for k, s in EDGE_KINDS.items() if s.version > 1}
    return 2 if (v2_kinds & set(edge_kinds)) or (V2_NODE_FIELDS & set(node_columns)) else 1
