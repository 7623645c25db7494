"""Descriptive statistics of a network (``exposure info``).

:func:`summarize` reports counts by node and edge kind, balance-sheet totals,
the largest exposures, strongly connected components and the shortest
cycles, leverage, and the double-counting amount defined below.

Double counting
---------------
Summing every node's assets (as a sum of protocol TVLs does) counts the same
underlying value more than once: a claim inside the network is an asset of
its creditor *and* is backed by assets of its debtor, which are counted too.
With face values,

.. math::

    \\text{gross} = \\sum_i a_i
        = \\underbrace{\\sum_i e_i + \\sum_{h \\in H_A} h}_{\\text{base}}
        + \\underbrace{\\sum_{i,j} L_{ij} + \\sum_{h \\in H_T} h + \\sum_{k \\in P} D_k}_{\\text{double counted}}

* **base** is the value that rests on nothing inside the network: external
  assets ``e`` (which include claims on base assets, kind ``asset``) plus
  holdings ``H_A`` of base assets;
* **double counted** is every in-network claim ``L``, every holding ``H_T`` of
  a token (a token is a claim on its issuer) and the debt ``D`` of every
  secured position (an asset of the lender, a liability of the borrower,
  whose collateral is counted where it is held);

so ``double_counted = gross - base`` and ``layering = gross / base`` is the
number of times each dollar of base value appears in the summed holdings.
Example: lido holds 100 of ETH, the token stETH is a claim of 100 on lido,
a venue holds 40 stETH and a fund has lent 25 to the venue and holds 10
outside: gross = 100 + 100 + 40 + 35 = 275, base = 100 + 10 = 110, double
counted = 100 + 40 + 25 = 165, layering = 2.5.

Cycles
------
Only bounded work: the number of mutual pairs (2-cycles) is counted exactly;
for at most ``max_starts`` nodes (the most exposed ones on a cycle) the
shortest cycle through the node is found by one breadth-first search on the
reversed graph (``O(n + m)`` each), and the ``max_cycles`` shortest distinct
cycles are listed. No exponential enumeration ever happens.
"""

from __future__ import annotations

import time

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph

from .._results import Result
from ..network import ExposureNetwork, leverage_ratio
from ..schema import EDGE_KINDS

__all__ = ["summarize", "NetworkSummary", "exposure_graph", "double_counting", "shortest_cycles", "cycle_table"]


@dataclass(frozen=True)
class NetworkSummary(Result):
    """What ``exposure info`` shows. Every frame is ready to print; ``to_dict()`` is JSON-ready.

    Nothing here iterates to a tolerance: ``converged`` is always True and ``status`` 0; the
    cycle search is bounded by design (see the module notes).
    """

    totals: dict[str, Any]
    nodes_by_kind: pd.DataFrame
    edges_by_kind: pd.DataFrame
    largest_exposures: pd.DataFrame
    components: dict[str, Any]
    cycles: pd.DataFrame
    leverage: pd.DataFrame
    double_counting: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def records(f):
            return f.astype(object).where(f.notna(), None).to_dict("records")
        return {
            "meta": self.meta, "totals": self.totals,
            "nodes_by_kind": records(self.nodes_by_kind), "edges_by_kind": records(self.edges_by_kind),
            "largest_exposures": records(self.largest_exposures), "components": self.components,
            "cycles": records(self.cycles), "most_leveraged": records(self.leverage),
            "double_counting": self.double_counting,
        }

    converged = True
    status = 0

    @property
    def message(self) -> str:
        return f"summary of {self.totals['nodes']} nodes"

    def summary(self) -> dict[str, Any]:
        """The totals (counts, sums at face value, leverage), with the record."""
        return {**self.totals, **self._record()}

    def to_frame(self) -> pd.DataFrame:
        """The scalar figures as a ``metric, value`` table (:meth:`metrics`)."""
        return self.metrics()

    def metrics(self) -> pd.DataFrame:
        """Scalar figures as a ``metric, value`` table."""
        rows = [(k, v) for k, v in self.totals.items()]
        rows += [(f"double_counting.{k}", v) for k, v in self.double_counting.items()]
        rows += [(f"components.{k}", v) for k, v in self.components.items() if not isinstance(v, list)]
        return pd.DataFrame(rows, columns=["metric", "value"])


def _codes(col) -> np.ndarray:
    return np.asarray(col.cat.codes, dtype=np.int64)


