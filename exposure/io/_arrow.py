"""Arrow tables onto the pandas frames the validator reads, for the CSV and Parquet forms.

Both readers get an Arrow table (the CSV form from Arrow's multithreaded CSV reader, the Parquet
form from its row groups read in parallel) and turn it into the frame that
:func:`exposure._validation.build_tables` checks:

* node references (``debtor``, ``creditor``, ``holder``, ``issuer`` ...) stay dictionary-encoded:
  each distinct value of a column chunk is looked up once among the node ids
  (:func:`pyarrow.compute.index_in`, a C hash table) and the row codes are mapped through that
  lookup, so no column of millions of Python strings is ever made;
* numeric fields of the schema become float64, or a masked ``Float64`` column when a cell is
  missing (an empty CSV cell, a Parquet null) or NaN, so that *missing* (a default, or "required
  but missing") and *NaN* (always invalid) stay apart;
* text columns become the string columns :func:`pandas.read_csv` would give.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["reference_categorical", "number_column", "to_frame"]


def _id_index(node_ids) -> pd.Index:
    """The distinct string node ids (a reference can only match a string id)."""
    ids = np.asarray(node_ids, dtype=object)
    if len(ids) and pd.api.types.infer_dtype(ids, skipna=False) != "string":
        ids = ids[np.fromiter((isinstance(v, str) for v in ids), bool, len(ids))]
    return pd.Index(pd.unique(ids), dtype=object)


def _distinct_dictionaries(column: pa.ChunkedArray):
    """``(dictionaries, which)``: the distinct dictionaries of a dictionary-encoded column and, for
    each chunk, the position of its dictionary among them. A Parquet reader hands every batch of a
    row group the same dictionary buffer, so a file of R row groups has R dictionaries however many
    batches it is read in; the CSV reader has one per block."""
    seen: dict[tuple, int] = {}
    dictionaries, which = [], []
    for chunk in column.chunks:
        d = chunk.dictionary
        bufs = d.buffers()
        key = (d.type, len(d), d.offset, *(b.address if b is not None else 0 for b in bufs))
        if key not in seen:
            seen[key] = len(dictionaries)
            dictionaries.append(d)
        which.append(seen[key])
    return dictionaries, which


def reference_categorical(column: pa.ChunkedArray, lookup: pd.Index, ids: pa.Array | None = None) -> pd.Categorical:
    """A node-reference column as a categorical over ``lookup`` (the node ids) and any unknown values.

    The categories are the node ids followed by the values that are not node ids (each once); a
    missing value (Arrow null) has code -1. The distinct dictionaries of the column (one per
    Parquet row group or CSV block) are concatenated and looked up among the node ids in one
    :func:`pyarrow.compute.index_in` call, so the node ids are hashed once per column and each
    dictionary entry probed once; the row codes are then mapped through that lookup. ``ids`` is
    ``lookup`` as an Arrow string array (made here when not given).
    """
    if ids is None:
        ids = pa.array(lookup.to_numpy(dtype=object), type=pa.string())
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    value_type = column.type.value_type
    if not pa.types.is_string(value_type) and not pa.types.is_large_string(value_type):
        # a reference column of numbers or booleans (a Parquet file written with the wrong
        # type): the values are not node ids; keep them as they are for the messages
        return _python_values(column)
    dictionaries, which = _distinct_dictionaries(column)
    extras: dict[str, int] = {}
    if dictionaries:
        words = pa.concat_arrays([d.cast(pa.string()) for d in dictionaries]) if len(dictionaries) > 1 \
            else dictionaries[0].cast(pa.string())
        pos = pc.fill_null(pc.index_in(words, value_set=ids), -1).to_numpy(zero_copy_only=False).astype(np.int32)
        unknown = np.flatnonzero(pos < 0)
        if len(unknown):
            for k, w in zip(unknown, words.take(pa.array(unknown)).to_pylist()):
                pos[k] = extras.setdefault(w, len(lookup) + len(extras))
        bounds = np.cumsum([0] + [len(d) for d in dictionaries])
    codes = np.empty(len(column), np.int32)
    at = 0
    for chunk, w in zip(column.chunks, which):
        part = pos[bounds[w]:bounds[w + 1]]
        idx = chunk.indices.to_numpy(zero_copy_only=False)
        out = codes[at:at + len(chunk)]
        if chunk.null_count:
            valid = chunk.indices.is_valid().to_numpy(zero_copy_only=False)
            out[:] = -1
            out[valid] = part[idx[valid].astype(np.int64)]
        elif len(idx):
            np.take(part, idx, out=out)
        at += len(chunk)
    categories = lookup.append(pd.Index(list(extras), dtype=object)) if extras else lookup
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories, ordered=False), validate=False)


def number_column(column: pa.ChunkedArray) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """A numeric Arrow column: float64 when every value is a number, else masked ``Float64``
    (mask = missing; NaN kept as a value)."""
    values = column.cast(pa.float64()).to_numpy(zero_copy_only=False) if column.null_count == 0 else \
        pc.fill_null(column.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
    values = np.array(values, dtype=np.float64, copy=True)
    missing = column.is_null().to_numpy(zero_copy_only=False) if column.null_count else None
    if missing is None and not np.isnan(values).any():
        return values
    if missing is None:
        missing = np.zeros(len(values), bool)
    values[missing] = np.nan
    return pd.arrays.FloatingArray(values, missing)


def _python_values(column: pa.ChunkedArray) -> pd.Series:
    """The values as Python objects (None for nulls): a column of an unexpected type, whose values
    the validator names one by one."""
    out = np.empty(len(column), dtype=object)
    out[:] = column.to_pylist()
    return pd.Series(out, dtype=object, index=pd.RangeIndex(len(out)))


def _text(column: pa.ChunkedArray):
    """A string column as :func:`pandas.read_csv` gives it (object in pandas 2, ``str`` in pandas 3);
    with nulls (Parquet), an object column with None for each null (a missing value)."""
    if column.null_count:
        return _python_values(column)
    return pd.Series(column.to_pandas(), copy=False)


def _categorical_text(column: pa.ChunkedArray) -> pd.Categorical:
    """A dictionary-encoded text column of few distinct values (an edge's ``kind``) as a categorical:
    one code per row, no Python string per row; a null has code -1."""
    column = column.unify_dictionaries() if column.num_chunks > 1 else column
    if column.num_chunks == 0:
        return pd.Categorical.from_codes(np.zeros(0, np.int32), categories=pd.Index([], dtype=object))
    words = column.chunks[0].dictionary.cast(pa.string()).to_pylist()
    codes = np.concatenate([pc.fill_null(ch.indices, -1).to_numpy(zero_copy_only=False).astype(np.int32)
                            for ch in column.chunks])
    return pd.Categorical.from_codes(codes, categories=pd.Index(words, dtype=object))


def to_frame(table: pa.Table, *, numbers=(), refs=(), text=(), node_ids=None, categorical=()) -> pd.DataFrame:
    """The frame of ``table`` for the validator (see the module notes).

    ``numbers``: columns of numeric schema fields; ``refs``: node-reference columns, resolved
    against ``node_ids`` (the columns in parallel threads: Arrow's lookups release the GIL);
    ``text``: text fields of the schema; ``categorical``: text fields of few distinct values
    (kinds, choices), kept as categoricals when read dictionary-encoded. A schema column of another
    type than its field's (numbers in ``id``, text in ``amount``) is kept as Python values, named
    one by one by the validator. Other columns are converted by Arrow's own rules (numbers,
    strings, booleans).
    """
    lookup = _id_index(node_ids if node_ids is not None else [])
    data = {}
    lookups = {}
    for name, column in zip(table.column_names, table.columns):
        t = column.type
        if name in refs and (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t)
                             or pa.types.is_null(t)):
            if pa.types.is_null(t):
                column = column.cast(pa.string())
            lookups[name] = column
        elif name in numbers and (pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_null(t)):
            data[name] = number_column(column)
        elif name in refs or name in numbers or (name in text and not pa.types.is_dictionary(t)
                                                 and not pa.types.is_string(t) and not pa.types.is_large_string(t)):
            data[name] = _python_values(column)
        elif pa.types.is_dictionary(t) and name in categorical and (pa.types.is_string(t.value_type)
                                                                      or pa.types.is_large_string(t.value_type)):
            data[name] = _categorical_text(column)
        elif pa.types.is_dictionary(t):
            data[name] = column.cast(t.value_type).to_pandas()
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            data[name] = _text(column)
        elif pa.types.is_floating(t) or pa.types.is_integer(t):
            data[name] = column.to_numpy() if column.null_count == 0 else \
                column.to_pandas().astype(object).where(lambda s: s.notna(), None)
        else:
            data[name] = column.to_pandas().astype(object).where(lambda s: s.notna(), None) if column.null_count \
                else column.to_pandas()
    if lookups:
        ids = pa.array(lookup.to_numpy(dtype=object), type=pa.string())
        if len(lookups) == 1:
            data.update({k: reference_categorical(v, lookup, ids) for k, v in lookups.items()})
        else:
            with ThreadPoolExecutor(max_workers=min(len(lookups), os.cpu_count() or 1)) as pool:
                done = {k: pool.submit(reference_categorical, v, lookup, ids) for k, v in lookups.items()}
                data.update({k: f.result() for k, f in done.items()})
    return pd.DataFrame({c: data[c] for c in table.column_names}, index=pd.RangeIndex(table.num_rows), copy=False)
