"""Conversions between the network and pandas tables, networkx graphs, and JSON / CSV files.

Edge direction in networkx
--------------------------
Every edge points from the side that owes value to the side that is owed it,
as the rows and columns of ``L``:

=============  ===================  =========================================
edge kind      networkx edge        other fields (edge attributes)
=============  ===================  =========================================
``claim``      debtor → creditor    ``amount``
``holding``    token → holder       ``amount``
``collateral`` borrower → lender    ``collateral_token``, ``debt_token``, ...
=============  ===================  =========================================

The edge attribute ``kind`` names the kind (``claim`` when absent); node
attributes are the node fields; graph attributes are ``name``, ``as_of``,
``currency`` and ``version``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._atomic import atomic_write
from ._common import infer_version, object_frame
from ..network import ExposureNetwork
from ..schema import EDGE_KINDS
from ..exceptions import InvalidParameterError

__all__ = ["to_frames", "to_networkx", "graph_frames", "network_document", "write_json", "write_csv",
           "NX_ENDS", "atomic_write"]

#: For each edge kind, the fields at the source and the target of its networkx edge (the side that
#: owes and the side that is owed: :attr:`exposure.schema.EdgeKind.ends`).
NX_ENDS = {name: spec.ends for name, spec in EDGE_KINDS.items()}

_NODE_FIRST = ("id", "kind", "label", "external_assets", "external_liabilities")


def _missing(v) -> bool:
    if v is None or v is pd.NA:
        return True
    if isinstance(v, (float, np.floating)) and math.isnan(v):
        return True
    return False


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def to_frames(net: ExposureNetwork) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The node and edge tables of ``net`` in the columns of the graph format.

    Returns
    -------
    nodes : DataFrame
        Column ``id`` then the node fields (``external_assets`` as declared, without
        base-asset holdings) and metadata, in graph order.
    edges : DataFrame
        Column ``kind`` then the fields of each kind and the metadata, in input
        order; node references as strings. ``ExposureNetwork.from_frames(nodes,
        edges, meta=net.meta)`` builds the same network again.
    """
    nodes = net.nodes.reset_index()
    nodes = nodes.rename(columns={nodes.columns[0]: "id"})
    parts = []
    for kind, table in (("claim", net.claims), ("holding", net.holdings), ("collateral", net.positions)):
        if not len(table):
            continue
        t = pd.DataFrame(index=table.index)
        t["kind"] = kind
        for c in table.columns:
            col = table[c]
            t[c] = col.astype(object).to_numpy() if isinstance(col.dtype, pd.CategoricalDtype) else col.to_numpy()
        parts.append(t)
    if parts:
        edges = pd.concat(parts).sort_index(kind="stable")
        edges.index.name = None
        edges = edges.reset_index(drop=True)
    else:
        edges = pd.DataFrame({"kind": pd.Series([], dtype=object), "debtor": pd.Series([], dtype=object),
                              "creditor": pd.Series([], dtype=object), "amount": pd.Series([], dtype=float)})
    return nodes, edges