def exposure_graph(net: ExposureNetwork) -> sp.csr_array:
    """n × n adjacency (face values) of every edge, pointing from the side that owes to the side owed.

    One entry per edge, in its own direction (:attr:`exposure.schema.EdgeKind.ends`): claims
    ``debtor → creditor`` (``L``, plus claims on base assets), holdings ``token → holder``,
    secured positions ``borrower → lender`` (their debt).
    """
    n = net.n
    if not len(net.holdings) and not len(net.positions):
        kinds = net.kinds
        if not (kinds == "asset").any() or not (kinds[_codes(net.claims["debtor"])] == "asset").any():
            return net.liabilities  # every claim is in L, summed and sorted as here
    rows, cols, vals = [], [], []
    for spec in EDGE_KINDS.values():
        table, own = getattr(net, spec.table), spec.obligations[0]
        if len(table):
            rows.append(_codes(table[own.owes]))
            cols.append(_codes(table[own.owed]))
            vals.append(table[own.amount].to_numpy(dtype=np.float64))
    if not rows:
        return sp.csr_array((n, n), dtype=np.float64)
    A = sp.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    A.sum_duplicates()
    return A


def double_counting(net: ExposureNetwork) -> dict[str, float]:
    """Gross assets, base value, double-counted amount and layering (see the module notes)."""
    kinds = net.kinds
    e = float(net.external_assets.sum())
    L = float(net.liabilities.sum())
    hold_asset = hold_token = 0.0
    if len(net.holdings):
        amt = net.holdings["amount"].to_numpy(dtype=np.float64)
        on_asset = kinds[_codes(net.holdings["token"])] == "asset"
        hold_asset, hold_token = float(amt[on_asset].sum()), float(amt[~on_asset].sum())
    debt = float(net.positions["debt"].to_numpy(dtype=np.float64).sum()) if len(net.positions) else 0.0
    base = e + hold_asset
    double = L + hold_token + debt
    gross = base + double
    return {"gross": gross, "base": base, "double_counted": double,
            "layering": gross / base if base > 0 else float("nan"),
            "claims": L, "token_holdings": hold_token, "position_debt": debt}


#: Seconds the shortest-cycle search of :func:`summarize` may take in all (past it, the starts not
#: yet searched are skipped and counted as ``cycle_starts_skipped``).
CYCLE_SECONDS = 2.0


def _cycle_through(indptr: np.ndarray, indices: np.ndarray, v: int, parent: np.ndarray, deadline: float):
    """The shortest cycle through ``v`` (node list starting at ``v``), ``None`` when there is none,
    or ``False`` when ``deadline`` (a :func:`time.perf_counter` time) passed first.

    A breadth-first search forward from ``v``, one whole level at a time with array operations,
    that stops at the first level holding an edge back to ``v``: it touches only the nodes nearer
    to ``v`` than the cycle's length, not the whole graph. ``parent`` (all -1, length n) is used
    as scratch and left all -1 again.
    """
    touched = [np.array([v])]
    parent[v] = v
    frontier = np.array([v], dtype=np.int64)
    try:
        while len(frontier):
            if time.perf_counter() > deadline:
                return False
            lo, hi = indptr[frontier], indptr[frontier + 1]
            counts = hi - lo
            total = int(counts.sum())
            if not total:
                return None
            offsets = np.repeat(lo - (np.cumsum(counts) - counts), counts)
            nbr = indices[np.arange(total) + offsets]
            src = np.repeat(frontier, counts)
            back = np.flatnonzero(nbr == v)
            if len(back):
                path = [int(src[back[0]])]
                while path[-1] != v:
                    path.append(int(parent[path[-1]]))
                return path[::-1]
            new = parent[nbr] < 0
            nbr, src = nbr[new], src[new]
            nbr, first = np.unique(nbr, return_index=True)
            parent[nbr] = src[first]
            touched.append(nbr)
            frontier = nbr.astype(np.int64)
        return None
    finally:
        for t in touched:
            parent[t] = -1


