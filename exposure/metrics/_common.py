"""What the supervisory metrics share: which nodes are protocols, what each node holds, sections.

A *protocol* here is a node that reports value of its own, as a TVL aggregator counts it:
any node that is not a token (kind ``token`` or a node with an ``issuer``: pass-through claims
whose value is counted at their holders), not a base asset (kind ``asset``), not a borrower
group (kind ``position``) and not a party outside the protocols (kind ``external``). Venues and
nodes of free-text kinds are protocols.

The *value held* by a node, as an aggregator reports it, is the list of :func:`held_value`
records: its declared external assets, its holdings of tokens and base assets, its claims on
other nodes (deposits, supplied liquidity, claims on base assets) and, as a lender, the
collateral locked with it by its borrowers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..network import ExposureNetwork

__all__ = ["MetricSection", "protocol_mask", "node_codes", "Held", "held_value", "node_text", "node_number",
           "position_ltv", "NOT_PROTOCOL_KINDS"]

#: Node kinds that do not report value of their own (see the module notes).
NOT_PROTOCOL_KINDS = ("token", "asset", "position", "external")


@dataclass(frozen=True, eq=False)
class MetricSection:
    """One section of the supervisory metrics: scalar figures and named tables.

    ``to_dict()`` gives the JSON object of the section: the scalars, then each table as a list
    of records under its name.
    """

    name: str
    values: Mapping[str, Any] = field(default_factory=dict)
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self):
        clash = set(self.values) & set(self.tables)
        if clash:
            raise ValueError(f"section {self.name!r} names both a figure and a table {sorted(clash)!r}")

    def to_dict(self) -> dict[str, Any]:
        return {**self.values, **self.tables}


def node_codes(column) -> np.ndarray:
    """Positions of the nodes a categorical edge column names."""
    return np.asarray(column.cat.codes, dtype=np.int64)


def protocol_mask(net: ExposureNetwork) -> np.ndarray:
    """Which nodes are protocols (see the module notes)."""
    return ~np.isin(net.kinds.astype(object), NOT_PROTOCOL_KINDS) & ~net.is_token()


def node_text(net: ExposureNetwork, name: str, default: str | None = None) -> np.ndarray:
    """A text node field as an object array, ``default`` where the field is absent or empty."""
    if name not in net.nodes.columns:
        return np.full(net.n, default, dtype=object)
    col = net.nodes[name].astype(object)
    return np.where(col.isna().to_numpy(), default, col.to_numpy()).astype(object)


def node_number(net: ExposureNetwork, name: str, default: float = 0.0) -> np.ndarray:
    """A numeric node field as float64, ``default`` where absent (NaN, or no such column)."""
    if name not in net.nodes.columns:
        return np.full(net.n, default, dtype=np.float64)
    v = pd.to_numeric(net.nodes[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isnan(v), default, v)


def position_ltv(net: ExposureNetwork) -> np.ndarray:
    """The loan-to-value ``λ`` of every secured position: its ``ltv`` field where the graph gives
    one (the largest debt the lender allows per dollar of collateral), else its liquidation
    threshold (the largest debt a position can carry before it is liquidated, an upper bound)."""
    p = net.positions
    lt = p["liquidation_threshold"].to_numpy(dtype=np.float64)
    if "ltv" not in p.columns:
        return lt
    ltv = pd.to_numeric(p["ltv"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isfinite(ltv) & (ltv >= 0) & (ltv <= 1), ltv, lt)


@dataclass(frozen=True, eq=False)
class Held:
    """The value held by nodes, one record per (holder, what is held, amount).

    ``source`` says where a record comes from: ``claim`` (a claim of the holder on ``on``,
    claims on base assets included), ``holding`` (a holding of token or base asset ``on``),
    ``collateral`` (collateral in token ``on`` locked with the holder as lender). Declared
    external assets are ``declared`` (per node), outside the records.
    """

    holder: np.ndarray
    on: np.ndarray
    amount: np.ndarray
    source: np.ndarray
    declared: np.ndarray


#: Where value held comes from: (network table, holder field, held field, amount field), in the
#: order of the :attr:`Held.source` codes.
HELD_SPECS = (("claims", "creditor", "debtor", "amount"),
              ("holdings", "holder", "token", "amount"),
              ("positions", "lender", "collateral_token", "collateral"))


def held_value(net: ExposureNetwork) -> Held:
    """Every record of value held (see :class:`Held`), in one pass over the edge tables."""
    holder, on, amount, source = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)], \
        [np.zeros(0, np.int8)]
    for code, (table, who, what, amt) in enumerate(HELD_SPECS):
        t = getattr(net, table)
        if len(t):
            holder.append(node_codes(t[who]))
            on.append(node_codes(t[what]))
            amount.append(t[amt].to_numpy(dtype=np.float64))
            source.append(np.full(len(t), code, np.int8))
    return Held(np.concatenate(holder), np.concatenate(on), np.concatenate(amount), np.concatenate(source),
                net.nodes["external_assets"].to_numpy(dtype=np.float64))


#: Names of :attr:`Held.source` codes.
HELD_SOURCES = ("claim", "holding", "collateral")
