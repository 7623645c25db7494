"""The Parquet form of the graph format: ``nodes.parquet`` and ``edges.parquet``.

The two files hold exactly the columns of the CSV pair (same names, same meaning): ``id, kind,
label, external_assets, ...`` and ``kind, debtor, creditor, amount, ...``. A missing value is a
null; NaN and infinities are values, and invalid ones, as in the CSV form. Numbers are stored as
numbers and text as strings: a column of the wrong type (text in ``amount``, numbers in ``id``)
gives, for each row, the message a JSON document with that value gives. The graph's metadata
(``name``, ``as_of``, ``currency``, ``version``, ...) is the JSON object stored under the key
``exposure-graph`` in the key-value metadata of ``nodes.parquet``; without it the version is
inferred as for CSV.

Reading takes the row groups of both files in parallel (:func:`pyarrow.parquet.read_table`), node
references dictionary-encoded (each distinct value looked up once, :mod:`exposure.io._arrow`).
Problems are located as ``row N``: the N-th data row of the file, counted from 1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ._arrow import to_frame
from ._atomic import atomic_write
from ._common import format_error
from ._convert import to_frames
from ._csv import (EDGE_CATEGORIES, EDGE_NUMBERS, EDGE_REFS, EDGE_TEXT, NODE_CATEGORIES, NODE_NUMBERS, NODE_TEXT,
                   graph_from_tables)
from ..exceptions import InvalidParameterError
from ..network import ExposureNetwork

__all__ = ["read_parquet_graph", "write_parquet", "parquet_paths", "is_parquet_dir", "arrow_table", "write_table",
           "META_KEY", "ROW_GROUP_ROWS"]

#: Key of the graph's metadata (a JSON object) in the key-value metadata of ``nodes.parquet``.
META_KEY = b"exposure-graph"

#: Rows per row group when writing: several row groups let a reader take them in parallel.
ROW_GROUP_ROWS = 1 << 20

_NAMES = ("nodes.parquet", "edges.parquet")


def is_parquet_dir(path) -> bool:
    """Whether the directory ``path`` holds ``nodes.parquet`` and ``edges.parquet``."""
    return all(os.path.isfile(os.path.join(path, n)) for n in _NAMES)


def parquet_paths(source) -> tuple[str, str]:
    """``(nodes_parquet, edges_parquet)`` for a directory or a pair of paths."""
    if isinstance(source, (tuple, list)):
        if len(source) != 2:
            raise InvalidParameterError("A Parquet graph is a pair (nodes_parquet, edges_parquet). "
                                        f"Got {len(source)} paths instead.")
        return os.fspath(source[0]), os.fspath(source[1])
    d = os.fspath(source)
    paths = tuple(os.path.join(d, n) for n in _NAMES)
    missing = [os.path.basename(p) for p in paths if not os.path.isfile(p)]
    if missing:
        raise format_error(f"The directory has no {' and no '.join(missing)}; a Parquet graph is a directory "
                           "holding nodes.parquet and edges.parquet.", d)
    return paths


def _read_table(path: str, dictionary=()) -> pa.Table:
    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
        present = [c for c in dictionary if c in schema.names
                   and (pa.types.is_string(schema.field(c).type) or pa.types.is_large_string(schema.field(c).type))]
        return pq.read_table(path, use_threads=True, read_dictionary=present or None)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise format_error(f"Cannot read the Parquet file: {err}. Expected a Parquet file written by "
                           "exposure, pyarrow, pandas, DuckDB or Polars.", path) from None


def _metadata(table: pa.Table, path: str) -> dict:
    raw = (table.schema.metadata or {}).get(META_KEY)
    if raw is None:
        return {}
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        meta = None
    if not isinstance(meta, dict):
        raise format_error(f"The metadata under {META_KEY.decode()!r} must be a JSON object; it cannot be read.",
                           path)
    meta.pop("format", None)
    return meta


def read_parquet_graph(source, *, strict: bool = True):
    """Read a Parquet graph (directory or pair); return ``(network, problems)``."""
    nodes_path, edges_path = parquet_paths(source)
    node_arrow = _read_table(nodes_path, NODE_CATEGORIES)
    meta = _metadata(node_arrow, nodes_path)
    meta.setdefault("name", Path(nodes_path).parent.name)
    nodes = to_frame(node_arrow, numbers=NODE_NUMBERS, text=NODE_TEXT, categorical=NODE_CATEGORIES)
    del node_arrow
    ids = nodes["id"].to_numpy(dtype=object) if "id" in nodes.columns else np.zeros(0, dtype=object)
    edges = to_frame(_read_table(edges_path, (*EDGE_REFS, *EDGE_CATEGORIES)), numbers=EDGE_NUMBERS, refs=EDGE_REFS,
                     text=EDGE_TEXT, node_ids=ids, categorical=EDGE_CATEGORIES)
    for frame in (nodes, edges):
        for c in frame.columns:
            col = frame[c]
            if isinstance(col.dtype, pd.CategoricalDtype) and "" in col.cat.categories:
                frame[c] = col.cat.remove_categories([""])

    def rows(table: str, found) -> dict[int, str]:
        return {r: f"row {r + 1}" for r in found}
    return graph_from_tables(nodes, edges, (nodes_path, edges_path), rows, meta=meta, strict=strict,
                             text_input=False, header=None)


def _arrow_column(col: pd.Series) -> pa.Array:
    """A column for Parquet: NaN and None as nulls; categories dictionary-encoded; values of mixed
    types (metadata) as JSON text."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        values = col.astype(object).where(col.notna(), None)
        return pa.array(values.to_numpy(dtype=object), type=pa.string()).dictionary_encode()
    try:
        return pa.array(col, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        obj = col.to_numpy(dtype=object)
        text = [None if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                else v if isinstance(v, str) else json.dumps(v.item() if isinstance(v, np.generic) else v)
                for v in obj]
        return pa.array(text, type=pa.string())


def arrow_table(frame: pd.DataFrame, metadata: dict | None = None) -> pa.Table:
    """``frame`` as an Arrow table for Parquet (see :func:`_arrow_column`), with key-value ``metadata``."""
    arrays = [_arrow_column(frame[c]) for c in frame.columns]
    table = pa.table(arrays, names=[str(c) for c in frame.columns])
    if metadata:
        table = table.replace_schema_metadata(metadata)
    return table


def write_table(table: pa.Table, path) -> None:
    """Write one Arrow table to a Parquet file, atomically."""
    atomic_write(path, lambda fh: pq.write_table(table, fh, row_group_size=ROW_GROUP_ROWS, compression="zstd"),
                 binary=True)


def write_parquet(net: ExposureNetwork, dest) -> tuple[Path, Path]:
    """Write ``nodes.parquet`` and ``edges.parquet`` into the directory ``dest`` (created if needed)."""
    d = Path(dest)
    d.mkdir(parents=True, exist_ok=True)
    nodes, edges = to_frames(net)
    meta = {"format": "exposure-graph", "version": net.version}
    meta.update({k: (v.item() if isinstance(v, np.generic) else v) for k, v in net.meta.items()
                 if k not in ("format", "version")})
    paths = d / _NAMES[0], d / _NAMES[1]
    write_table(arrow_table(nodes, {META_KEY: json.dumps(meta, allow_nan=False).encode("utf-8")}), paths[0])
    write_table(arrow_table(edges), paths[1])
    return paths