def shortest_cycles(A: sp.csr_array, starts: np.ndarray, max_cycles: int = 10, *,
                    seconds: float | None = None, skipped: list | None = None) -> list[list[int]]:
    """The shortest cycle through each start node, distinct, shortest first.

    For a start ``v``, a breadth-first search forward from ``v`` stops at the first level with an
    edge back to ``v`` (:func:`_cycle_through`): the cycle closes there and is as short as any
    cycle through ``v``. Cycles are listed from their smallest node, each once. With ``seconds``
    the whole search stops after that time; the starts not searched are appended to ``skipped``.
    """
    A = sp.csr_array(A)
    indptr, indices = A.indptr.astype(np.int64), A.indices.astype(np.int64)
    parent = np.full(A.shape[0], -1, dtype=np.int64)
    deadline = time.perf_counter() + seconds if seconds is not None else float("inf")
    found: dict[tuple, list[int]] = {}
    for k, v in enumerate(starts):
        cycle = _cycle_through(indptr, indices, int(v), parent, deadline)
        if cycle is False:
            if skipped is not None:
                skipped.extend(int(x) for x in starts[k:])
            break
        if cycle is None:
            continue
        k0 = int(np.argmin(cycle))
        key = tuple(cycle[k0:] + cycle[:k0])
        found.setdefault(key, list(key))
    return sorted(found.values(), key=lambda c: (len(c), c))[:max_cycles]


def cycle_table(A: sp.csr_array, on_cycle: np.ndarray, ids: np.ndarray, max_cycles: int = 10,
                max_starts: int = 20, *, seconds: float | None = None, skipped: list | None = None) -> pd.DataFrame:
    """``length, cycle, min_amount`` of the shortest distinct cycles of ``A`` through the most exposed
    nodes on a cycle (in + out weight; at most ``max_starts`` searches and, with ``seconds``, at
    most that time, :func:`shortest_cycles`)."""
    weight = np.asarray(A.sum(axis=0)).ravel() + np.asarray(A.sum(axis=1)).ravel()
    cand = np.flatnonzero(on_cycle)
    starts = cand[np.argsort(-weight[cand], kind="stable")[:max_starts]]
    cycles = shortest_cycles(A, starts, max_cycles, seconds=seconds, skipped=skipped)
    return pd.DataFrame({
        "length": [len(c) for c in cycles],
        "cycle": [" -> ".join(str(ids[i]) for i in c + c[:1]) for c in cycles],
        "min_amount": [float(min(A[c[j], c[(j + 1) % len(c)]] for j in range(len(c)))) for c in cycles],
    })


