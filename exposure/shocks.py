"""Shocks to external assets: ``e_i ← (1 − f_i) e_i`` for a fraction ``f_i`` in ``[0, 1]`` per node.

A shock is given as a mapping ``{node_id: fraction}``, on the command line as
repeated ``--shock NODE=FRACTION``, or as a JSON file
``[{"node": "lido", "fraction": 0.3}, ...]``.
"""

from __future__ import annotations

import json
import math
from typing import Mapping

import numpy as np

from .exceptions import InvalidShockError

__all__ = ["parse_shock", "read_shock_file", "shock_vector", "apply_shock"]


def _fraction(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidShockError(f"The fraction of {where} must be a number in [0, 1]. Got {value!r} instead.")
    try:
        f = float(value)
    except ValueError:
        raise InvalidShockError(f"The fraction of {where} must be a number in [0, 1]. Got {value!r} instead.") from None
    if not (math.isfinite(f) and 0.0 <= f <= 1.0):
        raise InvalidShockError(f"The fraction of {where} must be a number in [0, 1]. Got {value!r} instead.")
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
