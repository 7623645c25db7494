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

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._params import check_vector
from ._validation import build_tables, strictly_sorted
from .exceptions import InvalidNetworkError, Problem
from .schema import EDGE_KINDS, NODE_FIELDS, NODE_KINDS, ORACLES, EdgeKind

__all__ = ["ExposureNetwork", "EdgeKind", "EDGE_KINDS", "NODE_FIELDS", "NODE_KINDS", "ORACLES", "leverage_ratio"]


def leverage_ratio(assets: np.ndarray, equity: np.ndarray) -> np.ndarray:
    """Leverage ``assets / equity``: ``inf`` where equity ≤ 0 and assets > 0, NaN where both are 0.

    The one definition used by :meth:`ExposureNetwork.leverage`, ``exposure info`` and the
    supervisory metrics.
    """
    assets = np.asarray(assets, dtype=np.float64)
    equity = np.asarray(equity, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        lev = np.where(equity > 0, assets / np.where(equity > 0, equity, 1.0), np.inf)
    lev[(assets == 0) & (equity <= 0)] = np.nan
    return lev


def liability_matrix(d: np.ndarray, c: np.ndarray, a: np.ndarray, n: int) -> sp.csr_array:
    """``L`` (n × n CSR, duplicates summed, indices sorted) of the claims ``d -> c`` of ``a``.

    Claims sorted by debtor, then creditor, without a repeated pair are the CSR arrays
    already (row pointers from a count per debtor); any other order goes through the
    COO to CSR conversion, which sums the repeated pairs.
    """
    m = len(d)
    if m and n and m < 2 ** 31 and n < 2 ** 31 and strictly_sorted(d, c):
        indptr = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(np.bincount(d, minlength=n), out=indptr[1:])
        L = sp.csr_array((np.array(a, dtype=np.float64, copy=True), np.array(c, dtype=np.int32, copy=True),
                          indptr), shape=(n, n), copy=False)
        L.has_sorted_indices = True
        L.has_canonical_format = True
        return L
    L = sp.csr_array((a, (d, c)), shape=(n, n), dtype=np.float64)
    L.sum_duplicates()
    L.sort_indices()
    return L


def _freeze(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def _rebuild_network(state: dict) -> "ExposureNetwork":
    """The network pickled by :meth:`ExposureNetwork.__reduce__`, read-only like the original."""
    state = dict(state, meta=MappingProxyType(dict(state["meta"])))
    for name in ("external_assets", "external_liabilities"):
        state[name] = _freeze(state[name])
    L = state["liabilities"]
    for arr in (L.data, L.indices, L.indptr):
        arr.setflags(write=False)
    return ExposureNetwork(**state)


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
        d = np.asarray(claims["debtor"].array.codes)
        c = np.asarray(claims["creditor"].array.codes)
        a = claims["amount"].to_numpy(dtype=np.float64)
        e = node_table["external_assets"].to_numpy(dtype=np.float64).copy()
        if n and is_asset.any():
            on_asset = is_asset[d]
            if on_asset.any():
                e += np.bincount(c[on_asset], weights=a[on_asset], minlength=n)
                keep = ~on_asset
                d, c, a = d[keep], c[keep], a[keep]
        L = liability_matrix(d, c, a, n)
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

    # ------------------------------------------------------------ pickling
    def __reduce__(self):
        """Pickle by fields (``meta`` as a plain dict), so that a network travels to the worker
        processes of :mod:`exposure.executor`; the copy is frozen again when it is rebuilt."""
        state = {name: getattr(self, name) for name in self.__dataclass_fields__}
        state["meta"] = dict(self.meta)
        return _rebuild_network, (state,)

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

    @property
    def has_mechanics(self) -> bool:
        """True when the network has holdings or secured positions (format version 2 mechanics).

        Such a network is solved by the cross-collateral mechanics (:mod:`exposure.defi`);
        without them the clearing of the claims is the whole model.
        """
        return bool(len(self.holdings) or len(self.positions))

    def is_token(self) -> np.ndarray:
        """Which nodes are tokens: kind ``token``, or a node with an ``issuer`` (its redemption
        value follows the issuer's clearing). A token is pass-through: its holders bear its
        losses, so its own equity is not counted as a loss."""
        mask = self.kinds == "token"
        if "issuer" in self.nodes.columns:
            mask = mask | self.nodes["issuer"].notna().to_numpy()
        return np.asarray(mask, dtype=bool)

    def is_shares(self) -> np.ndarray:
        """Which nodes owe their creditors shares (``liability_type`` ``shares``), not debt.

        A ``shares`` node pays its creditors pro rata what it holds, always: a loss lowers its
        value per share (it is *impaired*) and is never a default. Every other node owes debt
        (the default ``liability_type``).
        """
        if "liability_type" not in self.nodes.columns:
            return np.zeros(self.n, dtype=bool)
        return np.asarray(self.nodes["liability_type"].to_numpy(dtype=object) == "shares", dtype=bool)

    def first_loss(self) -> tuple[np.ndarray, np.ndarray]:
        """``(amount, provider)``: each node's first-loss capital (USD, 0 where absent) and the
        position of the node that provides it (``-1``: a provider outside the network).

        The buffer absorbs a shortfall of the node before any of its creditors does; the provider
        loses what the buffer pays out.
        """
        nodes = self.nodes
        amount = (nodes["first_loss"].to_numpy(dtype=np.float64, na_value=0.0) if "first_loss" in nodes.columns
                  else np.zeros(self.n))
        if "first_loss_provider" in nodes.columns:
            ref = nodes["first_loss_provider"].to_numpy(dtype=object)
            provider = np.asarray(nodes.index.get_indexer(np.where(pd.isna(ref), None, ref).astype(object)),
                                  dtype=np.int64)
        else:
            provider = np.full(self.n, -1, dtype=np.int64)
        return np.nan_to_num(amount, nan=0.0), provider

    @property
    def has_loss_bearing(self) -> bool:
        """True when some node owes shares or has first-loss capital: who bears a loss then
        differs from "every shortfall is a default" (:mod:`exposure.clearing`)."""
        return bool(self.is_shares().any() or (self.first_loss()[0] > 0).any())

    def owned_assets(self) -> np.ndarray:
        """What each node owns outright, at reference prices: ``e`` plus its holdings.

        ``e`` already counts claims on base assets (see the module notes). This is what an
        ``asset_loss`` shock cuts, in the mechanics as in the scenario checks.
        """
        e = np.asarray(self.external_assets, dtype=np.float64).copy()
        h = self.holdings
        if len(h):
            e += np.bincount(np.asarray(h["holder"].cat.codes), weights=h["amount"].to_numpy(dtype=np.float64),
                             minlength=self.n)
        return e

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

    def balance_sheet(self) -> tuple[np.ndarray, np.ndarray]:
        """``(assets, obligations)`` of every node at face value and reference prices.

        Claims only: ``e + Lᵀ·1`` and ``p̄ = L·1 + x``. A holding adds its amount to the
        holder's assets; a secured position (collateral ``C``, debt ``D``) is valued as the
        mechanics value it before any shock (:mod:`exposure.defi`): ``min(C, D)`` to the
        lender and ``max(0, C − D)`` to the borrower (non-recourse).
        """
        assets = self.total_assets().astype(np.float64, copy=True)
        obligations = self.total_obligations().astype(np.float64, copy=True)
        if len(self.holdings):
            assets += np.bincount(np.asarray(self.holdings["holder"].cat.codes),
                                  weights=self.holdings["amount"].to_numpy(np.float64), minlength=self.n)
        if len(self.positions):
            C = self.positions["collateral"].to_numpy(np.float64)
            D = self.positions["debt"].to_numpy(np.float64)
            assets += np.bincount(np.asarray(self.positions["lender"].cat.codes), weights=np.minimum(C, D),
                                  minlength=self.n)
            assets += np.bincount(np.asarray(self.positions["borrower"].cat.codes),
                                  weights=np.maximum(C - D, 0.0), minlength=self.n)
        return assets, obligations

    def leverage(self) -> np.ndarray:
        """Assets over equity at face value (:meth:`balance_sheet`; see :func:`leverage_ratio`)."""
        assets, obligations = self.balance_sheet()
        return leverage_ratio(assets, assets - obligations)

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
        e = check_vector(external_assets, "external_assets", "with_external_assets", self.n)
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
        left out (they are :mod:`exposure.defi`' business). A network with neither holdings
        nor positions is returned unchanged. The result is format version 1 and keeps the node
        order, so its vectors line up with this network's.
        """
        if not len(self.holdings) and not len(self.positions):
            return self
        ids = self.nodes.index
        # every obligation of every edge kind, claims first as they are (schema.EDGE_KINDS)
        parts = [(t[o.owes].cat.codes.to_numpy(), t[o.owed].cat.codes.to_numpy(),
                  t[o.amount].to_numpy(dtype=np.float64), o.relation)
                 for spec in EDGE_KINDS.values() for t in (getattr(self, spec.table),) for o in spec.obligations]
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
    return replace(net, **changes)
