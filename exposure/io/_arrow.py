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


def reference_categorical(column: pa.ChunkedArray, lookup: pd.Index) -> pd.Categorical:
    """A node-reference column as a categorical over ``lookup`` (the node ids) and any unknown values.

    The categories are the node ids followed by the values that are not node ids (each once); a
    missing value (Arrow null) has code -1.
    """
    ids = pa.array(lookup.to_numpy(dtype=object), type=pa.string())
    extras: dict[str, int] = {}
    parts = []
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    if column.num_chunks > 1:
        # one dictionary for every chunk: the node ids are hashed once per column, not per chunk
        column = column.unify_dictionaries()
    looked_up = None
    for chunk in column.chunks:
        dictionary = chunk.dictionary
        if not pa.types.is_string(dictionary.type) and not pa.types.is_large_string(dictionary.type):
            # a reference column of numbers or booleans (a Parquet file written with the wrong
            # type): the values are not node ids; keep them as they are for the messages
            return _python_values(column)
        if looked_up is None:  # every chunk has the same dictionary (unified above)
            pos = pc.fill_null(pc.index_in(dictionary, value_set=ids), -1).to_numpy(zero_copy_only=False)
            pos = pos.astype(np.int64)
            unknown = np.flatnonzero(pos < 0)
            if len(unknown):
                words = dictionary.take(pa.array(unknown)).to_pylist()
                for k, w in zip(unknown, words):
                    pos[k] = extras.setdefault(w, len(lookup) + len(extras))
            looked_up = pos
        pos = looked_up
        idx = chunk.indices.to_numpy(zero_copy_only=False)
        if chunk.null_count:
            valid = chunk.indices.is_valid().to_numpy(zero_copy_only=False)
            codes = np.full(len(chunk), -1, np.int32)
            codes[valid] = pos[idx[valid].astype(np.int64)]
        else:
            codes = pos[idx].astype(np.int32) if len(idx) else np.zeros(0, np.int32)
        parts.append(codes)
    codes = np.concatenate(parts) if parts else np.zeros(0, np.int32)
    categories = lookup.append(pd.Index(list(extras), dtype=object)) if extras else lookup
    return pd.Categorical.from_codes(codes, categories=categories)


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


def to_frame(table: pa.Table, *, numbers=(), refs=(), text=(), node_ids=None) -> pd.DataFrame:
    """The frame of ``table`` for the validator (see the module notes).

    ``numbers``: columns of numeric schema fields; ``refs``: node-reference columns, resolved
    against ``node_ids``; ``text``: text fields of the schema. A schema column of another type than
    its field's (numbers in ``id``, text in ``amount``) is kept as Python values, named one by one
    by the validator. Other columns are converted by Arrow's own rules (numbers, strings, booleans).
    """
    lookup = _id_index(node_ids if node_ids is not None else [])
    data = {}
    for name, column in zip(table.column_names, table.columns):
        t = column.type
        if name in refs and (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t)
                             or pa.types.is_null(t)):
            if pa.types.is_null(t):
                column = column.cast(pa.string())
            data[name] = reference_categorical(column, lookup)
        elif name in numbers and (pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_null(t)):
            data[name] = number_column(column)
        elif name in refs or name in numbers or (name in text and not pa.types.is_dictionary(t)
                                                 and not pa.types.is_string(t) and not pa.types.is_large_string(t)):
            data[name] = _python_values(column)
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
    frame = pd.DataFrame(data, index=pd.RangeIndex(table.num_rows))
    return frame[list(table.column_names)] if len(table.column_names) else frame
