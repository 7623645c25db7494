"""Concentration, interconnectedness and off-chain dependency.

Concentration
-------------
With ``s_i = TVL_i / Σ TVL`` the share of protocol ``i`` in the gross TVL
(:mod:`exposure.metrics._size`): the top-3 and top-10 shares ``Σ_{i ≤ k} s_(i)`` (ESMA 2023
reports that the top 3 protocols hold 30% of TVL) and the Herfindahl–Hirschman index
``HHI = Σ_i s_i²`` (1 for one protocol, ``1/N`` for ``N`` equal ones). Largest single exposure:
for each protocol, its largest exposure to one node (the entries of the exposure graph
:func:`exposure.metrics.exposure_graph`: claims, token holdings, loans) and its share of the
protocol's exposures; for each token, its largest holder (holdings, and collateral locked with a
lender, which bears the token's price) and its share of the token's holdings and collateral
(Chaos Labs' "top supplier share").

Interconnectedness
------------------
Per protocol, from the exposure graph ``A`` (``A[j, i]`` what ``j`` owes ``i``, holdings and
loans included; rows of base assets are holdings of base assets, not exposures to a protocol):
``in_network_assets = Σ_j A[j, i]`` over non-asset ``j`` (claims on other nodes),
``in_network_liabilities = Σ_j A[i, j]`` (what other nodes hold on ``i``), and
``interconnected_share = in_network_assets / (in_network_assets + base_assets)``, where
``base_assets`` is what ``i`` owns outside the network or in base assets: the share of its
assets that are claims on other protocols. Strongly connected components and the shortest
cycles of ``A`` as in ``exposure info`` (one breadth-first search per start, bounded).

Off-chain dependency
--------------------
Value resting on custodians, banks and centralised exchanges: for each node of kind
``external`` or ``venue``, what nodes of the graph hold on it (its row sum of ``A``), its
creditors and the largest of them; in total and as a share of all in-network exposures.

References
----------
.. [1] ESMA (2023). Decentralised finance in the EU: developments and risks (concentration).
.. [2] FSB (2023). The financial stability risks of decentralised finance (interconnectedness,
   links with traditional finance).
.. [3] IMF (2023). Assessing macrofinancial risks from crypto assets (C-RAM: size,
   interconnectedness, concentration indicators).
.. [4] Kitzler, S., Victor, F., Saggese, P. and Haslhofer, B. (2023). Disentangling DeFi
   compositions. ACM Transactions on the Web 17(2). https://doi.org/10.1145/3532857
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph

from ..network import ExposureNetwork
from ._common import MetricSection, node_codes, node_text, protocol_mask
from ._summary import cycle_table, exposure_graph

__all__ = ["concentration_metrics", "interconnectedness_metrics", "offchain_dependency", "OFFCHAIN_KINDS"]

#: Node kinds whose value rests off chain (custodians, banks, centralised exchanges).
OFFCHAIN_KINDS = ("external", "venue")


def _row_max(A: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """Largest entry of every row and its column (-1 for an empty row)."""
    n = A.shape[0]
    best = np.zeros(n)
    arg = np.full(n, -1, np.int64)
    counts = np.diff(A.indptr)
    rows = np.flatnonzero(counts)
    if len(rows):
        r = np.repeat(np.arange(n), counts)
        order = np.lexsort((-A.data, r))
        first = A.indptr[rows]
        best[rows] = A.data[order[first]]
        arg[rows] = A.indices[order[first]]
    return best, arg


def _tvl_shares(tvl: np.ndarray) -> tuple[np.ndarray, float]:
    total = float(tvl.sum())
    return (tvl / total if total > 0 else np.zeros_like(tvl)), total


def concentration_metrics(net: ExposureNetwork, tvl: pd.DataFrame) -> MetricSection:
    """The ``concentration`` section (see the module notes); ``tvl`` is :func:`exposure.metrics.tvl_table`."""
    s, _ = _tvl_shares(tvl["tvl"].to_numpy(np.float64))
    s_sorted = np.sort(s)[::-1]
    ids = net.node_ids.to_numpy(dtype=object)
    A = exposure_graph(net)
    exposed = sp.csr_array(A.T)                  # row i: what i is exposed to
    best, arg = _row_max(exposed)
    total = np.asarray(exposed.sum(axis=1)).ravel()
    prot = np.flatnonzero(protocol_mask(net) & (total > 0))
    by_lender = pd.DataFrame({"node": ids[prot], "largest_exposure_to": ids[arg[prot]],
                              "amount": best[prot], "share_of_exposures": best[prot] / total[prot]})
    by_lender = by_lender.sort_values("amount", ascending=False, kind="stable").reset_index(drop=True)
    # holders of each token: holdings, and collateral locked with lenders
    parts = []
    if len(net.holdings):
        parts.append((node_codes(net.holdings["token"]), node_codes(net.holdings["holder"]),
                      net.holdings["amount"].to_numpy(np.float64)))
    if len(net.positions):
        parts.append((node_codes(net.positions["collateral_token"]), node_codes(net.positions["lender"]),
                      net.positions["collateral"].to_numpy(np.float64)))
    if parts:
        t = np.concatenate([x[0] for x in parts])
        h = np.concatenate([x[1] for x in parts])
        a = np.concatenate([x[2] for x in parts])
        H = sp.csr_array((a, (t, h)), shape=(net.n, net.n))
        H.sum_duplicates()
        hb, ha = _row_max(H)
        htot = np.asarray(H.sum(axis=1)).ravel()
        tok = np.flatnonzero(htot > 0)
        by_token = pd.DataFrame({"token": ids[tok], "largest_holder": ids[ha[tok]], "amount": hb[tok],
                                 "held": htot[tok], "share_of_token": hb[tok] / htot[tok]})
        by_token = by_token.sort_values("held", ascending=False, kind="stable").reset_index(drop=True)
    else:
        by_token = pd.DataFrame(columns=["token", "largest_holder", "amount", "held", "share_of_token"])
    values = {
        "top3_share": float(s_sorted[:3].sum()),
        "top10_share": float(s_sorted[:10].sum()),
        "herfindahl": float((s ** 2).sum()),
        "n_protocols": int(len(s)),
        "largest_protocol": str(tvl["node"].iat[0]) if len(tvl) else None,
        "largest_protocol_share": float(s_sorted[0]) if len(s_sorted) else float("nan"),
    }
    shares = pd.DataFrame({"node": tvl["node"], "tvl": tvl["tvl"], "share_of_tvl": s})
    return MetricSection("concentration", values, {"tvl_shares": shares, "largest_exposure_by_lender": by_lender,
                                                   "largest_holder_by_token": by_token})


def interconnectedness_metrics(net: ExposureNetwork, *, max_cycles: int = 10, max_starts: int = 10) -> MetricSection:
    """The ``interconnectedness`` section (see the module notes)."""
    ids = net.node_ids.to_numpy(dtype=object)
    A = exposure_graph(net)
    is_asset = net.kinds == "asset"
    keep = sp.diags_array((~is_asset).astype(np.float64))
    A_net = sp.csr_array(keep @ A)              # exposures to nodes that are not base assets
    in_assets = np.asarray(A_net.sum(axis=0)).ravel()
    in_liab = np.asarray(A_net.sum(axis=1)).ravel()
    base = net.nodes["external_assets"].to_numpy(np.float64) + np.asarray((A - A_net).sum(axis=0)).ravel()
    prot = np.flatnonzero(protocol_mask(net))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(in_assets + base > 0, in_assets / (in_assets + base), np.nan)
    out_deg = np.diff(A_net.indptr)
    in_deg = np.diff(sp.csc_array(A_net).indptr)
    nodes = pd.DataFrame({"node": ids[prot], "in_network_assets": in_assets[prot],
                          "in_network_liabilities": in_liab[prot], "base_assets": base[prot],
                          "interconnected_share": share[prot], "counterparties_owed": out_deg[prot],
                          "counterparties_held": in_deg[prot]})
    nodes = nodes.sort_values("in_network_assets", ascending=False, kind="stable").reset_index(drop=True)
    n_comp, labels = csgraph.connected_components(A_net, directed=True, connection="strong")
    sizes = np.bincount(labels, minlength=n_comp)
    big = np.flatnonzero(sizes > 1)
    on_cycle = np.isin(labels, big)
    cyc = cycle_table(A_net, on_cycle, ids, max_cycles, max_starts)
    pa, pb = in_assets[prot].sum(), base[prot].sum()
    values = {
        "in_network_assets": float(pa),
        "interconnected_share": float(pa / (pa + pb)) if pa + pb > 0 else float("nan"),
        "strongly_connected_nontrivial": int(len(big)),
        "nodes_on_cycles": int(on_cycle.sum()),
        "largest_component_size": int(sizes[big].max()) if len(big) else 1,
        "mutual_pairs": int(A_net.multiply(A_net.T).nnz // 2),
    }
    return MetricSection("interconnectedness", values, {"nodes": nodes, "cycles": cyc})


def offchain_dependency(net: ExposureNetwork) -> MetricSection:
    """The ``offchain_dependency`` section: value resting on nodes of kind ``external`` or ``venue``."""
    ids = net.node_ids.to_numpy(dtype=object)
    A = exposure_graph(net)
    is_asset = net.kinds == "asset"
    owed = np.asarray(A.sum(axis=1)).ravel()
    total = float(owed[~is_asset].sum())
    off = np.isin(net.kinds.astype(object), OFFCHAIN_KINDS)
    best, arg = _row_max(A)
    rows = np.flatnonzero(off & (owed > 0))
    labels = node_text(net, "label")
    table = pd.DataFrame({"node": ids[rows], "kind": net.kinds[rows].astype(object), "label": labels[rows],
                          "held_by_network": owed[rows], "creditors": np.diff(A.indptr)[rows],
                          "largest_creditor": ids[arg[rows]], "largest_amount": best[rows]})
    table = table.sort_values("held_by_network", ascending=False, kind="stable").reset_index(drop=True)
    value = float(owed[rows].sum())
    by_kind = {f"held_on_{k}": float(owed[rows][net.kinds[rows] == k].sum()) for k in OFFCHAIN_KINDS}
    values = {"held_by_network": value, **by_kind, "n_nodes": int(len(rows)),
              "share_of_in_network_value": value / total if total > 0 else float("nan")}
    return MetricSection("offchain_dependency", values, {"nodes": table})
