"""Size: gross TVL, netted value (TVR), the double-counting ratio and the money multiplier.

Gross TVL
---------
The value locked at protocol ``i`` as an aggregator reports it (DeFiLlama sums what sits in a
protocol's contracts, derivative tokens included) is

.. math::

    \\mathrm{TVL}_i = e_i + \\sum_{t} H_{it} + \\sum_{j} L_{ji} + \\sum_{k:\\,\\mathrm{lender}(k) = i} C_k

(declared external assets, holdings of tokens and base assets, claims on other nodes and on base
assets, collateral locked with ``i`` as lender), summed over the protocols
(:mod:`exposure.metrics._common`): ``gross_tvl = Σ_i TVL_i``.

Netted value (TVR)
------------------
Luo, Feng, Xu and Tasca (2024) count value once, at the base asset: the *total value
redeemable* keeps only what is not itself a claim on another protocol. Here
``TVR_i`` keeps from ``TVL_i`` the declared external assets and whatever is held *in a base
asset* (holdings of, claims on, and collateral in nodes of kind ``asset``); tokens, claims on
protocols and collateral in tokens are the derivative layers. ``netted_value = Σ_i TVR_i ≤
gross_tvl``, and the double-counting ratio is ``gross_tvl / netted_value`` (Luo et al. find
TVL/TVR ≈ 2 for DeFi at the end of 2021).

Money multiplier per base asset
-------------------------------
Luo et al.'s DeFi money multiplier: how many dollars of TVL rest on each dollar of a base
asset locked. The *composition* ``X_j`` of node ``j`` (a row of shares over the base assets and
``(outside the graph)``, for declared external assets) is what a claim on ``j`` finally rests
on: the value-weighted mean of what ``j`` owns — base assets directly, a holding of token
``t`` as ``X_t``, a claim on ``k`` as ``X_k``, a loan as the composition of its collateral
token, a borrower's equity in a position likewise. That is the linear system

.. math::

    X = B + P X,

``B[j, a]`` the share of ``j``'s assets held directly in ``a``, ``P[j, k]`` the share held as
claims on ``k``. It is solved by the iteration ``X ← B + P X`` from ``X = B``, which is exact
after as many steps as the longest chain of claims and converges geometrically through
cycles (``P`` is substochastic); the iteration count and the last change are reported. A
token that owns nothing rests on its ``denomination`` asset if it has one. Value in a cycle
that rests on no base asset stays unattributed (its own row). Then

.. math::

    M_a = \\frac{\\sum_i \\sum_{r \\in \\mathrm{TVL}_i} v_r X_{r,a}}{\\sum_i \\mathrm{TVR}_{i,a}},

the TVL resting on ``a`` over the base value of ``a`` locked at protocols.

References
----------
.. [1] Luo, Y., Feng, Y., Xu, J. and Tasca, P. (2024). Piercing the veil of TVL: DeFi
   reappraised. arXiv:2404.11745. https://arxiv.org/abs/2404.11745
.. [2] FSB (2023). The financial stability risks of decentralised finance. 16 February 2023.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..network import ExposureNetwork
from ._common import MetricSection, held_value, node_codes, node_text, protocol_mask

__all__ = ["size_metrics", "tvl_table", "base_composition", "OUTSIDE", "UNATTRIBUTED"]

#: Row of the money-multiplier table for declared external assets (value outside the graph).
OUTSIDE = "(outside the graph)"
#: Row for value that rests on no base asset (a cycle of claims with nothing under it).
UNATTRIBUTED = "(unattributed)"


def tvl_table(net: ExposureNetwork) -> pd.DataFrame:
    """Per protocol: ``node, kind, tvl, netted_value, derivative_value, derivative_share, share_of_tvl``.

    ``derivative_value = tvl − netted_value`` is the part of the protocol's TVL that is other
    protocols' tokens and claims; ``share_of_tvl`` its TVL over the gross TVL (the shares sum to 1).
    Sorted by TVL, largest first.
    """
    held = held_value(net)
    n = net.n
    is_asset = net.kinds == "asset"
    tvl = held.declared + np.bincount(held.holder, weights=held.amount, minlength=n)
    base_part = is_asset[held.on] if len(held.on) else np.zeros(0, bool)
    netted = held.declared + np.bincount(held.holder[base_part], weights=held.amount[base_part], minlength=n)
    prot = np.flatnonzero(protocol_mask(net))
    total = float(tvl[prot].sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        frame = pd.DataFrame({
            "node": net.node_ids.to_numpy(dtype=object)[prot], "kind": net.kinds[prot].astype(object),
            "tvl": tvl[prot], "netted_value": netted[prot], "derivative_value": tvl[prot] - netted[prot],
            "derivative_share": np.where(tvl[prot] > 0, (tvl[prot] - netted[prot]) / tvl[prot], np.nan),
            "share_of_tvl": tvl[prot] / total if total > 0 else np.full(len(prot), np.nan),
        })
    return frame.sort_values("tvl", ascending=False, kind="stable").reset_index(drop=True)


def base_composition(net: ExposureNetwork, *, tol: float = 1e-12, max_iter: int = 1000):
    """The composition ``X`` of every node over the base assets (see the module notes).

    Returns
    -------
    X : ndarray, n × (k + 1)
        Shares of each node's value resting on each base asset (columns in the order of
        ``buckets``); a row sums to at most 1, the rest is unattributed.
    buckets : list of str
        The base assets (nodes of kind ``asset``, in graph order) and :data:`OUTSIDE`.
    record : dict
        ``iterations``, ``residual`` (largest change of the last step), ``converged``.
    """
    n = net.n
    assets = np.flatnonzero(net.kinds == "asset")
    k = len(assets)
    col_of = np.full(n, -1, np.int64)
    col_of[assets] = np.arange(k)
    rows, cols, vals = [], [], []            # value of node j held on node k (P before scaling)
    direct = np.zeros((n, k + 1))            # value of node j held directly in a base asset (B before scaling)
    direct[:, k] = net.nodes["external_assets"].to_numpy(dtype=np.float64)
    c, h, p = net.claims, net.holdings, net.positions
    parts = []
    if len(c):
        parts.append((node_codes(c["creditor"]), node_codes(c["debtor"]), c["amount"].to_numpy(np.float64)))
    if len(h):
        parts.append((node_codes(h["holder"]), node_codes(h["token"]), h["amount"].to_numpy(np.float64)))
    if len(p):
        C, D = p["collateral"].to_numpy(np.float64), p["debt"].to_numpy(np.float64)
        ct = node_codes(p["collateral_token"])
        parts.append((node_codes(p["lender"]), ct, np.minimum(C, D)))
        parts.append((node_codes(p["borrower"]), ct, np.maximum(C - D, 0.0)))
    for holder, on, amt in parts:
        base = col_of[on] >= 0
        if base.any():
            np.add.at(direct, (holder[base], col_of[on[base]]), amt[base])
        rows.append(holder[~base])
        cols.append(on[~base])
        vals.append(amt[~base])
    held = sp.csr_array((np.concatenate(vals) if vals else np.zeros(0),
                         (np.concatenate(rows) if rows else np.zeros(0, np.int64),
                          np.concatenate(cols) if cols else np.zeros(0, np.int64))), shape=(n, n))
    held.sum_duplicates()
    total = direct.sum(axis=1) + np.asarray(held.sum(axis=1)).ravel()
    # a token that owns nothing rests on its denomination asset, if it has one
    den = node_text(net, "denomination")
    empty_token = net.is_token() & (total <= 0) & (den != None)  # noqa: E711 (object array)
    if empty_token.any():
        den_pos = net.node_ids.get_indexer(den[empty_token].astype(object))
        ok = den_pos >= 0
        idx = np.flatnonzero(empty_token)[ok]
        direct[idx, col_of[den_pos[ok]]] = 1.0
        total[idx] = 1.0
    direct[assets, :] = 0.0
    direct[assets, np.arange(k)] = 1.0
    total[assets] = 1.0
    inv = np.divide(1.0, total, out=np.zeros(n), where=total > 0)
    B = direct * inv[:, None]
    P = sp.csr_array(sp.diags_array(inv) @ held)
    X = B.copy()
    residual, it = 0.0, 0
    for it in range(1, max_iter + 1):
        new = B + P @ X
        residual = float(np.abs(new - X).max()) if n else 0.0
        X = new
        if residual <= tol:
            break
    record = {"iterations": it, "residual": residual, "converged": residual <= tol}
    buckets = [str(x) for x in net.node_ids.to_numpy(dtype=object)[assets]] + [OUTSIDE]
    return X, buckets, record


def money_multiplier(net: ExposureNetwork, *, tol: float = 1e-12, max_iter: int = 1000):
    """``(table, record)``: per base asset ``base_asset, netted_value, tvl_resting, multiplier, share_of_netted``.

    ``tvl_resting`` sums to the gross TVL over the rows (with :data:`UNATTRIBUTED`), ``netted_value``
    to the netted value; ``multiplier = tvl_resting / netted_value``.
    """
    X, buckets, record = base_composition(net, tol=tol, max_iter=max_iter)
    held = held_value(net)
    prot = protocol_mask(net)
    k = len(buckets) - 1
    keep = prot[held.holder] if len(held.holder) else np.zeros(0, bool)
    on, amt = held.on[keep], held.amount[keep]
    declared = float(held.declared[prot].sum())
    resting = np.zeros(k + 1)
    resting[k] = declared
    if len(on):
        resting += amt @ X[on]
    is_asset = net.kinds == "asset"
    netted = np.zeros(k + 1)
    netted[k] = declared
    base = is_asset[on]
    if base.any():
        netted[:k] = np.bincount(np.searchsorted(np.flatnonzero(is_asset), on[base]), weights=amt[base],
                                 minlength=k)
    gross = float(held.declared[prot].sum() + amt.sum())
    # value resting on no base asset: what the compositions of the held nodes leave out
    unattributed = float(amt @ np.maximum(0.0, 1.0 - X[on].sum(axis=1))) if len(on) else 0.0
    if unattributed <= 1e-12 * gross:
        unattributed = 0.0
    total_netted = float(netted.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame({
            "base_asset": buckets + [UNATTRIBUTED],
            "netted_value": np.r_[netted, 0.0],
            "tvl_resting": np.r_[resting, unattributed],
            "multiplier": np.r_[np.where(netted > 0, resting / netted, np.nan), np.nan],
            "share_of_netted": np.r_[netted / total_netted if total_netted > 0 else np.full(k + 1, np.nan), 0.0],
        })
    table = table[(table["netted_value"] > 0) | (table["tvl_resting"] > 0)].reset_index(drop=True)
    return table, record


def size_metrics(net: ExposureNetwork, *, tol: float = 1e-12, max_iter: int = 1000) -> tuple[MetricSection, dict]:
    """The ``size`` section: gross TVL, netted value, double counting, money multiplier, per protocol.

    Returns ``(section, record)``, ``record`` being the convergence record of the composition
    iteration (:func:`base_composition`). Formulas in the module notes (Luo et al. 2024; FSB 2023
    and ESMA 2023 ask for size and for TVL net of double counting).

    Examples
    --------
    Lido holds 100 of ETH and owes its token stETH 100; Kelp holds 40 of stETH and owes rsETH 40;
    a lender has 30 of rsETH locked as collateral. TVL: 100 + 40 + 30 = 170; only Lido's ETH is
    base value (100); ratio 1.7, and all of it rests on ETH:

    >>> import pandas as pd
    >>> from exposure import ExposureNetwork
    >>> nodes = pd.DataFrame({"id": ["ETH", "lido", "stETH", "kelp", "rsETH", "lender", "looper"],
    ...     "kind": ["asset", "protocol", "token", "protocol", "token", "protocol", "position"],
    ...     "issuer": [None, None, "lido", None, "kelp", None, None]})
    >>> edges = pd.DataFrame([
    ...     {"kind": "holding", "holder": "lido", "token": "ETH", "amount": 100.0},
    ...     {"kind": "claim", "debtor": "lido", "creditor": "stETH", "amount": 100.0},
    ...     {"kind": "holding", "holder": "kelp", "token": "stETH", "amount": 40.0},
    ...     {"kind": "claim", "debtor": "kelp", "creditor": "rsETH", "amount": 40.0},
    ...     {"kind": "collateral", "lender": "lender", "borrower": "looper", "collateral_token": "rsETH",
    ...      "collateral": 30.0, "debt_token": "ETH", "debt": 24.0, "liquidation_threshold": 0.9}])
    >>> net = ExposureNetwork.from_frames(nodes, edges, meta={"version": 2})
    >>> s, _ = size_metrics(net)
    >>> s.values["gross_tvl"], s.values["netted_value"], s.values["double_counting_ratio"]
    (170.0, 100.0, 1.7)
    >>> s.tables["money_multiplier"][["base_asset", "multiplier"]].to_dict("records")
    [{'base_asset': 'ETH', 'multiplier': 1.7}]
    """
    protocols = tvl_table(net)
    mm, record = money_multiplier(net, tol=tol, max_iter=max_iter)
    gross = float(protocols["tvl"].sum())
    netted = float(protocols["netted_value"].sum())
    values = {
        "gross_tvl": gross,
        "netted_value": netted,
        "double_counting_ratio": gross / netted if netted > 0 else float("nan"),
        "double_counted": gross - netted,
        "double_counted_share": (gross - netted) / gross if gross > 0 else float("nan"),
        "n_protocols": len(protocols),
    }
    return MetricSection("size", values, {"money_multiplier": mm, "protocols": protocols}), record
