"""The network of balance sheets every model works on.

Direction convention
--------------------
``L[i, j]`` is what node ``i`` owes node ``j``: row = debtor, column = creditor.
An edge of kind ``claim`` with ``debtor=i, creditor=j, amount=a`` adds ``a`` to
``L[i, j]``. Holding a token is a claim of the holder on the token; a token is
a claim on its issuer. Every loader maps its input onto this convention, and no
other module states it again.

Balance sheet of node ``i``::

    assets       a_i = e_i + sum_j L[j, i]         (external assets + claims on others)
    obligations  p̄_i = sum_j L[i, j] + x_i        (claims of others + external liabilities)
    equity       E_i = a_i - p̄_i                   (before clearing; may be negative)
    leverage     a_i / E_i                          (inf where E_i <= 0)

A node of kind ``asset`` (ETH, USDC: a base asset no member of the network
issues) is not a debtor inside the network: a claim on it is a holding of that
asset and adds to the holder's external assets ``e``. Asset nodes stay in the
node table, for display and for price shocks, with no row or column in use in
``L``.

Memory is proportional to nodes + edges: ``L`` is a CSR array, edge tables
keep node references as categorical codes (4 bytes each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .exceptions import InvalidNetworkError, Problem

__all__ = ["ExposureNetwork", "EdgeKind", "EDGE_KINDS", "NODE_FIELDS", "NODE_KINDS", "ORACLES"]

#: Well-known node kinds (``kind`` is free text; these have a meaning to the models).
NODE_KINDS = ("protocol", "token", "asset", "venue", "position", "external")

#: Oracle types of a collateral position (format version 2).
ORACLES = ("market", "exchange_rate", "hardcoded", "linear_discount")

#: Numeric node fields: name -> (default, lower bound, lower bound allowed, upper bound, version).
#: ``None`` as a default means "absent" (kept as NaN).
NODE_FIELDS: Mapping[str, tuple] = MappingProxyType({
    "external_assets": (0.0, 0.0, True, np.inf, 1),
    "external_liabilities": (0.0, 0.0, True, np.inf, 1),
    "price": (1.0, 0.0, False, np.inf, 2),
    "depth": (None, 0.0, True, np.inf, 2),
    "depth_slippage": (None, 0.0, True, 1.0, 2),
    "impact_exponent": (None, 0.0, False, np.inf, 2),
})


@dataclass(frozen=True)
class EdgeKind:
    """The fields of one edge kind of the graph format.

    ``refs`` are node references, ``amounts`` non-negative finite numbers,
    ``fractions`` numbers in ``[0, 1]`` with their defaults (``None`` = required),
    ``choices`` text fields with their allowed values and default.
    """

    name: str
    version: int
    refs: tuple[str, ...]
    amounts: tuple[str, ...]
    fractions: Mapping[str, float | None] = field(default_factory=dict)
    choices: Mapping[str, tuple[tuple[str, ...], str | None]] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[str, ...]:
        return self.refs + self.amounts + tuple(self.fractions) + tuple(self.choices)

    @property
    def required(self) -> tuple[str, ...]:
        opt = {k for k, v in self.fractions.items() if v is not None}
        opt |= {k for k, (_, d) in self.choices.items() if d is not None}
        return tuple(f for f in self.fields if f not in opt)


#: Edge kinds by name. Version 1 knows ``claim`` only; version 2 adds
#: ``holding`` and ``collateral`` (secured positions).
EDGE_KINDS: Mapping[str, EdgeKind] = MappingProxyType({
    "claim": EdgeKind("claim", 1, ("debtor", "creditor"), ("amount",)),
    "holding": EdgeKind("holding", 2, ("holder", "token"), ("amount",)),
    "collateral": EdgeKind(
        "collateral", 2,
        ("lender", "borrower", "collateral_token", "debt_token"),
        ("collateral", "debt"),
        fractions={"liquidation_threshold": None, "liquidation_bonus": 0.0, "close_factor": 1.0},
        choices={"oracle": (ORACLES, "market")},
    ),
})

_TABLE_OF_KIND = {"claim": "claims", "holding": "holdings", "collateral": "positions"}


def _freeze(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class ExposureNetwork:
    """An immutable network of balance sheets.

    Build one with :meth:`from_frames` or a loader (:func:`exposure.read_graph`);
    the constructor itself does no checking.

    Attributes
    ----------
    nodes : pandas.DataFrame
        One row per node, indexed by node id in graph order. Columns ``kind``,
        ``label``, ``external_assets``, ``external_liabilities`` (as declared),
        then every other field of the input (kept as-is).
    claims : pandas.DataFrame
        Edges of kind ``claim`` in input order: ``debtor``, ``creditor``
        (categoricals over the node ids), ``amount``, then metadata columns.
        The index is the edge's position among all edges of the input.
    holdings, positions : pandas.DataFrame
        Edges of kinds ``holding`` and ``collateral`` (format version 2), same layout.
    liabilities : scipy.sparse.csr_array
        ``L``, n × n, duplicates summed, claims on base assets excluded.
    external_assets : numpy.ndarray
        ``e``: declared external assets plus holdings of base assets.
    external_liabilities : numpy.ndarray
        ``x``: obligations to creditors outside the network.
    meta : Mapping
        ``name``, ``as_of``, ``currency``, ``version`` and any other top-level field.
    """

    nodes: pd.DataFrame
    claims: pd.DataFrame
    holdings: pd.DataFrame
    positions: pd.DataFrame
    liabilities: sp.csr_array
    external_assets: np.ndarray
    external_liabilities: np.ndarray
    meta: Mapping[str, Any]
    problems: tuple[Problem, ...] = ()

    # ------------------------------------------------------------------ build
    @classmethod
    def from_frames(
        cls,
        nodes: pd.DataFrame,
        edges: pd.DataFrame | None = None,
        *,
        meta: Mapping[str, Any] | None = None,
        strict: bool = True,
    ) -> "ExposureNetwork":
        """Build and validate a network from a node table and an edge table.

        Parameters
        ----------
        nodes : DataFrame
            Column ``id`` (or the index, when there is no such column) and the
            node fields of the graph format.
        edges : DataFrame, optional
            Column ``kind`` (default ``"claim"``) and the fields of each edge kind
            (see :data:`EDGE_KINDS`). Columns that do not belong to an edge's kind
            are that edge's metadata.
        meta : mapping, optional
            Top-level fields: ``name``, ``as_of``, ``currency``, ``version``.
        strict : bool
            If True (default), raise :class:`InvalidNetworkError` listing every
            error. If False, return the network built from the valid records with
            all problems in ``problems`` (used by ``exposure validate``).

        Raises
        ------
        InvalidNetworkError
            Unknown or duplicate node ids, self-claims, negative, NaN, infinite or
            non-numeric amounts, missing fields, unknown edge kinds, empty graph.

        Examples
        --------
        >>> import pandas as pd
        >>> net = ExposureNetwork.from_frames(
        ...     pd.DataFrame({"id": ["a", "b"], "external_assets": [10.0, 5.0]}),
        ...     pd.DataFrame({"debtor": ["a"], "creditor": ["b"], "amount": [4.0]}))
        >>> net.liabilities.toarray()
        array([[0., 4.],
               [0., 0.]])
        >>> net.equity().tolist()
        [6.0, 9.0]
        """
        from ._validation import build_tables

        meta = dict(meta or {})
        meta.setdefault("version", 1)
        meta.setdefault("currency", "USD")
        node_table, tables, problems = build_tables(nodes, edges, version=int(meta["version"]))
        errors = [p for p in problems if p.severity == "error"]
        if errors and strict:
            raise InvalidNetworkError(problems)
        return cls._assemble(node_table, tables, meta, tuple(problems))

    @classmethod
    def _assemble(cls, node_table, tables, meta, problems=()) -> "ExposureNetwork":
        n = len(node_table)
        claims = tables["claims"]
        kinds = node_table["kind"].to_numpy()
        is_asset = kinds == "asset"
        d = claims["debtor"].cat.codes.to_numpy()
        c = claims["creditor"].cat.codes.to_numpy()
        a = claims["amount"].to_numpy(dtype=np.float64)
        on_asset = is_asset[d] if n else np.zeros(0, bool)
        e = node_table["external_assets"].to_numpy(dtype=np.float64).copy()
        if on_asset.any():
            e += np.bincount(c[on_asset], weights=a[on_asset], minlength=n)
        keep = ~on_asset
        L = sp.csr_array((a[keep], (d[keep], c[keep])), shape=(n, n), dtype=np.float64)
        L.sum_duplicates()
        L.sort_indices()
        for arr in (L.data, L.indices, L.indptr):
            arr.setflags(write=False)
        return cls(
            nodes=node_table,
            claims=claims,
            holdings=tables["holdings"],
            positions=tables["positions"],
            liabilities=L,
            external_assets=_freeze(e),
            external_liabilities=_freeze(node_table["external_liabilities"].to_numpy(dtype=np.float64)),
            meta=MappingProxyType(dict(meta)),
            problems=tuple(problems),
        )

    # ------------------------------------------------------------ accessors
    @property
    def node_ids(self) -> pd.Index:
        """Node ids in graph order (the order of every vector and matrix)."""
        return self.nodes.index

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    def __len__(self) -> int:
        return self.n

    @property
    def n_claims(self) -> int:
        """Number of claim edges as given (before duplicates are summed)."""
        return len(self.claims)

    @property
    def version(self) -> int:
        """Graph format version: 2 when the network has holdings or secured positions."""
        return int(self.meta.get("version", 1))

    @property
    def kinds(self) -> np.ndarray:
        """Node kinds, in graph order."""
        return self.nodes["kind"].to_numpy()

    def index_of(self, node_id) -> int | np.ndarray:
        """Position of a node id (or an array of positions for a list of ids).

        Raises ``KeyError`` naming the id when it is not in the network.
        """
        if isinstance(node_id, str):
            try:
                return int(self.nodes.index.get_loc(node_id))
            except KeyError:
                raise KeyError(f"unknown node id {node_id!r}") from None
        idx = self.nodes.index.get_indexer(list(node_id))
        if (idx < 0).any():
            bad = [x for x, i in zip(node_id, idx) if i < 0]
            raise KeyError(f"unknown node ids {bad[:10]!r}")
        return idx

    # ----------------------------------------------------- derived quantities
    def total_obligations(self) -> np.ndarray:
        """``p̄ = L·1 + x``: what each node owes inside and outside the network."""
        return self.interbank_liabilities() + self.external_liabilities

    def interbank_liabilities(self) -> np.ndarray:
        """``L·1``: what each node owes to other nodes (one pass over the stored claims)."""
        L = self.liabilities
        out = np.zeros(self.n)
        nonempty = np.diff(L.indptr) > 0
        if nonempty.any():
            out[nonempty] = np.add.reduceat(L.data, L.indptr[:-1][nonempty])
        return out

    def interbank_assets(self) -> np.ndarray:
        """``Lᵀ·1``: each node's claims on other nodes, at face value."""
        return np.asarray(self.liabilities.sum(axis=0)).ravel()

    def total_assets(self) -> np.ndarray:
        """``e + Lᵀ·1``."""
        return self.external_assets + self.interbank_assets()

    def equity(self) -> np.ndarray:
        """Equity before clearing: ``e + Lᵀ·1 − p̄`` (negative for a node insolvent at face value)."""
        return self.total_assets() - self.total_obligations()

    def leverage(self) -> np.ndarray:
        """Total assets over equity before clearing (``inf`` where equity ≤ 0 and assets > 0)."""
        assets, eq = self.total_assets(), self.equity()
        with np.errstate(divide="ignore", invalid="ignore"):
            lev = np.where(eq > 0, assets / np.where(eq > 0, eq, 1.0), np.inf)
        lev[(assets == 0) & (eq <= 0)] = np.nan
        return lev

    def relative_liabilities(self, obligations: np.ndarray | None = None) -> sp.csr_array:
        """``Π[i, j] = L[i, j] / p̄[i]`` (rows of nodes that owe nothing are zero).

        ``obligations`` is ``p̄`` when the caller has it already. ``Π`` shares the (read-only)
        index arrays of ``L``: only its values are new.
        """
        pbar = self.total_obligations() if obligations is None else obligations
        inv = np.divide(1.0, pbar, out=np.zeros_like(pbar), where=pbar > 0)
        L = self.liabilities
        P = sp.csr_array((L.data * np.repeat(inv, np.diff(L.indptr)), L.indices, L.indptr),
                         shape=L.shape, copy=False)
        P.has_sorted_indices = True
        P.has_canonical_format = True
        return P

    # ------------------------------------------------------- transformations
    def with_external_assets(self, external_assets) -> "ExposureNetwork":
        """A copy whose total external assets ``e`` are replaced (the model's ``e``, not the declared field)."""
        e = np.asarray(external_assets, dtype=np.float64)
        if e.shape != (self.n,):
            raise ValueError(f"external_assets must have shape ({self.n},). Got {e.shape} instead.")
        if not np.all(np.isfinite(e)) or (e < 0).any():
            raise ValueError("external_assets must be finite and non-negative.")
        return _replace(self, external_assets=_freeze(e.copy()))

    def claims_view(self) -> "ExposureNetwork":
        """The network with holdings and secured positions written as face-value claims.

        Models that work on a matrix of claims alone (DebtRank, Furfine cascades, centralities,
        clearing sensitivities) see a version-2 network through this view:

        * a holding of ``amount`` of token ``t`` by ``h`` is a claim of ``h`` on ``t``
          (``L[t, h] += amount``); a holding of a base asset adds to the holder's external
          assets, as a claim on a base asset does;
        * a secured position (collateral ``C`` of token ``c``, debt ``D``) is a claim of the
          lender on the borrower, ``L[borrower, lender] += D``, and a holding of the collateral by
          the borrower, ``L[c, borrower] += C``.

        Amounts are face values at the reference prices; oracles, liquidations and prices are
        left out (they are :mod:`exposure.mechanics`' business). A network with neither holdings
        nor positions is returned unchanged. The result is format version 1 and keeps the node
        order, so its vectors line up with this network's.
        """
        if not len(self.holdings) and not len(self.positions):
            return self
        ids = self.nodes.index
        # (table, debtor side, creditor side, amount, relation): claims first, as they are
        specs = ((self.claims, "debtor", "creditor", "amount", "claim"),
                 (self.holdings, "token", "holder", "amount", "holding"),
                 (self.positions, "borrower", "lender", "debt", "position debt"),
                 (self.positions, "collateral_token", "borrower", "collateral", "position collateral"))
        parts = [(t[a].cat.codes.to_numpy(), t[b].cat.codes.to_numpy(), t[amt].to_numpy(dtype=np.float64), rel)
                 for t, a, b, amt, rel in specs]
        debtor, creditor, amount = (np.concatenate([x[k] for x in parts]) for k in range(3))
        relation = np.concatenate([np.full(len(x[0]), x[3], dtype=object) for x in parts])
        keep = debtor != creditor                    # a position whose borrower holds its own token
        claims = pd.DataFrame({
            "debtor": pd.Categorical.from_codes(debtor[keep], categories=ids),
            "creditor": pd.Categorical.from_codes(creditor[keep], categories=ids),
            "amount": amount[keep],
            "relation": relation[keep],
        })
        empty = {"holdings": self.holdings.iloc[0:0], "positions": self.positions.iloc[0:0]}
        meta = dict(self.meta, version=1)
        view = type(self)._assemble(self.nodes, {"claims": claims, **empty}, meta, self.problems)
        # Keep this network's own e (it may have been shocked) and add what the new rows hold in
        # base assets, which _assemble counted from the declared values.
        added = np.arange(len(debtor)) >= len(self.claims)
        on_asset = added & keep & (self.kinds[debtor] == "asset")
        e = self.external_assets + np.bincount(creditor[on_asset], weights=amount[on_asset], minlength=self.n)
        return _replace(view, external_assets=_freeze(e))

    def equals(self, other: "ExposureNetwork", *, rtol: float = 0.0) -> bool:
        """True when both networks have the same nodes, edges, amounts and metadata."""
        if not isinstance(other, ExposureNetwork) or list(self.node_ids) != list(other.node_ids):
            return False
        for x, y in ((self.external_assets, other.external_assets),
                     (self.external_liabilities, other.external_liabilities)):
            if not np.allclose(x, y, rtol=rtol, atol=0.0):
                return False
        diff = abs(self.liabilities - other.liabilities)
        if diff.nnz and diff.max() > rtol * max(1.0, abs(self.liabilities).max()):
            return False
        return True

    def __repr__(self) -> str:
        name = self.meta.get("name")
        label = f" {name!r}" if name else ""
        return (f"<ExposureNetwork{label}: {self.n} nodes, {self.n_claims} claims, "
                f"{len(self.holdings)} holdings, {len(self.positions)} positions>")


def _replace(net: ExposureNetwork, **changes) -> ExposureNetwork:
    from dataclasses import replace
    return replace(net, **changes)