def _column_values(col: pd.Series) -> list:
    """Plain Python values of a column (numpy scalars converted, categories as their values)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    return [_plain(v) for v in col.to_numpy(dtype=object)] if col.dtype == object else col.tolist()


def _records(frame: pd.DataFrame) -> list[dict]:
    """One dict per row, without missing values (None, NA, NaN)."""
    cols = list(frame.columns)
    values = [_column_values(frame[c]) for c in cols]
    na = pd.NA
    return [{c: v for c, v in zip(cols, row) if v is not None and v is not na and v == v}
            for row in zip(*values)] if cols else [{} for _ in range(len(frame))]


def network_document(net: ExposureNetwork) -> dict:
    """The JSON document (format ``exposure-graph``) of ``net``."""
    nodes, edges = to_frames(net)
    doc: dict[str, Any] = {"format": "exposure-graph", "version": net.version}
    for k, v in net.meta.items():
        if k not in ("format", "version"):
            doc[k] = _plain(v)
    doc["nodes"] = _records(nodes)
    doc["edges"] = _records(edges)
    return doc


def _dump(doc: dict, fh) -> None:
    """The document with one node or edge per line (json's C encoder, readable diffs)."""
    encode = json.JSONEncoder(allow_nan=False).encode
    head = {k: v for k, v in doc.items() if k not in ("nodes", "edges")}
    fh.write("{\n")
    for k, v in head.items():
        fh.write(f" {encode(k)}: {encode(v)},\n")
    for key, last in (("nodes", False), ("edges", True)):
        items = doc[key]
        body = "\n  " + ",\n  ".join(map(encode, items)) + "\n " if items else ""
        fh.write(f' "{key}": [{body}]' + ("\n" if last else ",\n"))
    fh.write("}\n")


def write_json(net: ExposureNetwork, dest) -> None:
    doc = network_document(net)
    if hasattr(dest, "write"):
        _dump(doc, dest)
        return
    atomic_write(dest, lambda fh: _dump(doc, fh))


def _csv_cells(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object:
            a = out[c].to_numpy(dtype=object)
            if any(isinstance(v, (list, dict)) for v in a):
                out[c] = [json.dumps(v) if isinstance(v, (list, dict)) else v for v in a]
    return out


def write_csv(net: ExposureNetwork, dest) -> tuple[Path, Path]:
    """Write ``nodes.csv`` and ``edges.csv`` into the directory ``dest`` (created if needed)."""
    d = Path(dest)
    d.mkdir(parents=True, exist_ok=True)
    nodes, edges = to_frames(net)
    paths = d / "nodes.csv", d / "edges.csv"
    for frame, path in zip((nodes, edges), paths):
        frame = _csv_cells(frame)
        atomic_write(path, lambda fh, f=frame: f.to_csv(fh, index=False, lineterminator="\n"))
    return paths


def to_networkx(net: ExposureNetwork, *, multigraph: bool | None = None):
    """A networkx graph of ``net`` (edges point debtor-side → creditor-side, see the module notes).

    Parameters
    ----------
    multigraph : bool, optional
        ``None`` (default): a ``DiGraph``, or a ``MultiDiGraph`` when two edges join
        the same ordered pair (duplicate claims, a claim and a holding). True / False
        force the type; False raises ``ValueError`` when edges would be merged.
    """
    import networkx as nx

    nodes, edges = to_frames(net)
    src = np.empty(len(edges), dtype=object)
    dst = np.empty(len(edges), dtype=object)
    for kind, (a, b) in NX_ENDS.items():
        m = (edges["kind"] == kind).to_numpy()
        if m.any():
            src[m] = edges.loc[m, a].to_numpy(dtype=object)
            dst[m] = edges.loc[m, b].to_numpy(dtype=object)
    pairs = pd.Series(list(zip(src, dst)), dtype=object)
    has_parallel = bool(pairs.duplicated().any())
    if multigraph is False and has_parallel:
        raise InvalidParameterError("Two edges join the same pair of nodes; use multigraph=True to keep both.")
    G = nx.MultiDiGraph() if (multigraph or (multigraph is None and has_parallel)) else nx.DiGraph()
    G.graph.update({k: _plain(v) for k, v in net.meta.items()})
    for rec in _records(nodes):
        G.add_node(rec.pop("id"), **rec)
    for u, v, rec in zip(src, dst, _records(edges)):
        a, b = NX_ENDS[rec["kind"]]
        rec.pop(a)
        rec.pop(b)
        G.add_edge(u, v, **rec)
    return G


def graph_frames(G, *, amount: str = "amount", kind: str = "kind"):
    """Node and edge tables (graph-format columns) of a networkx graph; see :func:`to_networkx`.

    Returns ``(nodes, edges, meta, node_elements, edge_elements)``: the last two
    describe each row's node / edge (used to locate problems in XML files).
    """
    node_rows, node_el = [], []
    for n, data in G.nodes(data=True):
        rec = {"id": n if isinstance(n, str) else str(n)}
        rec.update({k: v for k, v in data.items() if k != "id"})
        node_rows.append(rec)
        node_el.append(f"node {rec['id']!r}")
    edge_rows, edge_el = [], []
    it = G.edges(data=True, keys=True) if G.is_multigraph() else ((u, v, None, d) for u, v, d in G.edges(data=True))
    for u, v, key, data in it:
        rec = dict(data)
        k = rec.pop(kind, "claim")
        if amount != "amount" and amount in rec:
            rec["amount"] = rec.pop(amount)
        ends = NX_ENDS.get(k, NX_ENDS["claim"]) if isinstance(k, str) else NX_ENDS["claim"]
        u = u if isinstance(u, str) else str(u)
        v = v if isinstance(v, str) else str(v)
        out = {"kind": k, ends[0]: u, ends[1]: v}
        out.update(rec)
        edge_rows.append(out)
        edge_el.append(f"edge {u!r} -> {v!r}" + (f" (key {key!r})" if key not in (None, 0) else ""))
    nodes = object_frame(node_rows)
    edges = object_frame(edge_rows)
    meta = dict(G.graph)
    meta.setdefault("version", infer_version(nodes.columns, set(edges["kind"]) if len(edges) else ()))
    try:
        meta["version"] = int(meta["version"])
    except (TypeError, ValueError):
        pass
    return nodes, edges, meta, node_el, edge_el
