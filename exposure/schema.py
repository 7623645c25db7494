"""The graph format as data: node kinds and fields, edge kinds, and which side of each edge owes.

Every other module reads these tables instead of restating a fact. A new node field or edge
kind is a row here, never a new ``if kind == ...`` elsewhere.

Direction convention (stated once, for the whole package): ``L[i, j]`` is what node ``i`` owes
node ``j``. Each edge kind lists its *obligations*: which field names the side that owes,
which the side that is owed, and which field is the amount. A ``claim`` edge is one obligation
(``debtor`` owes ``creditor`` the ``amount``); a ``holding`` of a token is a claim of the
holder on the token (``token`` owes ``holder``); a secured position is a loan (``borrower``
owes ``lender`` the ``debt``) and, for the claims-only view of a network, a holding of the
collateral token by the borrower (``collateral_token`` owes ``borrower`` the ``collateral``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

__all__ = ["NODE_KINDS", "ORACLES", "LIABILITY_TYPES", "NODE_FIELDS", "NODE_REFERENCES", "NODE_CHOICES",
           "Obligation", "EdgeKind", "EDGE_KINDS", "kind_of_table", "V2_NODE_FIELDS"]

#: Well-known node kinds (``kind`` is free text; these have a meaning to the models).
NODE_KINDS = ("protocol", "token", "asset", "venue", "position", "external")

#: Oracle types of a collateral position (format version 2).
ORACLES = ("market", "exchange_rate", "hardcoded", "linear_discount")

#: What a node owes its creditors (format version 2, node field ``liability_type``):
#: ``debt`` — a fixed nominal claim: a node that cannot pay it in full is in default;
#: ``shares`` — a pro-rata share of what the node holds (a vault, a wrapper, an exchange-rate
#: token): a loss lowers the value per share and is never a default.
LIABILITY_TYPES = ("debt", "shares")

#: Numeric node fields: name -> (default, lower bound, lower bound allowed, upper bound, version).
#: ``None`` as a default means "absent" (kept as NaN).
NODE_FIELDS: Mapping[str, tuple] = MappingProxyType({
    "external_assets": (0.0, 0.0, True, np.inf, 1),
    "external_liabilities": (0.0, 0.0, True, np.inf, 1),
    "price": (1.0, 0.0, False, np.inf, 2),
    "depth": (None, 0.0, True, np.inf, 2),
    "depth_slippage": (None, 0.0, True, 1.0, 2),
    "impact_exponent": (None, 0.0, False, np.inf, 2),
    # first-loss capital (USD): absorbs a shortfall of the node before any of its creditors
    "first_loss": (0.0, 0.0, True, np.inf, 2),
})

#: Node fields that name another node (format version 2): ``issuer`` (the node whose clearing
#: backs a token), ``denomination`` (the base asset a token or an obligation is counted in) and
#: ``first_loss_provider`` (the node that loses what the node's ``first_loss`` pays out; outside
#: the network when absent).
NODE_REFERENCES = ("issuer", "denomination", "first_loss_provider")

#: Text node fields with a fixed set of values: name -> (allowed values, default, version).
NODE_CHOICES: Mapping[str, tuple[tuple[str, ...], str, int]] = MappingProxyType({
    "liability_type": (LIABILITY_TYPES, "debt", 2),
})

#: Node fields that only exist in format version 2 (an input using one is version 2).
V2_NODE_FIELDS = frozenset({f for f, spec in NODE_FIELDS.items() if spec[-1] > 1} | set(NODE_REFERENCES)
                           | {f for f, spec in NODE_CHOICES.items() if spec[-1] > 1})


@dataclass(frozen=True)
class Obligation:
    """One obligation an edge records: ``owes`` owes ``owed`` the value of field ``amount``.

    ``relation`` names the obligation in the claims-only view of a network
    (:meth:`exposure.network.ExposureNetwork.claims_view`).
    """

    owes: str
    owed: str
    amount: str
    relation: str


@dataclass(frozen=True)
class EdgeKind:
    """The fields of one edge kind of the graph format.

    ``refs`` are node references, ``amounts`` non-negative finite numbers,
    ``fractions`` numbers in ``[0, 1]`` with their defaults (``None`` = required),
    ``choices`` text fields with their allowed values and default. ``table`` is the
    attribute of :class:`~exposure.network.ExposureNetwork` that holds the edges of this kind;
    ``obligations`` say which side owes (the first is the edge's own direction, in which a
    networkx edge points: from the side that owes to the side that is owed).
    """

    name: str
    version: int
    table: str
    refs: tuple[str, ...]
    amounts: tuple[str, ...]
    obligations: tuple[Obligation, ...]
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

    @property
    def ends(self) -> tuple[str, str]:
        """``(owes, owed)`` fields of the edge's own obligation: the networkx edge ``owes → owed``."""
        first = self.obligations[0]
        return first.owes, first.owed


#: Edge kinds by name. Version 1 knows ``claim`` only; version 2 adds
#: ``holding`` and ``collateral`` (secured positions).
EDGE_KINDS: Mapping[str, EdgeKind] = MappingProxyType({
    "claim": EdgeKind("claim", 1, "claims", ("debtor", "creditor"), ("amount",),
                      (Obligation("debtor", "creditor", "amount", "claim"),)),
    "holding": EdgeKind("holding", 2, "holdings", ("holder", "token"), ("amount",),
                        (Obligation("token", "holder", "amount", "holding"),)),
    "collateral": EdgeKind(
        "collateral", 2, "positions",
        ("lender", "borrower", "collateral_token", "debt_token"),
        ("collateral", "debt"),
        (Obligation("borrower", "lender", "debt", "position debt"),
         Obligation("collateral_token", "borrower", "collateral", "position collateral")),
        fractions={"liquidation_threshold": None, "liquidation_bonus": 0.0, "close_factor": 1.0},
        choices={"oracle": (ORACLES, "market")},
    ),
})


def kind_of_table(table: str) -> EdgeKind:
    """The edge kind whose edges the network attribute ``table`` holds (``"claims"`` → claim)."""
    for spec in EDGE_KINDS.values():
        if spec.table == table:
            return spec
    raise KeyError(f"no edge kind is held in table {table!r}")
