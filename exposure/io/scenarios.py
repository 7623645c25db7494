"""Named stress scenarios: the ``exposure-scenario`` file format and its reader.

A scenario file is a JSON document::

    {"format": "exposure-scenario", "version": 1,
     "scenarios": [{"name": "kelp-forged-supply", "description": "...", "source": "URL",
       "shocks": [{"type": "asset_loss", "node": "stream", "fraction": 0.6},
                  {"type": "price", "node": "ETH", "change": -0.3},
                  {"type": "depeg", "node": "xUSD", "change": -0.8},
                  {"type": "forged_supply", "node": "rsETH", "fraction": 0.18},
                  {"type": "liquidity", "node": "stETH", "depth_factor": 0.15}]}]}

Shock types (each names one ``node``; the field after the colon is the shock's size):

=================  ======================  =====================================================
type               size                    effect in :func:`exposure.defi.solve_system`
=================  ======================  =====================================================
``asset_loss``     ``fraction`` in [0, 1]  external assets ``e_i ← (1 − f)·e_i``
                   or ``amount`` ≥ 0 USD   ``e_i ← e_i − amount`` (at most ``e_i``)
``price``          ``change`` in [−1, ∞)   base asset price ratio ``m_a ← 1 + change``
``depeg``          ``change`` in [−1, 0]   token market price ``m_t ← r_t·(1 + change)``;
                                           the redemption value ``r_t`` is untouched
``forged_supply``  ``fraction`` ≥ 0        ``fraction`` × supply of unbacked units:
                                           ``r_t = R_issuer / (1 + fraction)``
``liquidity``      ``depth_factor`` > 0    market depth ``depth_t ← depth_factor·depth_t``
=================  ======================  =====================================================

Which nodes a shock may name: ``price`` a base asset (kind ``asset``);
``depeg`` and ``forged_supply`` a token (kind ``token``, or any node with
an ``issuer``); ``liquidity`` a node with a ``depth``; ``asset_loss`` any
node that is not a base asset (an ``amount`` at most what the node owns:
external assets plus holdings at reference prices). A scenario
shocks each (type, node) pair at most once. Fields ``note``, ``comment``,
``description`` and ``source`` of a shock are kept as metadata; any other
unknown field is an error (it is usually a misspelt size field).

Errors name the file, the scenario and the shock, for example
``scenarios.json: scenario 'kelp-forged-supply', shock 3 (forged_supply): ...``
(shocks are numbered from 0 in file order). Everything wrong with a file is
reported at once, one problem per line.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import sys
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import numpy as np

from ..exceptions import InvalidShockError
from .._params import Interval
from ..shocks import SHOCK_FIELDS, MarketShock

__all__ = [
    "SCENARIO_FORMAT", "SCENARIO_VERSION", "SHOCK_TYPES", "ShockSpec",
    "ScenarioShock", "Scenario", "read_scenarios", "parse_scenarios", "select_scenarios",
    "eligible_nodes", "shock_problem", "market_shock_fields",
]

SCENARIO_FORMAT = "exposure-scenario"
SCENARIO_VERSION = 1

#: Fields a shock may carry as metadata.
_META_FIELDS = ("note", "comment", "description", "source")


@dataclass(frozen=True)
class ShockSpec:
    """The size fields of one shock type, each mapped onto a field of
    :class:`~exposure.shocks.MarketShock` (``{size field: MarketShock field}``), whose allowed
    values it takes (:data:`exposure.shocks.SHOCK_FIELDS`). Exactly one size field must be given.
    """

    name: str
    sizes: Mapping[str, str]
    what: str

    def interval(self, fld: str) -> Interval:
        return SHOCK_FIELDS[self.sizes[fld]].interval

    def describe_range(self, fld: str) -> str:
        return self.interval(fld).describe()

    def in_range(self, fld: str, x: float) -> bool:
        return self.interval(fld).contains(x)


#: The shock types of the scenario format, with their size fields.
SHOCK_TYPES: Mapping[str, ShockSpec] = MappingProxyType({
    "asset_loss": ShockSpec("asset_loss", {"fraction": "asset_loss", "amount": "asset_loss_amount"},
                            "cuts a node's external assets"),
    "price": ShockSpec("price", {"change": "price_change"}, "moves a base asset's price"),
    "depeg": ShockSpec("depeg", {"change": "depeg"}, "moves a token's market price, not its redemption value"),
    "forged_supply": ShockSpec("forged_supply", {"fraction": "forged_supply"}, "adds unbacked units of a token"),
    "liquidity": ShockSpec("liquidity", {"depth_factor": "depth_factor"}, "scales a token's market depth"),
})


@dataclass(frozen=True)
class ScenarioShock:
    """One shock of a scenario.

    Attributes
    ----------
    type : str
        One of :data:`SHOCK_TYPES`.
    node : str
        The node shocked.
    field : str
        The size field given (``fraction``, ``amount``, ``change``, ``depth_factor``).
    value : float
        The size.
    index : int
        Position of the shock in its scenario (from 0), for messages.
    meta : Mapping
        ``note``, ``comment``, ``description``, ``source`` when given.
    """

    type: str
    node: str
    field: str
    value: float
    index: int = 0
    meta: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"type": self.type, "node": self.node, self.field: self.value, **dict(self.meta)}

    def __reduce__(self):
        # ``meta`` is read-only (a mapping proxy, which does not pickle): sent as a dict, frozen again
        return _rebuild_shock, (self.type, self.node, self.field, self.value, self.index, dict(self.meta))


def _rebuild_shock(type, node, field, value, index, meta) -> ScenarioShock:
    return ScenarioShock(type, node, field, value, index, MappingProxyType(meta))


@dataclass(frozen=True)
class Scenario:
    """A named set of shocks applied together.

    Build one with :func:`read_scenarios`, :func:`parse_scenarios` or
    :meth:`from_dict`; the constructor does no checking.

    Attributes
    ----------
    name : str
    description : str
    source : str or None
        Where the scenario's figures come from (a URL).
    shocks : tuple of ScenarioShock
    file : str or None
        The file it was read from (used in error messages).
    """

    name: str
    description: str = ""
    source: str | None = None
    shocks: tuple[ScenarioShock, ...] = ()
    file: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping, *, file: str | None = None, index: int = 0) -> "Scenario":
        """Build a scenario from its JSON object, checking every field.

        Raises
        ------
        InvalidShockError
            Listing every problem found, one per line.

        Examples
        --------
        >>> s = Scenario.from_dict({"name": "hack", "shocks": [
        ...     {"type": "asset_loss", "node": "kelp", "fraction": 0.5}]})
        >>> s.shocks[0].value
        0.5
        """
        problems: list[str] = []
        scenario = _parse_scenario(data, index, _prefix(file), problems)
        if problems:
            raise InvalidShockError("\n".join(problems))
        return replace(scenario, file=file)

    def _where(self, shock: ScenarioShock | None = None) -> str:
        head = f"{_prefix(self.file)}scenario {self.name!r}"
        return head if shock is None else f"{head}, shock {shock.index} ({shock.type})"

    def check(self, network) -> None:
        """Check every shock against ``network``: known nodes of the right kind, amounts in range.

        Raises
        ------
        InvalidShockError
            Listing every problem, each naming the file, the scenario and the shock.
        """
        problems = [f"{self._where(s)}: {msg}" for s in self.shocks
                    if (msg := shock_problem(network, s)) is not None]
        if problems:
            raise InvalidShockError("\n".join(problems))

    def to_market_shock(self, network):
        """The :class:`exposure.shocks.MarketShock` of this scenario on ``network``.

        Raises
        ------
        InvalidShockError
            An unknown node, a node of the wrong kind, an ``amount`` above the
            node's external assets; the message names the file, the scenario
            and the shock.
        """
        self.check(network)
        return MarketShock(**market_shock_fields(self.shocks))

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.source:
            out["source"] = self.source
        out["shocks"] = [s.to_dict() for s in self.shocks]
        return out


# ----------------------------------------------------------------------------- mapping
def market_shock_fields(shocks: Iterable[ScenarioShock]) -> dict[str, dict[str, float]]:
    """Group shocks into the keyword arguments of :class:`exposure.shocks.MarketShock`."""
    out: dict[str, dict[str, float]] = {name: {} for name in SHOCK_FIELDS}
    for s in shocks:
        out[SHOCK_TYPES[s.type].sizes[s.field]][s.node] = float(s.value)
    return out


# ----------------------------------------------------------------------------- eligibility
def _has_depth(network) -> np.ndarray:
    """Which nodes have a market ``depth``."""
    if "depth" not in network.nodes.columns:
        return np.zeros(network.n, bool)
    return network.nodes["depth"].notna().to_numpy()


def eligible_nodes(network, shock_type: str) -> list[str]:
    """Ids of the nodes a shock of ``shock_type`` can hit with a non-trivial effect.

    ``price``: base assets (kind ``asset``); ``depeg`` and ``forged_supply``:
    tokens (:meth:`~exposure.network.ExposureNetwork.is_token`); ``asset_loss``: nodes that own
    something (:meth:`~exposure.network.ExposureNetwork.owned_assets`); ``liquidity``: nodes with
    a market depth.
    """
    if shock_type not in SHOCK_TYPES:
        raise InvalidShockError(_unknown_type_message(shock_type))
    kinds = network.kinds
    if shock_type == "price":
        keep = kinds == "asset"
    elif shock_type in ("depeg", "forged_supply"):
        keep = network.is_token()
    elif shock_type == "liquidity":
        keep = _has_depth(network)
    else:
        keep = (network.owned_assets() > 0) & (kinds != "asset")
    return [str(x) for x in network.node_ids[np.flatnonzero(keep)]]


def shock_problem(network, s: ScenarioShock) -> str | None:
    """Why the shock ``s`` cannot apply to ``network`` (None when it can), as a sentence."""
    try:
        i = network.nodes.index.get_loc(s.node)
    except KeyError:
        near = difflib.get_close_matches(s.node, [str(x) for x in network.node_ids], n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        return f"unknown node {s.node!r}: no node of the graph has that id.{hint}"
    nodes = network.nodes
    kind = nodes["kind"].iat[i]
    if s.type == "price" and kind != "asset":
        return (f"node {s.node!r} is not a base asset (kind {kind!r}); a price shock moves the price of a node "
                "of kind 'asset' (use 'depeg' for a token).")
    if s.type == "asset_loss":
        if kind == "asset":
            return (f"node {s.node!r} is a base asset, which has no balance sheet; "
                    "use a 'price' shock to move its price.")
        e = float(network.owned_assets()[i]) if s.field == "amount" else 0.0
        if s.field == "amount" and s.value > e * (1 + 1e-12):
            return (f"the amount {s.value:.17g} exceeds the external assets and holdings of node {s.node!r} "
                    f"({e:.17g}); a node cannot lose more than it holds.")
    if s.type == "depeg" and not network.is_token()[i]:
        return f"node {s.node!r} is not a token (kind {kind!r}, no issuer); only a token can depeg."
    if s.type == "forged_supply" and not network.is_token()[i]:
        return (f"node {s.node!r} is not a token (kind {kind!r}, no issuer); forged supply dilutes the "
                "holders of a token.")
    if s.type == "liquidity" and not _has_depth(network)[i]:
        return (f"node {s.node!r} has no market depth ('depth' is not set), so there is no depth to scale.")
    return None


# ----------------------------------------------------------------------------- parsing
def _prefix(file: str | None) -> str:
    return f"{file}: " if file else ""


def _describe(v) -> str:
    if isinstance(v, bool):
        return f"the boolean {str(v).lower()}"
    if v is None:
        return "null"
    if isinstance(v, str):
        return f"the string {v!r}"
    if isinstance(v, (list, dict)):
        return "a list" if isinstance(v, list) else "an object"
    return repr(v)


def _unknown_type_message(t) -> str:
    near = difflib.get_close_matches(str(t), list(SHOCK_TYPES), n=1) if isinstance(t, str) else []
    hint = f" Did you mean {near[0]!r}?" if near else ""
    got = repr(t) if isinstance(t, str) else _describe(t)
    return f"unknown shock type {got}; expected one of {', '.join(SHOCK_TYPES)}.{hint}"


def _parse_shock(item, k: int, where: str, problems: list[str]) -> ScenarioShock | None:
    if not isinstance(item, dict):
        problems.append(f"{where}, shock {k}: a shock must be an object with 'type' and 'node'. "
                        f"Got {_describe(item)} instead.")
        return None
    t = item.get("type")
    here = f"{where}, shock {k} ({t})" if isinstance(t, str) else f"{where}, shock {k}"
    if "type" not in item:
        problems.append(f"{here}: field 'type' is required but missing; expected one of {', '.join(SHOCK_TYPES)}.")
        return None
    if t not in SHOCK_TYPES:
        problems.append(f"{here}: {_unknown_type_message(t)}")
        return None
    spec = SHOCK_TYPES[t]
    before = len(problems)
    node = item.get("node")
    if "node" not in item:
        problems.append(f"{here}: field 'node' is required but missing.")
    elif not isinstance(node, str) or not node.strip():
        problems.append(f"{here}: field 'node' must be a node id (a non-empty string). Got {_describe(node)} instead.")
    given = [f for f in spec.sizes if f in item]
    allowed = ("type", "node", *spec.sizes, *_META_FIELDS)
    for f in item:
        if f not in allowed:
            problems.append(f"{here}: unknown field {f!r}; a {t} shock has fields "
                            f"{', '.join(repr(x) for x in ('node', *spec.sizes))}.")
    if not given:
        sizes = " or ".join(repr(f) for f in spec.sizes)
        problems.append(f"{here}: field {sizes} is required but missing.")
    elif len(given) > 1:
        problems.append(f"{here}: give one of the fields {' or '.join(repr(f) for f in given)}, not both.")
    value = math.nan
    if len(given) == 1:
        fld = given[0]
        v = item[fld]
        ok_type = isinstance(v, (int, float)) and not isinstance(v, bool)
        if not ok_type or not spec.in_range(fld, float(v)):
            got = _describe(v) if not ok_type else repr(v) if not isinstance(v, float) or math.isfinite(v) else str(v)
            problems.append(f"{here}: field {fld!r} must be {spec.describe_range(fld)}. Got {got} instead.")
        else:
            value = float(v)
    if len(problems) > before:
        return None
    meta = {f: item[f] for f in _META_FIELDS if f in item}
    return ScenarioShock(t, node, given[0], value, k, MappingProxyType(meta))


def _parse_scenario(data, index: int, prefix: str, problems: list[str]) -> Scenario:
    if not isinstance(data, dict):
        problems.append(f"{prefix}scenario {index}: a scenario must be an object with 'name' and 'shocks'. "
                        f"Got {_describe(data)} instead.")
        return Scenario(name=f"#{index}")
    name = data.get("name")
    if "name" not in data:
        problems.append(f"{prefix}scenario {index}: field 'name' is required but missing.")
        name = f"#{index}"
    elif not isinstance(name, str) or not name.strip():
        problems.append(f"{prefix}scenario {index}: field 'name' must be a non-empty string. "
                        f"Got {_describe(name)} instead.")
        name = f"#{index}"
    where = f"{prefix}scenario {name!r}"
    for fld in ("description", "source"):
        v = data.get(fld)
        if v is not None and not isinstance(v, str):
            problems.append(f"{where}: field {fld!r} must be a string. Got {_describe(v)} instead.")
    for f in data:
        if f not in ("name", "description", "source", "shocks", "note", "comment"):
            problems.append(f"{where}: unknown field {f!r}; a scenario has fields 'name', 'description', "
                            "'source', 'shocks'.")
    raw = data.get("shocks")
    shocks: list[ScenarioShock] = []
    if "shocks" not in data:
        problems.append(f"{where}: field 'shocks' is required but missing.")
    elif not isinstance(raw, list):
        problems.append(f"{where}: field 'shocks' must be a list of shocks. Got {_describe(raw)} instead.")
    else:
        seen: dict[tuple[str, str], int] = {}
        for k, item in enumerate(raw):
            s = _parse_shock(item, k, where, problems)
            if s is None:
                continue
            key = (s.type, s.node)
            if key in seen:
                problems.append(f"{where}, shock {k} ({s.type}): node {s.node!r} already has a shock of this type "
                                f"(shock {seen[key]}); give one {s.type} shock per node.")
                continue
            seen[key] = k
            shocks.append(s)
    desc = data.get("description")
    src = data.get("source")
    return Scenario(name=name, description=desc if isinstance(desc, str) else "",
                    source=src if isinstance(src, str) else None, shocks=tuple(shocks))


def parse_scenarios(data, *, file: str | None = None) -> list[Scenario]:
    """Check a loaded scenario document and return its scenarios in file order.

    Parameters
    ----------
    data : dict
        The JSON document (see the module docstring).
    file : str, optional
        Name used in error messages.

    Raises
    ------
    InvalidShockError
        Every problem of the document, one per line, each naming the file,
        the scenario and the shock.
    """
    prefix = _prefix(file)
    problems: list[str] = []
    if not isinstance(data, dict):
        raise InvalidShockError(f"{prefix}a scenario file must be a JSON object with 'format', 'version' "
                                f"and 'scenarios'. Got {_describe(data)} instead.")
    fmt = data.get("format")
    if fmt != SCENARIO_FORMAT:
        got = "it is missing" if "format" not in data else f"got {_describe(fmt)} instead"
        problems.append(f"{prefix}field 'format' must be {SCENARIO_FORMAT!r}; {got}.")
    version = data.get("version")
    if version != SCENARIO_VERSION or isinstance(version, bool):
        got = "it is missing" if "version" not in data else f"got {_describe(version)} instead"
        problems.append(f"{prefix}field 'version' must be {SCENARIO_VERSION} (the version this reader knows); {got}.")
    raw = data.get("scenarios")
    scenarios: list[Scenario] = []
    if not isinstance(raw, list) or not raw:
        got = "it is missing" if "scenarios" not in data else f"got {_describe(raw)} instead"
        problems.append(f"{prefix}field 'scenarios' must be a non-empty list of scenarios; {got}.")
    else:
        names: dict[str, int] = {}
        for k, item in enumerate(raw):
            before = len(problems)
            s = _parse_scenario(item, k, prefix, problems)
            if s.name in names and not s.name.startswith("#"):
                problems.append(f"{prefix}scenario {k}: the name {s.name!r} is already used by scenario "
                                f"{names[s.name]}; scenario names must be unique.")
            names.setdefault(s.name, k)
            if len(problems) == before:
                scenarios.append(Scenario(s.name, s.description, s.source, s.shocks, file))
    if problems:
        raise InvalidShockError("\n".join(problems))
    return scenarios


def read_scenarios(path) -> list[Scenario]:
    """Read a scenario file (format ``exposure-scenario``, version 1).

    Parameters
    ----------
    path : str or os.PathLike
        A JSON file; ``"-"`` reads standard input.

    Returns
    -------
    list of Scenario
        In file order.

    Raises
    ------
    InvalidShockError
        The file cannot be read or parsed, or any scenario or shock is
        invalid; every problem is listed, each naming the file, the scenario
        and the shock, e.g. ``scenarios.json: scenario 'kelp', shock 3
        (forged_supply): field 'fraction' must be a finite number ≥ 0. Got -0.1 instead.``
    """
    name = "<stdin>" if str(path) == "-" else os.fspath(path)
    try:
        if str(path) == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise InvalidShockError(f"{name}: cannot read the scenario file: {reason}") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidShockError(f"{name}: line {err.lineno}, column {err.colno}: not valid JSON: {err.msg}") from err
    return parse_scenarios(data, file=name)


def select_scenarios(scenarios: list[Scenario], names: Iterable[str] | None) -> list[Scenario]:
    """The scenarios called ``names`` (in the order asked), or all when ``names`` is empty.

    Raises
    ------
    InvalidShockError
        A name that no scenario has; the message lists the names available.
    """
    names = list(names or ())
    if not names:
        return list(scenarios)
    by_name = {s.name: s for s in scenarios}
    out = []
    for n in names:
        if n not in by_name:
            file = scenarios[0].file if scenarios else None
            near = difflib.get_close_matches(n, list(by_name), n=1)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise InvalidShockError(f"{_prefix(file)}no scenario named {n!r}.{hint} Scenarios in the file: "
                                    f"{', '.join(by_name)}.")
        if by_name[n] not in out:
            out.append(by_name[n])
    return out
