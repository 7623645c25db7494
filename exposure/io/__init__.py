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

from ._convert import to_frames, to_networkx
from ._graph import FORMATS, check_graph, from_frames, from_networkx, guess_format, read_graph, write_graph
from ._table import read_exposure_table
from .importers import IMPORT_KINDS, ImportResult, import_graph, read_prices

__all__ = ["read_graph", "check_graph", "write_graph", "to_frames", "from_frames", "to_networkx",
           "from_networkx", "read_exposure_table", "guess_format", "FORMATS", "import_graph", "IMPORT_KINDS",
           "ImportResult", "read_prices"]
