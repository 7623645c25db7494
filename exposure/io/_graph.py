"""Reading and writing whole graphs: the entry points of :mod:`exposure.io`."""

from __future__ import annotations

import io
import os
from typing import Any

from ._common import format_error, locate, read_bytes, source_name
from ._convert import atomic_write, graph_frames, to_frames, to_networkx, write_csv, write_json
from ._csv import read_csv_graph
from ._json import parse_json_graph, schema_problems
from ._parquet import is_parquet_dir, read_parquet_graph, write_parquet
from ._table import read_exposure_table
from ._xml import parse_xml_graph, write_xml
from .._params import check_choice
from .._progress import Progress
from .._validation import build_tables, sort_problems
from ..exceptions import GraphFormatError, InvalidNetworkError, Problem, InvalidParameterError
from ..network import ExposureNetwork

__all__ = ["read_graph", "check_graph", "write_graph", "from_frames", "from_networkx", "guess_format", "FORMATS"]

#: Build a network from a node table and an edge table (see :meth:`ExposureNetwork.from_frames`).
from_frames = ExposureNetwork.from_frames

#: Input formats understood by :func:`read_graph`.
FORMATS = ("json", "csv", "parquet", "graphml", "gexf", "table")

_SUFFIX = {".json": "json", ".graphml": "graphml", ".gexf": "gexf", ".csv": "table"}


def guess_format(source: Any) -> str:
    """The format of ``source`` from its name: suffix, directory or pair; JSON for streams and ``-``.

    A directory holding ``nodes.parquet`` and ``edges.parquet`` is a Parquet graph, any other
    directory a CSV graph.
    """
    if isinstance(source, (tuple, list)):
        parquet = all(os.fspath(p).lower().endswith(".parquet") for p in source)
        return "parquet" if source and parquet else "csv"
    if isinstance(source, (str, os.PathLike)):
        s = os.fspath(source)
        if s == "-":
            return "json"
        if os.path.isdir(s):
            return "parquet" if is_parquet_dir(s) else "csv"
        ext = os.path.splitext(s)[1].lower()
        if ext in _SUFFIX:
            return _SUFFIX[ext]
        raise format_error(f"Cannot tell the format of {s!r} from its name; expected a .json, .graphml, "
                           ".gexf or .csv file or a directory with nodes.csv and edges.csv (or nodes.parquet "
                           "and edges.parquet), or give the format explicitly.", s)
    return "json"


def _read(source, format, strict, **table_options):
    """Read ``source``; on a terminal, one progress line (phase, edges read, rate) for the read."""
    fmt = (format or guess_format(source)).lower()
    check_choice(fmt, "format", "read_graph", FORMATS)
    with Progress(f"reading {fmt} graph", unit="edges") as bar:
        net, problems = _read_format(source, fmt, strict, **table_options)
        if net is not None:
            bar.update(net.n_claims + len(net.holdings) + len(net.positions))
    return net, problems


def _read_format(source, fmt, strict, **table_options):
    if fmt == "json":
        data, name = read_bytes(source)
        net, problems, (doc, locator) = parse_json_graph(data, name, strict=strict)
        if table_options.get("schema"):
            problems = problems + schema_problems(doc, locator, problems, name)
        return net, problems
    if fmt == "csv":
        return read_csv_graph(source, strict=strict)
    if fmt == "parquet":
        return read_parquet_graph(source, strict=strict)
    if fmt in ("graphml", "gexf"):
        data, name = read_bytes(source)
        G = parse_xml_graph(data, name, fmt)
        return _from_graph(G, name=name, strict=strict, text_input=True, xml=fmt)
    table_options.pop("schema", None)
    return read_exposure_table(source, strict=strict, **table_options)


