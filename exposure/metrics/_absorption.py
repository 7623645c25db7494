"""Loss absorption and the stress section.

Loss absorption
---------------
Per lender (a node lending against collateral or holding claims on other nodes) and per issuer
(a node that backs a token): its ``liability_type`` and its first-loss capital ``first_loss``
(node fields, :meth:`exposure.network.ExposureNetwork.first_loss`; 0 where the graph gives
none) against, with scenarios, its largest shortfall among them. In a scenario the clearing
draws a debt node's buffer before any creditor loses (:mod:`exposure.clearing`): the node's
``shortfall_before_buffer`` is ``p̄ − p + buffer_used`` (what its assets cannot pay), its
``buffer_used`` the draw, and its ``shortfall`` ``p̄ − p`` what still reaches its creditors;
``buffer_coverage = first_loss / shortfall_before_buffer`` says how many times the buffer covers
the worst case (≥ 1: covered). ``loss`` is ``equity_before − equity_after``. The worst scenario
of a node is the one with its largest shortfall before the buffer (then its largest loss).

The share of value held in ``shares`` wrappers is the part of the gross TVL held as tokens or
claims of nodes whose ``liability_type`` is ``shares`` (or tokens whose issuer's is): value
whose holders take a loss pro rata, as a fall of the share price, rather than as a default
(:meth:`exposure.network.ExposureNetwork.is_shares`).

Stress
------
One row per scenario of the given file, solved through the joint fixed point of clearing,
liquidations and fire sales (:func:`exposure.stress.run_scenarios`): the columns of the stress
summary with the total shortfall ``Σ(p̄ − p)`` after the scenario name.

References
----------
.. [1] FSB (2023). The financial stability risks of decentralised finance (no shock absorbers).
.. [2] Aramonte, S., Huang, W. and Schrimpf, A. (2021). DeFi risks and the decentralisation
   illusion. BIS Quarterly Review, December 2021.
.. [3] Eisenberg, L. and Noe, T. H. (2001). Systemic risk in financial systems. Management
   Science 47(2):236–249 (shortfall and defaults under named scenarios).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..network import ExposureNetwork
from ._common import MetricSection, held_value, node_codes, node_text, protocol_mask

__all__ = ["loss_absorption", "stress_section"]


def _roles(net: ExposureNetwork) -> np.ndarray:
    n = net.n
    lender = np.zeros(n, bool)
    if len(net.positions):
        lender[node_codes(net.positions["lender"])] = True
    if len(net.claims):
        d = node_codes(net.claims["debtor"])
        lender[node_codes(net.claims["creditor"])[net.kinds[d] != "asset"]] = True
    issuer = np.zeros(n, bool)
    pos = net.node_ids.get_indexer(node_text(net, "issuer").astype(object))
    issuer[pos[pos >= 0]] = True
    role = np.where(lender & issuer, "lender, issuer", np.where(lender, "lender", np.where(issuer, "issuer", "")))
    return role.astype(object)


def _shortfalls(stress):
    """(shortfall after the buffer, buffer used, loss) per scenario × node, and the scenario names."""
    names = [s.name for s in stress.scenarios]
    short = np.vstack([np.maximum(0.0, np.asarray(r.obligations) - np.asarray(r.payments)) for r in stress.results])
    used = np.vstack([np.asarray(r.buffer_used, dtype=np.float64) for r in stress.results])
    loss = np.vstack([np.asarray(r.loss, dtype=np.float64) for r in stress.results])
    return short, used, loss, names


def loss_absorption(net: ExposureNetwork, stress=None) -> MetricSection:
    """The ``loss_absorption`` section; ``stress`` is a :class:`exposure.stress.StressResult` or None."""
    ids = net.node_ids.to_numpy(dtype=object)
    role = _roles(net)
    fl, _ = net.first_loss()
    shares = net.is_shares()
    rows = np.flatnonzero((role != "") & protocol_mask(net))
    table = pd.DataFrame({"node": ids[rows], "role": role[rows],
                          "liability_type": np.where(shares[rows], "shares", "debt").astype(object),
                          "first_loss": fl[rows]})
    values = {"first_loss": float(fl[rows].sum())}
    if stress is not None and len(stress.results):
        short, used, loss, names = _shortfalls(stress)
        before = short + used
        b, lo = before[:, rows], loss[:, rows]
        worst = np.lexsort((-lo, -b), axis=0)[0] if len(rows) else np.zeros(0, np.int64)
        pick = (worst, np.arange(len(rows)))
        with np.errstate(divide="ignore", invalid="ignore"):
            cover = np.where(b[pick] > 0, fl[rows] / b[pick], np.nan)
        table["worst_scenario"] = np.array(names, dtype=object)[worst] if len(rows) else []
        table["loss"] = lo[pick]
        table["shortfall_before_buffer"] = b[pick]
        table["buffer_used"] = used[:, rows][pick]
        table["shortfall"] = short[:, rows][pick]
        table["buffer_coverage"] = cover
        totals = before.sum(axis=1)
        w = int(np.argmax(totals))
        values.update({"worst_scenario": names[w], "worst_shortfall_before_buffer": float(totals[w]),
                       "worst_buffer_used": float(used[w].sum()),
                       "first_loss_to_worst_shortfall": (values["first_loss"] / float(totals[w])
                                                         if totals[w] > 0 else float("nan")),
                       "nodes_not_covered": int((table["shortfall"] > 0).sum())})
        table = table.sort_values(["shortfall_before_buffer", "first_loss"], ascending=False, kind="stable")
    else:
        table = table.sort_values("first_loss", ascending=False, kind="stable")
    # value held in shares wrappers: TVL components held on shares nodes (or tokens of shares issuers)
    held = held_value(net)
    issuer = net.node_ids.get_indexer(node_text(net, "issuer").astype(object))
    via_issuer = np.zeros(net.n, bool)
    has = issuer >= 0
    via_issuer[has] = shares[issuer[has]]
    wrapped = shares | via_issuer
    prot = protocol_mask(net)
    keep = prot[held.holder] if len(held.holder) else np.zeros(0, bool)
    gross = float(held.declared[prot].sum() + held.amount[keep].sum())
    in_shares = float(held.amount[keep & wrapped[held.on]].sum()) if len(held.on) else 0.0
    values.update({"value_in_shares": in_shares,
                   "share_in_shares": in_shares / gross if gross > 0 else float("nan"),
                   "shares_nodes": int(shares.sum())})
    return MetricSection("loss_absorption", values, {"nodes": table.reset_index(drop=True)})


def stress_section(stress) -> MetricSection:
    """The ``stress`` section: one row per scenario (the stress summary, with ``total_shortfall``)."""
    frame = stress.summary_frame()
    frame.insert(1, "total_shortfall", [float(r.total_shortfall) for r in stress.results])
    worst = int(frame["total_loss"].to_numpy(np.float64).argmax()) if len(frame) else -1
    values = {"n_scenarios": int(len(frame)),
              "worst_scenario": str(frame["scenario"].iat[worst]) if worst >= 0 else None,
              "worst_total_loss": float(frame["total_loss"].iat[worst]) if worst >= 0 else float("nan")}
    return MetricSection("stress", values, {"scenarios": frame})
