"""Tables out (exposure.io.output): CSV text that reads back exactly, JSON as json.dumps writes it,
Parquet files, and the output format chosen from -o FILE.

The oracles are independent: Python's float() on every CSV cell, the csv module for quoting, and
``json.dumps(..., indent=2)`` of the same records for JSON.
"""

import csv
import io
import json

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cli import cli
from exposure import InvalidParameterError
from exposure.io.output import jsonable, output_format, render, write

floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)


@st.composite
def frames(draw):
    n = draw(st.integers(0, 12))
    return pd.DataFrame({
        "node": draw(st.lists(texts, min_size=n, max_size=n)),
        "x": draw(st.lists(floats, min_size=n, max_size=n)),
        "whole": np.array(draw(st.lists(st.integers(-2**53, 2**53), min_size=n, max_size=n)), dtype=float),
        "flag": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "k": np.array(draw(st.lists(st.integers(-10**12, 10**12), min_size=n, max_size=n)), dtype=np.int64),
        "rank": pd.array(draw(st.lists(st.one_of(st.none(), st.integers(1, 99)), min_size=n, max_size=n)),
                         dtype="Int64"),
    })


@given(frames())
@settings(max_examples=80)
def test_csv_cells_read_back_exactly(frame):
    text = render("csv", frame=frame)
    rows = list(csv.reader(io.StringIO(text)))          # the csv module: quoting as QUOTE_MINIMAL reads it
    assert rows[0] == list(frame.columns) and len(rows) == len(frame) + 1
    for row, (_, rec) in zip(rows[1:], frame.iterrows()):
        assert row[0] == rec["node"]
        for cell, name in ((row[1], "x"), (row[2], "whole")):
            v = rec[name]
            assert cell == "" if np.isnan(v) else float(cell) == v and np.signbit(float(cell)) == np.signbit(v)
        assert row[3] == ("true" if rec["flag"] else "false") and int(row[4]) == rec["k"]
        assert row[5] == ("" if rec["rank"] is pd.NA else str(rec["rank"]))


@given(frames())
@settings(max_examples=80)
def test_json_is_what_json_dumps_writes(frame):
    obj = {"summary": {"n": len(frame), "ok": True, "nested": [1.5, None]}, "nodes": frame}
    assert render("json", obj=obj) == json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n"


def test_floats_are_laid_out_as_python_writes_them():
    # whole numbers as integers in CSV (floats in JSON); positional from 1e-4 to 1e16, else an exponent
    values = [33e9, 0.7, 9.5367431640625e-07, 1e-4, 1e16, 1.5e16, 12491294554.998064, -0.0, 5e-324]
    text = render("csv", frame=pd.DataFrame({"x": values}))
    assert text.split("\n")[1:-1] == ["33000000000", "0.7", "9.5367431640625e-07", "0.0001", "1e+16", "1.5e+16",
                                      "12491294554.998064", "-0.0", "5e-324"]


def test_parquet_output_keeps_the_frame_and_the_summary(tmp_path):
    frame = pd.DataFrame({"node": ["a", "b"], "loss": [0.5, np.nan], "defaulted": [True, False]})
    out = tmp_path / "r.parquet"
    write("parquet", str(out), frame=frame, obj={"summary": {"n_defaults": 1}, "nodes": frame})
    table = pq.read_table(out)
    back = table.to_pandas()
    assert back["node"].tolist() == ["a", "b"] and back["defaulted"].tolist() == [True, False]
    assert back["loss"].iloc[0] == 0.5 and np.isnan(back["loss"].iloc[1])
    assert json.loads(table.schema.metadata[b"exposure"]) == {"summary": {"n_defaults": 1}}
    with pytest.raises(InvalidParameterError, match="give -o FILE"):
        write("parquet", "-", frame=frame)


def test_output_format_from_the_file_name():
    assert output_format(None, "r.parquet") == "parquet"
    assert output_format(None, "r.CSV") == "csv"
    assert output_format(None, "r.txt") == "json"
    assert output_format(None, "-", terminal=True) == "table"
    assert output_format("json", "r.csv") == "json"


def test_clear_writes_parquet_and_csv_with_the_same_numbers(tmp_path):
    graph = "graphs/defi.json"
    for name in ("out.parquet", "out.csv"):
        r = CliRunner().invoke(cli, ["clear", graph, "--shock", "kelp=0.3", "-o", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
    pq_frame = pq.read_table(tmp_path / "out.parquet").to_pandas()
    csv_frame = pacsv.read_csv(tmp_path / "out.csv").to_pandas()          # Arrow parses numbers exactly
    assert list(pq_frame.columns) == list(csv_frame.columns)
    for c in pq_frame.columns:
        if pq_frame[c].dtype.kind == "f":
            np.testing.assert_array_equal(pq_frame[c].to_numpy(), csv_frame[c].to_numpy(dtype=float))
    r = CliRunner().invoke(cli, ["clear", graph, "--format", "parquet"])
    assert r.exit_code == 2 and "--format parquet writes a file: give -o FILE." in r.stderr