def read_graph(source, format: str | None = None, *, strict: bool = True, version: int = 2,
               nodes=None) -> ExposureNetwork:
    """Read an exposure graph.

    Parameters
    ----------
    source : str, path-like, pair of paths or file object
        A ``.json``, ``.graphml`` or ``.gexf`` file, a ``.csv`` long exposure
        table, a directory with ``nodes.csv`` and ``edges.csv`` (or ``nodes.parquet`` and
        ``edges.parquet``), a pair ``(nodes_csv, edges_csv)`` or ``(nodes_parquet,
        edges_parquet)``, ``"-"`` for standard input, or an open file.
    format : {"json", "csv", "parquet", "graphml", "gexf", "table"}, optional
        Guessed from the name when omitted; standard input and open files are JSON.
    strict : bool, default True
        If True, raise on the first input holding any error (listing every error
        found in it). If False, return the network built from the valid records,
        with every problem in ``network.problems``.
    version : {1, 2}, default 2
        Long exposure table only: the mapping of its rows (2: holdings and issuers,
        1: claims only; see :func:`exposure.io.read_exposure_table`).
    nodes : DataFrame or path, optional
        Long exposure table only: the node table (ids and kinds).

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
    return _read(source, format, strict, version=version, nodes=nodes)[0]


def check_graph(source, format: str | None = None, **table_options
                ) -> tuple[ExposureNetwork | None, list[Problem]]:
    """Every problem of an input, without raising on bad content.

    Returns ``(network, problems)``: the network built from the valid records
    (``None`` when the input cannot be read at all) and the list of errors and
    warnings in file order. A JSON document is also checked against the JSON
    Schema of the format (``exposure/schemas/graph.schema.json``); violations the
    reader has not already reported are added. ``OSError`` (missing file) is
    still raised. ``table_options`` (``version``, ``nodes``) apply to a long
    exposure table.
    """
    try:
        net, problems = _read(source, format, False, schema=True, **table_options)
    except GraphFormatError as err:
        return None, list(err.problems)
    except InvalidNetworkError as err:  # pragma: no cover - strict=False does not raise these
        return None, list(err.problems)
    return net, list(problems)


#: Graph and edge attributes networkx adds when it reads GraphML / GEXF (not part of the graph).
_XML_GRAPH_KEYS = ("node_default", "edge_default", "mode")
_XML_EDGE_KEYS = ("id", "networkx_key")


def _from_graph(G, *, name=None, strict=True, text_input=False, xml=None, amount="amount", kind="kind"):
    nodes, edges, meta, node_el, edge_el = graph_frames(G, amount=amount, kind=kind)
    if xml:
        for k in _XML_GRAPH_KEYS:
            meta.pop(k, None)
        edges = edges.drop(columns=[c for c in _XML_EDGE_KEYS if c in edges.columns])
    version = meta.get("version", 1)
    node_table, tables, problems = build_tables(nodes, edges, version=version if version in (1, 2) else 1,
                                                text_input=text_input)
    if version not in (1, 2):
        problems.append(Problem("error", f"Graph attribute 'version' must be 1 or 2. Got {version!r} instead.",
                                field="version"))

    def where(p: Problem):
        if p.row is None:
            return None
        if p.table == "nodes":
            return node_el[p.row] + (f", attribute {p.field!r}" if p.field and p.field != "id" else "")
        if p.table == "edges":
            return edge_el[p.row] + (f", attribute {p.field!r}" if p.field else "")
        return None

    problems = locate(sort_problems(problems), name, where)
    if strict and any(p.severity == "error" for p in problems):
        raise InvalidNetworkError(problems)
    return ExposureNetwork._assemble(node_table, tables, meta, tuple(problems)), problems


def from_networkx(G, *, amount: str = "amount", kind: str = "kind", strict: bool = True) -> ExposureNetwork:
    """Build a network from a networkx directed graph.

    Edges point from the side that owes to the side that is owed: a ``claim``
    edge ``u → v`` means ``u`` owes ``v`` ``amount``; a ``holding`` edge
    ``token → holder``; a ``collateral`` edge ``borrower → lender`` with the
    other fields as attributes. Node attributes are node fields; graph
    attributes ``name``, ``as_of``, ``currency`` and ``version`` (2 when a
    version-2 edge kind is present and ``version`` is not given) are the metadata.
    Node ids that are not strings are converted with ``str``.

    Parameters
    ----------
    G : networkx.DiGraph or networkx.MultiDiGraph
    amount, kind : str
        Names of the edge attributes holding the amount and the edge kind.
    strict : bool
        Raise :class:`InvalidNetworkError` on any error (default), or keep the valid
        records and list the problems in ``network.problems``.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node("a", external_assets=10.0)
    >>> G.add_edge("a", "b", amount=4.0)
    >>> from_networkx(G).liabilities.toarray().tolist()
    [[0.0, 4.0], [0.0, 0.0]]
    """
    if not G.is_directed():
        raise InvalidParameterError("G must be a directed graph (edges point from debtor to creditor).")
    return _from_graph(G, strict=strict, amount=amount, kind=kind)[0]


def _dest_format(dest, format):
    if format:
        return format.lower()
    if hasattr(dest, "write"):
        return "json"
    s = os.fspath(dest)
    ext = os.path.splitext(s)[1].lower()
    if ext in (".json", ".graphml", ".gexf"):
        return ext[1:]
    if ext == "" or os.path.isdir(s):
        return "csv"
    raise InvalidParameterError(f"Cannot tell the format from {s!r}; expected a .json, .graphml or .gexf file or a "
                     "directory (csv), or give the format explicitly.")


def write_graph(network: ExposureNetwork, dest, format: str | None = None) -> None:
    """Write ``network`` to ``dest``, atomically (a temporary file renamed into place).

    Parameters
    ----------
    network : ExposureNetwork
    dest : str, path-like or text file
        A ``.json``, ``.graphml`` or ``.gexf`` file, or a directory for the CSV form
        (``nodes.csv`` and ``edges.csv``) or the Parquet form (``nodes.parquet`` and
        ``edges.parquet``), each file written atomically.
    format : {"json", "csv", "parquet", "graphml", "gexf"}, optional
        Guessed from ``dest`` when omitted (a directory is CSV).

    Notes
    -----
    Reading the written file gives the same network: ids, node fields, edges in
    order, amounts (floats are written with shortest round-trip precision) and
    metadata. In CSV and Parquet, node and edge fields holding lists or objects are
    written as JSON text; the CSV form keeps no graph metadata but the directory name,
    the Parquet form keeps all of it; GEXF keeps only the graph's name.
    """
    fmt = _dest_format(dest, format)
    if fmt == "json":
        write_json(network, dest)
    elif fmt == "csv":
        write_csv(network, dest)
    elif fmt == "parquet":
        write_parquet(network, dest)
    elif fmt in ("graphml", "gexf"):
        G = to_networkx(network)

        def write(fh):
            buf = io.BytesIO()
            write_xml(G, buf, fmt)
            fh.write(buf.getvalue().decode("utf-8"))
        if hasattr(dest, "write"):
            write(dest)
        else:
            atomic_write(dest, write)
    else:
        check_choice(fmt, "format", "write_graph", ("json", "csv", "parquet", "graphml", "gexf"))
