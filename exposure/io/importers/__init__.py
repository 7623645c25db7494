"""Importers of analysts' exports: DeFiLlama, the Aave v3 and Morpho Blue subgraphs, Dune's
lending tables, and the long exposure table with parameter columns.

:func:`import_graph` reads one or more files of one kind and returns an :class:`ImportResult`
whose ``network`` is a version-2 graph. What a source holds and the graph cannot use (an unknown
token, a missing price, a unit that cannot be inferred) is a warning with its count in
``result.problems``, never dropped silently; ``strict=True`` makes every such warning an error
(:class:`~exposure.exceptions.InvalidNetworkError`). A price table (``token,price_usd,as_of``)
re-prices native amounts so that amounts of different dates are not summed blindly, and
``into`` merges the import into an existing graph by node id, so that several sources build one
graph. The mapping of each source is described in its module and in ``docs/import.md``.

>>> from exposure.io.importers import import_graph
>>> r = import_graph(["tests/data/importers/aave_core.json"], "aave-subgraph")   # doctest: +SKIP
>>> r.network.positions[["borrower", "collateral", "debt"]]                     # doctest: +SKIP
"""

from __future__ import annotations

from ._common import POSITION_MODES, ImportResult, Notes, PriceTable, assemble, read_prices
from ._venues import VENUE_PARAMETERS, VenueParameters, morpho_liquidation_incentive
from .aave import import_aave
from .defillama import import_defillama
from .dune import import_dune
from .morpho import import_morpho
from .table import import_table, secured_positions
from ..._params import check_choice
from ...exceptions import InvalidParameterError
from .._common import source_name

__all__ = ["import_graph", "IMPORT_KINDS", "ImportResult", "read_prices", "PriceTable", "POSITION_MODES",
           "VENUE_PARAMETERS", "VenueParameters", "morpho_liquidation_incentive", "secured_positions"]

_IMPORTERS = {
    "defillama": import_defillama,
    "aave-subgraph": import_aave,
    "morpho-subgraph": import_morpho,
    "dune-lending": import_dune,
    "table": import_table,
}

#: Source kinds of :func:`import_graph` (``exposure import --from KIND``).
IMPORT_KINDS = tuple(_IMPORTERS)


def import_graph(sources, kind: str, *, as_of=None, prices=None, into=None, strict: bool = False,
                 positions: str = "aggregate") -> ImportResult:
    """Build a version-2 graph from saved exports of one kind.

    Parameters
    ----------
    sources : path or list of paths
        The exported files (several pages of one response, or the several files a kind takes:
        DeFiLlama's ``/protocols``, ``/protocol/{slug}``, ``/lendBorrow`` and ``/pools``;
        Dune's ``lending.borrow`` and ``lending.supply``; an exposure table and its node table).
    kind : {"defillama", "aave-subgraph", "morpho-subgraph", "dune-lending", "table"}
    as_of : str or date, optional
        The date of the graph: the latest DeFiLlama point on or before it, Dune flows up to its
        end, the price of the price table dated on or before it; the subgraphs' own block time
        otherwise.
    prices : path or PriceTable, optional
        A price table ``token,price_usd,as_of``: native amounts are valued at these prices
        (and the edge records the price's date).
    into : path or ExposureNetwork, optional
        A graph to merge into by node id: its nodes keep their fields, the imported nodes and
        edges are added.
    strict : bool, default False
        Every warning is an error: nothing is returned.
    positions : {"aggregate", "user"}
        Subgraphs and Dune: sum secured positions per (collateral, debt, e-mode), or keep one per
        account.

    Returns
    -------
    ImportResult
        ``network`` (an :class:`~exposure.network.ExposureNetwork`), ``problems`` (warnings with
        counts), ``kind``, ``sources``.
    """
    check_choice(kind, "kind", "import_graph", IMPORT_KINDS)
    check_choice(positions, "positions", "import_graph", POSITION_MODES)
    sources = [sources] if isinstance(sources, (str, bytes)) or hasattr(sources, "__fspath__") else list(sources)
    if not sources:
        raise InvalidParameterError("import_graph needs at least one source file.")
    if prices is not None and not isinstance(prices, PriceTable):
        prices = read_prices(prices, as_of=as_of)
    notes = Notes()
    nodes, edges, meta = _IMPORTERS[kind](sources, prices=prices, as_of=as_of, positions=positions, notes=notes)
    if prices is not None:
        notes.add_many(prices.name, "late", "Tokens whose only prices are dated after --as-of, valued at the "
                                            "earliest of them: {n} ({items}).",
                       [t for t in prices.late if t in prices.used])
    meta = {k: v for k, v in meta.items() if v is not None}
    meta["imported_from"] = kind
    if prices is not None:
        meta["prices"] = source_name(prices.name)
    return assemble(nodes, edges, kind=kind, sources=[source_name(s) for s in sources], notes=notes, meta=meta,
                    into=into, strict=strict)
