"""GraphML and GEXF through networkx, parsed with a hardened XML parser.

Before networkx sees the bytes, :mod:`defusedxml` parses them with DTDs,
entity declarations and external references forbidden; a document that has
any of them is rejected (no entity expansion, no network or file access).
The graph is then read by networkx and converted with the edge direction of
:mod:`exposure.io._convert` (edge attribute ``kind``, ``claim`` when absent;
``amount``). Problems are located by element (``edge 'a' -> 'b'``), since
the XML parser does not keep line numbers.
"""

from __future__ import annotations

import io
import json
import re

from ._common import decode_text, format_error

__all__ = ["parse_xml_graph", "write_xml"]


def _line_of(text: str, pattern: str) -> str:
    m = re.search(pattern, text)
    return f"line {text.count(chr(10), 0, m.start()) + 1}" if m else "line 1"


def safe_xml_text(data, name: str) -> str:
    """Decode and check an XML document: no DTD, no entities, well formed."""
    import defusedxml
    import defusedxml.ElementTree as DET

    text = decode_text(data, name)
    if not text.strip():
        raise format_error("The file is empty; expected an XML document.", name, "line 1")
    try:
        DET.fromstring(text.encode("utf-8"), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise format_error("The XML document has a document type declaration (<!DOCTYPE ...>); DTDs and "
                           "entities are rejected so that no entity is ever expanded. Expected plain XML "
                           "without a DOCTYPE.", name, _line_of(text, r"<!DOCTYPE")) from None
    except defusedxml.EntitiesForbidden:
        raise format_error("The XML document declares entities (<!ENTITY ...>); entities are rejected so that "
                           "none is ever expanded. Expected plain XML without entity declarations.",
                           name, _line_of(text, r"<!ENTITY")) from None
    except defusedxml.ExternalReferenceForbidden:
        raise format_error("The XML document refers to an external resource; expected a self-contained "
                           "document.", name) from None
    except DET.ParseError as err:
        line, col = getattr(err, "position", (1, 0))
        reason = str(err).split(":")[0]
        truncated = "no element found" in str(err) or "unclosed token" in str(err)
        msg = (f"The XML document ends unexpectedly (is the file truncated?): {reason} at column {col + 1}."
               if truncated else f"Invalid XML: {reason} at column {col + 1}.")
        raise format_error(msg, name, f"line {line}") from None
    return text


def parse_xml_graph(data, name: str, fmt: str):
    """Read GraphML or GEXF text into a networkx graph (after the safety check)."""
    import networkx as nx

    text = safe_xml_text(data, name)
    try:
        if fmt == "graphml":
            G = nx.parse_graphml(text, force_multigraph=False)
        else:
            G = nx.read_gexf(io.BytesIO(text.encode("utf-8")), node_type=str)
    except (nx.NetworkXError, KeyError, ValueError, TypeError, IndexError) as err:
        raise format_error(f"Not a valid {'GraphML' if fmt == 'graphml' else 'GEXF'} document: {err}", name) \
            from None
    if not G.is_directed():
        raise format_error("The graph is undirected; expected a directed graph (edges point from debtor "
                           "to creditor).", name)
    return G


def _scalar_attrs(G):
    """A copy of G whose attribute values are all scalars (lists and dicts as JSON text)."""
    H = G.copy()

    def fix(d):
        for k, v in list(d.items()):
            if isinstance(v, (list, dict, tuple)):
                d[k] = json.dumps(v)
            elif v is None:
                del d[k]
    fix(H.graph)
    for _, d in H.nodes(data=True):
        fix(d)
    for *_, d in H.edges(data=True):
        fix(d)
    return H


def write_xml(G, fh, fmt: str) -> None:
    import networkx as nx

    H = _scalar_attrs(G)
    if fmt == "graphml":
        nx.write_graphml(H, fh, named_key_ids=True)
    else:
        nx.write_gexf(H, fh)
