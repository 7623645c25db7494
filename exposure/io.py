"""Reading and writing exposure graphs.

One entry point, :func:`read_graph`, reads every supported form onto the
network model of :mod:`exposure.network` (``L[i, j]`` = what node ``i`` owes
node ``j``); :func:`write_graph` writes the JSON and CSV forms;
:func:`check_graph` returns every problem of an input instead of raising on
the first error (``exposure validate``).

Supported forms (the format is described in ``docs/format.md``):

=========  ==============================================================
json       ``{"format": "exposure-graph", "version": 1 | 2, "nodes": [...], "edges": [...]}``
csv        a directory holding ``nodes.csv`` and ``edges.csv``, or a pair of paths
graphml    GraphML through networkx (edge attributes ``kind`` and ``amount``)
gexf       GEXF through networkx (same attributes)
table      the long exposure table ``holder,token_or_issuer,amount_usd,kind,as_of,source``
=========  ==============================================================

Every error is a :class:`~exposure.exceptions.GraphFormatError` (the input
cannot be read) or an :class:`~exposure.exceptions.InvalidNetworkError` (it
can be read but its content is invalid); each of its ``problems`` names the
file and a location (``line 12`` in CSV, ``$.edges[3].amount (line 40)`` in
JSON, an element in XML), the node or edge, what was expected and what was found.
"""

from __future__ import annotations

import os
from typing import Any

from ._io_common import format_error, read_bytes, source_name
from ._io_csv import read_csv_graph
from ._io_json import parse_json_graph
from .exceptions import GraphFormatError, InvalidNetworkError, Problem
from .network import ExposureNetwork

__all__ = ["read_graph", "check_graph", "FORMATS"]

#: Input formats understood by :func:`read_graph`.
FORMATS = ("json", "csv", "graphml", "gexf", "table")

_SUFFIX = {".json": "json", ".graphml": "graphml", ".gexf": "gexf", ".csv": "table"}


def guess_format(source: Any) -> str:
    """The format of ``source`` from its name: suffix, directory or pair; JSON for streams and ``-``."""
    if isinstance(source, (tuple, list)):
        return "csv"
    if isinstance(source, (str, os.PathLike)):
        s = os.fspath(source)
        if s == "-":
            return "json"
        if os.path.isdir(s):
            return "csv"
        ext = os.path.splitext(s)[1].lower()
        if ext in _SUFFIX:
            return _SUFFIX[ext]
        raise format_error(f"Cannot tell the format of {s!r} from its name; expected a .json, .graphml, "
                           ".gexf or .csv file or a directory with nodes.csv and edges.csv "
                           "(or give the format explicitly).", s)
    return "json"


def _read(source, format, strict):
    fmt = (format or guess_format(source)).lower()
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}. Got {format!r} instead.")
    if fmt == "json":
        data, name = read_bytes(source)
        return parse_json_graph(data, name, strict=strict)[:2]
    if fmt == "csv":
        return read_csv_graph(source, strict=strict)
    raise format_error(f"Reading format {fmt!r} is not available.", source_name(source))


def read_graph(source, format: str | None = None, *, strict: bool = True) -> ExposureNetwork:
    """Read an exposure graph.

    Parameters
    ----------
    source : str, path-like, pair of paths or file object
        A ``.json``, ``.graphml`` or ``.gexf`` file, a ``.csv`` long exposure
        table, a directory with ``nodes.csv`` and ``edges.csv``, a pair
        ``(nodes_csv, edges_csv)``, ``"-"`` for standard input, or an open file.
    format : {"json", "csv", "graphml", "gexf", "table"}, optional
        Guessed from the name when omitted; standard input and open files are JSON.
    strict : bool, default True
        If True, raise on the first input holding any error (listing every error
        found in it). If False, return the network built from the valid records,
        with every problem in ``network.problems``.

    Returns
    -------
    ExposureNetwork

    Raises
    ------
    GraphFormatError
        The input cannot be read: undecodable bytes, truncated or malformed JSON /
        CSV / XML, XML with a DTD or entities, wrong document structure.
    InvalidNetworkError
        The content is invalid: unknown or duplicate node ids, self-claims,
        negative / NaN / infinite / non-numeric amounts, missing fields, unknown
        edge kinds, edge kinds of version 2 in a version-1 document, empty graph.
    OSError
        The file cannot be opened.

    Examples
    --------
    >>> import io
    >>> doc = '''{"format": "exposure-graph", "version": 1,
    ...   "nodes": [{"id": "a", "external_assets": 10}, {"id": "b"}],
    ...   "edges": [{"kind": "claim", "debtor": "a", "creditor": "b", "amount": 4}]}'''
    >>> net = read_graph(io.StringIO(doc))
    >>> net.liabilities.toarray().tolist()
    [[0.0, 4.0], [0.0, 0.0]]
    >>> read_graph(io.StringIO(doc.replace('"amount": 4', '"amount": -4')))
    Traceback (most recent call last):
    ...
    exposure.exceptions.InvalidNetworkError: <stream>: $.edges[0].amount (line 3): error: Field 'amount' of claim edge 'a->b' must be a finite non-negative number. Got -4.0 instead.
    """
    return _read(source, format, strict)[0]


def check_graph(source, format: str | None = None) -> tuple[ExposureNetwork | None, list[Problem]]:
    """Every problem of an input, without raising on bad content.

    Returns ``(network, problems)``: the network built from the valid records
    (``None`` when the input cannot be read at all) and the list of errors and
    warnings in file order. ``OSError`` (missing file) is still raised.
    """
    try:
        net, problems = _read(source, format, False)
    except GraphFormatError as err:
        return None, list(err.problems)
    except InvalidNetworkError as err:  # pragma: no cover - strict=False does not raise these
        return None, list(err.problems)
    return net, list(problems)
