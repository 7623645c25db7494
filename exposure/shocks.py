"""Shock specifications: what a scenario does to the network, before any model solves it.

Two forms:

* an **asset-loss shock**, ``e_i ← (1 − f_i) e_i`` for a fraction ``f_i`` in ``[0, 1]`` per node,
  given as a mapping ``{node_id: fraction}``, on the command line as repeated
  ``--shock NODE=FRACTION``, or as a JSON file ``[{"node": "lido", "fraction": 0.3}, ...]``
  (:func:`parse_shock`, :func:`read_shock_file`, :func:`shock_vector`, :func:`apply_shock`);
* a :class:`MarketShock`, the terms of the cross-collateral mechanics (:mod:`exposure.defi`):
  asset losses, base-asset price moves, depegs, forged supply and market depth.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

from ._params import Interval, describe_interval
from .exceptions import InvalidShockError

__all__ = ["parse_shock", "read_shock_file", "shock_vector", "apply_shock", "MarketShock", "SHOCK_FIELDS"]


def _fraction(value, where: str) -> float:
    """A fraction in [0, 1] from a number or the text of one (``--shock a=0.5``)."""
    f = math.nan
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            f = float(value)
        except ValueError:
            pass
    if not (math.isfinite(f) and 0.0 <= f <= 1.0):
        raise InvalidShockError(f"The fraction of {where} must be {describe_interval(0.0, 1.0)}. "
                                f"Got {value!r} instead.")
    return f


def parse_shock(specs) -> dict[str, float]:
    """Parse ``NODE=FRACTION`` strings into ``{node: fraction}``.

    >>> parse_shock(["lido=0.3", "kelp=1"])
    {'lido': 0.3, 'kelp': 1.0}
    """
    out: dict[str, float] = {}
    for spec in specs:
        node, sep, frac = str(spec).rpartition("=")
        if not sep or not node:
            raise InvalidShockError(f"A shock must be written NODE=FRACTION. Got {spec!r} instead.")
        if node in out:
            raise InvalidShockError(f"Node {node!r} is shocked twice; give one fraction per node.")
        out[node] = _fraction(frac, f"the shock on {node!r}")
    return out


def read_shock_file(path: str) -> dict[str, float]:
    """Read a JSON shock file ``[{"node": ID, "fraction": F}, ...]`` into ``{node: fraction}``."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidShockError(f"{path}: cannot read the shock file: {err}") from err
    if not isinstance(data, list):
        raise InvalidShockError(f"{path}: a shock file must be a JSON list of {{\"node\": ID, \"fraction\": F}}. "
                                f"Got {type(data).__name__} instead.")
    out: dict[str, float] = {}
    for k, item in enumerate(data):
        where = f"{path}: $[{k}]"
        if not isinstance(item, dict) or "node" not in item or "fraction" not in item:
            raise InvalidShockError(f"{where}: each shock must be an object with keys 'node' and 'fraction'.")
        node = item["node"]
        if not isinstance(node, str):
            raise InvalidShockError(f"{where}.node: must be a node id (a string). Got {node!r} instead.")
        if node in out:
            raise InvalidShockError(f"{where}: node {node!r} is shocked twice; give one fraction per node.")
        out[node] = _fraction(item["fraction"], f"{where} (node {node!r})")
    return out


def shock_vector(network, shock: Mapping[str, float] | None) -> np.ndarray:
    """The fraction of external assets lost by each node, in graph order (zeros where unshocked)."""
    f = np.zeros(network.n)
    if not shock:
        return f
    ids = list(shock)
    idx = network.nodes.index.get_indexer(ids)
    unknown = [x for x, i in zip(ids, idx) if i < 0]
    if unknown:
        raise InvalidShockError(f"Shock on unknown node {unknown[0]!r}: no node of the graph has that id.")
    for node in ids:
        _fraction(shock[node], f"the shock on {node!r}")
    f[idx] = [float(shock[x]) for x in ids]
    return f


def apply_shock(network, shock: Mapping[str, float] | None):
    """Return the network with each shocked node's external assets cut: ``e ← (1 − f) e``."""
    if not shock:
        return network
    return network.with_external_assets(network.external_assets * (1.0 - shock_vector(network, shock)))


@dataclass(frozen=True)
class ShockField:
    """One field of a :class:`MarketShock`: its allowed values, its neutral value, its meaning."""

    interval: Interval
    neutral: float
    meaning: str


#: The fields of a MarketShock (the scenario format's size fields map onto them,
#: :data:`exposure.io.scenarios.SHOCK_TYPES`).
SHOCK_FIELDS: Mapping[str, ShockField] = MappingProxyType({
    "asset_loss": ShockField(Interval(0.0, 1.0), 0.0, "a fraction of what the node owns"),
    "asset_loss_amount": ShockField(Interval(0.0, math.inf), 0.0, "a loss in USD"),
    "price_change": ShockField(Interval(-1.0, math.inf), 0.0, "a relative price change"),
    "depeg": ShockField(Interval(-1.0, 0.0), 0.0, "a relative fall of the market price"),
    "forged_supply": ShockField(Interval(0.0, math.inf), 0.0, "unbacked supply as a fraction of the real supply"),
    "depth_factor": ShockField(Interval(0.0, math.inf, lo_open=True), 1.0, "a factor on market depth"),
})