def summarize(net: ExposureNetwork, *, top: int = 10, max_cycles: int = 10, max_starts: int = 20,
              cycle_seconds: float = CYCLE_SECONDS) -> NetworkSummary:
    """Statistics of ``net``.

    Parameters
    ----------
    top : int
        Rows of the largest exposures and most leveraged nodes.
    max_cycles : int
        Shortest distinct cycles listed.
    max_starts : int
        Nodes (the most exposed ones lying on a cycle) whose shortest cycle is
        searched; each search is one breadth-first search that stops at the level
        where the cycle closes, ``O(n + m)`` at worst.
    cycle_seconds : float
        Time the cycle searches may take in all (default :data:`CYCLE_SECONDS`); the
        starts not searched by then are counted in ``components["cycle_starts_skipped"]``.

    Returns
    -------
    NetworkSummary

    Examples
    --------
    >>> import pandas as pd
    >>> net = ExposureNetwork.from_frames(pd.DataFrame({"id": ["a", "b", "c"], "external_assets": [5.0, 1, 1]}),
    ...     pd.DataFrame({"debtor": ["a", "b", "c"], "creditor": ["b", "c", "a"], "amount": [1.0, 2, 3]}))
    >>> s = summarize(net)
    >>> s.components["nodes_on_cycles"], s.cycles["cycle"].tolist()
    (3, ['a -> b -> c -> a'])
    >>> s.double_counting["double_counted"], s.double_counting["base"]
    (6.0, 7.0)
    """
    ids = net.node_ids.to_numpy(dtype=object)
    kinds = pd.Series(net.kinds, dtype=object)
    e, x = net.external_assets, net.external_liabilities
    assets, obligations = net.balance_sheet()
    equity = assets - obligations
    nodes_by_kind = (pd.DataFrame({"kind": kinds, "external_assets": e, "external_liabilities": x,
                                   "total_assets": assets, "equity": equity})
                     .groupby("kind", sort=True).agg(nodes=("kind", "size"), external_assets=("external_assets", "sum"),
                                                     external_liabilities=("external_liabilities", "sum"),
                                                     total_assets=("total_assets", "sum"), equity=("equity", "sum"))
                     .reset_index())
    edge_rows = []
    exposures = []
    for name, spec in EDGE_KINDS.items():
        table, own = getattr(net, spec.table), spec.obligations[0]
        if not len(table):
            continue
        v = table[own.amount].to_numpy(dtype=np.float64)
        if "relation" in table.columns:
            codes, rels = pd.factorize(table["relation"].astype(object).fillna("").to_numpy(dtype=object), sort=True)
        else:
            codes, rels = np.zeros(len(v), np.intp), np.array([""], dtype=object)
        counts = np.bincount(codes, minlength=len(rels))
        sums = np.bincount(codes, weights=v, minlength=len(rels))
        for r, c, a in zip(rels, counts, sums):
            if c:
                edge_rows.append({"kind": name, "relation": r or None, "edges": int(c), "amount": float(a)})
        k = min(top, len(v))
        idx = np.argpartition(-v, k - 1)[:k] if k < len(v) else np.arange(len(v))
        for i in idx:
            exposures.append({"kind": name, "exposed": str(table[own.owed].iat[i]), "to": str(table[own.owes].iat[i]),
                              "amount": float(v[i])})
    edges_by_kind = pd.DataFrame(edge_rows, columns=["kind", "relation", "edges", "amount"])
    largest = (pd.DataFrame(exposures, columns=["kind", "exposed", "to", "amount"])
               .sort_values("amount", ascending=False, kind="stable").head(top).reset_index(drop=True))
    total_assets = float(assets.sum())
    # the exposure as a share of the exposed node's total assets (face value)
    largest["share_of_exposed_assets"] = [
        a / assets[net.index_of(h)] if assets[net.index_of(h)] > 0 else np.nan
        for h, a in zip(largest["exposed"], largest["amount"])]

    A = exposure_graph(net)
    n_comp, labels = csgraph.connected_components(A, directed=True, connection="strong")
    sizes = np.bincount(labels, minlength=n_comp)
    big = np.flatnonzero(sizes > 1)
    on_cycle = np.isin(labels, big)
    mutual = A.multiply(A.T)
    components = {"strongly_connected": int(n_comp), "nontrivial": int(len(big)),
                  "nodes_on_cycles": int(on_cycle.sum()),
                  "largest_sizes": sorted(sizes[big].tolist(), reverse=True)[:10],
                  "mutual_pairs": int(mutual.nnz // 2),
                  "weakly_connected": int(csgraph.connected_components(A, directed=True, connection="weak")[0])}
    if len(big):
        largest_comp = big[np.argmax(sizes[big])]
        members = np.flatnonzero(labels == largest_comp)
        components["largest_members"] = [str(ids[i]) for i in members[:50]]
    skipped: list[int] = []
    cyc = cycle_table(A, on_cycle, ids, max_cycles, max_starts, seconds=cycle_seconds, skipped=skipped)
    components["cycle_starts_skipped"] = len(skipped)
    lev = leverage_ratio(assets, equity)
    finite = lev[np.isfinite(lev)]
    order = np.argsort(-np.where(np.isnan(lev), -np.inf, lev), kind="stable")[:top]
    leverage = pd.DataFrame({"node": ids[order], "kind": net.kinds[order], "total_assets": assets[order],
                             "equity": equity[order], "leverage": lev[order]})
    dc = double_counting(net)
    totals = {
        "nodes": net.n, "claims": net.n_claims, "holdings": len(net.holdings), "positions": len(net.positions),
        "external_assets": float(e.sum()), "external_liabilities": float(x.sum()),
        "interbank_claims": float(net.liabilities.sum()), "total_assets": total_assets,
        "total_obligations": float(obligations.sum()), "total_equity": float(equity.sum()),
        "insolvent_at_face_value": int((equity < -1e-9 * np.maximum(obligations, 1.0)).sum()),
        "leverage_median": float(np.median(finite)) if len(finite) else float("nan"),
        "leverage_max": float(finite.max()) if len(finite) else float("nan"),
        "leverage_unbounded": int(np.isinf(lev).sum()),
    }
    meta = {k: v for k, v in net.meta.items() if isinstance(v, (str, int, float))}
    return NetworkSummary(totals, nodes_by_kind, edges_by_kind, largest, components, cyc, leverage, dc, meta)