@dataclass(frozen=True)
class MarketShock:
    """A stress scenario in the terms of the mechanics model.

    Each field maps node ids to a number; a node absent from a field is not
    shocked by it.

    Parameters
    ----------
    asset_loss : mapping of node -> float in [0, 1]
        Fraction of what the node owns outright that is lost (hack, slashing).
    asset_loss_amount : mapping of node -> float ≥ 0
        USD lost from what the node owns outright (capped at what it owns).
    price_change : mapping of node -> float in [-1, inf)
        Relative change of a base asset's price (``-0.3``: 30% lower).
    depeg : mapping of node -> float in [-1, 0]
        Relative fall of a token's market price below its redemption value.
    forged_supply : mapping of node -> float ≥ 0
        Unbacked units of a token as a fraction of its real supply; dilutes
        every holder's claim on the issuer: ``r ← r / (1 + forged)``.
    depth_factor : mapping of node -> float > 0
        Scales the token's market depth (``0.15``: liquidity dried up to 15%).

    Raises
    ------
    InvalidShockError
        A value out of range, not a number, or a node id that is not a string;
        the message names the field and the node.

    Examples
    --------
    >>> MarketShock(depeg={"xUSD": -0.8}, depth_factor={"stETH": 0.15}).is_empty
    False
    >>> MarketShock(depeg={"xUSD": 0.2})
    Traceback (most recent call last):
    ...
    exposure.exceptions.InvalidShockError: MarketShock depeg of node 'xUSD' must be a relative fall of the market price in [-1, 0]. Got 0.2 instead.
    """

    asset_loss: Mapping[str, float] = field(default_factory=dict)
    asset_loss_amount: Mapping[str, float] = field(default_factory=dict)
    price_change: Mapping[str, float] = field(default_factory=dict)
    depeg: Mapping[str, float] = field(default_factory=dict)
    forged_supply: Mapping[str, float] = field(default_factory=dict)
    depth_factor: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        for name, spec in SHOCK_FIELDS.items():
            raw = getattr(self, name)
            if raw is None:
                raw = {}
            if not isinstance(raw, Mapping):
                raise InvalidShockError(f"MarketShock {name} must be a mapping of node id to number. "
                                        f"Got {type(raw).__name__} instead.")
            clean = {}
            for node, value in raw.items():
                if not isinstance(node, str):
                    raise InvalidShockError(f"MarketShock {name}: node ids must be strings. Got {node!r} instead.")
                ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
                x = float(value) if ok else math.nan
                if not (ok and spec.interval.contains(x)):
                    raise InvalidShockError(
                        f"MarketShock {name} of node {node!r} must be {spec.meaning} "
                        f"{spec.interval.notation()}. Got {value!r} instead.")
                clean[node] = x
            object.__setattr__(self, name, MappingProxyType(clean))

    @classmethod
    def coerce(cls, shock) -> "MarketShock":
        """A MarketShock from ``None``, a MarketShock, or ``{node: fraction}`` (an asset-loss shock)."""
        if shock is None:
            return cls()
        if isinstance(shock, cls):
            return shock
        if isinstance(shock, Mapping):
            return cls(asset_loss=shock)
        raise InvalidShockError(f"A shock must be a MarketShock or a mapping of node id to fraction. "
                                f"Got {type(shock).__name__} instead.")

    @property
    def is_empty(self) -> bool:
        """True when no field shocks anything (every value neutral)."""
        return all(v == spec.neutral for k, spec in SHOCK_FIELDS.items() for v in getattr(self, k).values())

    def vectors(self, network) -> dict[str, np.ndarray]:
        """The shock as vectors in graph order.

        Returns ``loss_fraction``, ``loss_amount``, ``change``, ``depeg``, ``forged`` and
        ``depth_factor``, neutral (0, or 1 for ``depth_factor``) where a node is not shocked.

        Raises
        ------
        InvalidShockError
            A node id that is not in the network (named with its field).
        """
        n = network.n
        index = network.nodes.index
        out = {}
        for name, spec in SHOCK_FIELDS.items():
            values = getattr(self, name)
            v = np.full(n, spec.neutral)
            if values:
                ids = list(values)
                idx = index.get_indexer(ids)
                if (idx < 0).any():
                    bad = ids[int(np.flatnonzero(idx < 0)[0])]
                    raise InvalidShockError(f"MarketShock {name}: unknown node {bad!r}; no node of the graph "
                                            "has that id.")
                v[idx] = [values[x] for x in ids]
            out[name] = v
        return {
            "loss_fraction": out["asset_loss"],
            "loss_amount": out["asset_loss_amount"],
            "change": out["price_change"],
            "depeg": out["depeg"],
            "forged": out["forged_supply"],
            "depth_factor": out["depth_factor"],
        }
