"""Stress runs over named scenarios, and reverse stress: the smallest shock that breaks a target.

Stress runs
-----------
:func:`run_scenarios` solves the joint fixed point of clearing, liquidations
and fire sales (:func:`exposure.mechanics.solve_system`) once per scenario and
collects three tables:

* summary, one row per scenario: ``scenario, total_loss, bad_debt, liquidated,
  n_defaults, external_creditor_loss, rounds, converged``;
* nodes: ``scenario, node, kind, equity_before, equity_after, loss, bad_debt,
  liquidated, defaulted, default_round``;
* tokens: ``scenario, token, price_before, price_after, redemption_value, liquidated``.

Reverse stress
--------------
For a shock type ``T`` on a node ``v``, let ``s ∈ [0, S]`` be the size of the
shock (the fall of a price for ``price`` and ``depeg``: ``change = −s``; the
fraction for ``asset_loss`` and ``forged_supply``) and ``y(s)`` a summary
metric of the solved system (``bad_debt``, ``total_loss``, ``n_defaults`` or
``external_creditor_loss``). Losses, bad debt and defaults do not decrease
when a shock grows, so the set of sizes that breach a target ``y(s) > c`` is an
interval ``(s*, S]`` (or ``[s*, S]``). :func:`reverse_stress` finds ``s*`` by
bisection:

1. ``y(0)`` (one solve shared by every node): if it already breaches, ``s* = 0``;
2. ``y(S)``: if it does not breach, no shock of this type on ``v`` breaks the
   target (``breaking_shock`` is null, and ``v`` is ranked last);
3. otherwise keep ``lo`` (does not breach) and ``hi`` (breaches), halve
   ``[lo, hi]`` until ``hi − lo ≤ precision · S``, and report ``hi``: the
   smallest size known to breach, within ``precision · S`` of ``s*``. This
   takes ``⌈log2(1 / precision)⌉`` solves (14 at the default 1e-4).

With ``scan = N > 0``, the sizes ``S·k/N`` are evaluated first in increasing
order and the bisection runs inside the first cell that breaches, which finds
the smallest breaching cell even where the response is not monotone (a price
fall of an asset that is also borrowed lowers that debt). Nodes are ranked by
breaking shock, smallest (most fragile) first.

References
----------
.. [1] Eisenberg, L. and Noe, T. H. (2001). Systemic risk in financial systems.
   *Management Science* 47(2):236–249. https://doi.org/10.1287/mnsc.47.2.236.9835
.. [2] Grigat, D. and Caccioli, F. (2017). Reverse stress testing interbank networks.
   *Scientific Reports* 7:15616. https://doi.org/10.1038/s41598-017-15668-7
"""

from __future__ import annotations

import math
import multiprocessing
import os
import re
import time
import warnings
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..exceptions import ConvergenceWarning, InvalidShockError
from ..defi import MarketShock, solve_system
from ..io.scenarios import Scenario, ScenarioShock, eligible_nodes, market_shock_fields, shock_problem

__all__ = [
    "SUMMARY_COLUMNS", "NODE_COLUMNS", "TOKEN_COLUMNS", "REVERSE_COLUMNS", "TARGET_METRICS", "REVERSE_SHOCKS",
    "StressResult", "run_scenarios", "Target", "parse_target", "ReverseStressResult", "reverse_stress",
    "bisect_breaking_shock",
]

SUMMARY_COLUMNS = ("scenario", "total_loss", "bad_debt", "liquidated", "n_defaults", "external_creditor_loss",
                   "rounds", "converged")
NODE_COLUMNS = ("scenario", "node", "kind", "equity_before", "equity_after", "loss", "bad_debt", "liquidated",
                "defaulted", "default_round")
TOKEN_COLUMNS = ("scenario", "token", "price_before", "price_after", "redemption_value", "liquidated")
REVERSE_COLUMNS = ("node", "shock_type", "breaking_shock", "target", "value_at_breaking_shock")

#: Metrics a reverse-stress target may be set on (keys of the solved system's summary).
TARGET_METRICS = ("bad_debt", "total_loss", "n_defaults", "external_creditor_loss")


@dataclass(frozen=True)
class _ReverseShock:
    """How a size ``s ≥ 0`` becomes a scenario shock: ``field = sign · s``, ``s ≤ max_shock``."""

    field: str
    sign: float
    max_shock: float


#: Shock types reverse stress searches over, with the size field and the default largest size.
#: ``forged_supply`` is searched up to 10 (ten unbacked units per backed one: redemption value ÷ 11).
REVERSE_SHOCKS: Mapping[str, _ReverseShock] = MappingProxyType({
    "price": _ReverseShock("change", -1.0, 1.0),
    "depeg": _ReverseShock("change", -1.0, 1.0),
    "asset_loss": _ReverseShock("fraction", 1.0, 1.0),
    "forged_supply": _ReverseShock("fraction", 1.0, 10.0),
})


# =============================================================================== stress runs
def _summary_row(name: str, summary: Mapping[str, Any]) -> dict:
    return {"scenario": name, **{c: summary[c] for c in SUMMARY_COLUMNS[1:]}}


def _tagged(name: str, frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    out = frame.copy()
    out.insert(0, "scenario", name)
    return out[list(columns)]


@dataclass(frozen=True, eq=False)
class StressResult:
    """The solved system of each scenario.

    Attributes
    ----------
    scenarios : tuple of Scenario
    results : tuple of exposure.mechanics.SystemResult
        One per scenario, same order.
    alpha, beta : float
        Recovery rates of the clearing (Rogers–Veraart; 1, 1 = Eisenberg–Noe).
    """

    scenarios: tuple[Scenario, ...]
    results: tuple
    alpha: float = 1.0
    beta: float = 1.0

    @property
    def converged(self) -> bool:
        """True when every scenario's fixed point converged."""
        return all(bool(r.summary()["converged"]) for r in self.results)

    def summary_frame(self) -> pd.DataFrame:
        """One row per scenario: :data:`SUMMARY_COLUMNS`."""
        rows = [_summary_row(s.name, r.summary()) for s, r in zip(self.scenarios, self.results)]
        return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))

    def nodes_frame(self) -> pd.DataFrame:
        """One row per scenario and node: :data:`NODE_COLUMNS`."""
        parts = [_tagged(s.name, r.nodes_frame(), NODE_COLUMNS) for s, r in zip(self.scenarios, self.results)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(NODE_COLUMNS))

    def tokens_frame(self) -> pd.DataFrame:
        """One row per scenario and token: :data:`TOKEN_COLUMNS`."""
        parts = [_tagged(s.name, r.tokens_frame(), TOKEN_COLUMNS) for s, r in zip(self.scenarios, self.results)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(TOKEN_COLUMNS))

    def to_frame(self, detail: str = "summary") -> pd.DataFrame:
        """The table asked for: ``summary``, ``nodes`` or ``tokens``."""
        frames = {"summary": self.summary_frame, "nodes": self.nodes_frame, "tokens": self.tokens_frame}
        if detail not in frames:
            raise ValueError(f"The 'detail' parameter of StressResult.to_frame must be one of "
                             f"{', '.join(frames)}. Got {detail!r} instead.")
        return frames[detail]()

    def to_dict(self) -> dict:
        """Everything, for JSON: ``{"alpha", "beta", "scenarios": [{"name", ..., "summary", "nodes", "tokens",
        "positions", "rounds"}]}`` (the per-scenario ``summary`` holds every key of the solved system's summary)."""
        out = []
        for s, r in zip(self.scenarios, self.results):
            out.append({
                "name": s.name, "description": s.description, "source": s.source,
                "shocks": [x.to_dict() for x in s.shocks],
                "summary": dict(r.summary()),
                "nodes": r.nodes_frame(),
                "tokens": r.tokens_frame(),
                "positions": r.positions_frame(),
                "rounds": r.rounds_frame(),
            })
        return {"alpha": self.alpha, "beta": self.beta, "scenarios": out}


def run_scenarios(network, scenarios: Iterable[Scenario], alpha: float = 1.0, beta: float = 1.0, *,
                  tol: float = 1e-9, max_iter: int = 1000, strict: bool = False) -> StressResult:
    """Solve the cross-collateral system under each scenario.

    Parameters
    ----------
    network : ExposureNetwork
        Usually format version 2 (holdings, secured positions, tokens with
        issuers); a version-1 network is solved by the clearing engine alone.
    scenarios : iterable of Scenario
        From :func:`exposure.scenarios.read_scenarios`.
    alpha, beta : float
        Recovery rates of external and interbank assets in default
        (Rogers–Veraart); ``alpha = beta = 1`` is Eisenberg–Noe.
    tol, max_iter, strict
        Passed to :func:`exposure.mechanics.solve_system`. Under ``strict``, the
        first scenario that does not converge raises :class:`ConvergenceError`.

    Returns
    -------
    StressResult

    Raises
    ------
    InvalidShockError
        A shock does not fit the network (unknown node, wrong kind); every
        scenario is checked before any is solved.
    """
    scenarios = tuple(scenarios)
    problems = []
    for s in scenarios:
        try:
            s.check(network)
        except InvalidShockError as err:
            problems.append(str(err))
    if problems:
        raise InvalidShockError("\n".join(problems))
    results = tuple(
        solve_system(network, MarketShock(**market_shock_fields(s.shocks)), alpha=alpha, beta=beta, tol=tol,
                     max_iter=max_iter, strict=strict)
        for s in scenarios)
    return StressResult(scenarios, results, float(alpha), float(beta))


# =============================================================================== targets
_TARGET = re.compile(r"^\s*([A-Za-z_]+)\s*(>=|≥|>)\s*([-+0-9.eE_]+|inf)\s*$")


@dataclass(frozen=True)
class Target:
    """A threshold on a summary metric: breached when ``metric > threshold`` (or ``>=``).

    Examples
    --------
    >>> t = parse_target("bad_debt>1e8")
    >>> t.metric, t.op, t.threshold, t.breached(2e8), t.breached(1e8), str(t)
    ('bad_debt', '>', 100000000.0, True, False, 'bad_debt>1e+08')
    """

    metric: str
    op: str
    threshold: float

    def breached(self, value: float) -> bool:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        return value >= self.threshold if self.op == ">=" else value > self.threshold

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.threshold:g}"


def parse_target(text: str | Target) -> Target:
    """Parse ``METRIC>VALUE`` or ``METRIC>=VALUE`` (METRIC in :data:`TARGET_METRICS`).

    Raises
    ------
    InvalidShockError
        Anything else, with the form expected.
    """
    if isinstance(text, Target):
        return text
    m = _TARGET.match(str(text))
    expected = (f"The target must be written METRIC>VALUE or METRIC>=VALUE with METRIC one of "
                f"{', '.join(TARGET_METRICS)}. Got {str(text)!r} instead.")
    if not m:
        raise InvalidShockError(expected)
    metric, op, value = m.groups()
    if metric not in TARGET_METRICS:
        raise InvalidShockError(f"Unknown target metric {metric!r}; expected one of {', '.join(TARGET_METRICS)}.")
    try:
        threshold = float(value.replace("_", ""))
    except ValueError:
        raise InvalidShockError(expected) from None
    if not math.isfinite(threshold):
        raise InvalidShockError(f"The threshold of the target must be a finite number. Got {value!r} instead.")
    return Target(metric, ">=" if op in (">=", "≥") else ">", threshold)


# =============================================================================== bisection
@dataclass(frozen=True)
class Breaking:
    """Result of the search on one node: see :func:`bisect_breaking_shock`."""

    breaking_shock: float | None
    value_at_breaking_shock: float | None
    value_at_max_shock: float | None
    evaluations: int


def bisect_breaking_shock(evaluate: Callable[[float], float], breached: Callable[[float], bool],
                          max_shock: float, precision: float = 1e-4, *, scan: int = 0,
                          value_at_zero: float | None = None) -> Breaking:
    """The smallest ``s`` in ``[0, max_shock]`` with ``breached(evaluate(s))``, for a monotone response.

    Parameters
    ----------
    evaluate : callable
        ``s ↦ y(s)``, non-decreasing in ``s``.
    breached : callable
        ``y ↦ bool``, true above a threshold.
    max_shock : float
        ``S``, the largest size searched.
    precision : float
        Stop when the bracket is at most ``precision · S`` wide.
    scan : int
        Evaluate ``S·k/scan`` for k = 1, 2, … first and bisect inside the first
        cell that breaches (0: no scan, plain bisection on ``[0, S]``).
    value_at_zero : float, optional
        ``y(0)`` if already known (it is evaluated otherwise).

    Returns
    -------
    Breaking
        ``breaking_shock`` is the smallest size found to breach (``hi`` of the
        final bracket, within ``precision · S`` of the true threshold), or None
        when ``y(S)`` does not breach.

    Examples
    --------
    ``y(s) = 100 s`` breaches ``y > 25`` above ``s* = 0.25``; ``y(0)``, ``y(1)``
    and 10 halvings (``2^-10 < 1e-3``):

    >>> b = bisect_breaking_shock(lambda s: 100 * s, lambda y: y > 25, 1.0, 1e-3)
    >>> 0.25 < b.breaking_shock <= 0.251, b.evaluations
    (True, 12)
    """
    n = 0
    if value_at_zero is None:
        value_at_zero = evaluate(0.0)
        n += 1
    if breached(value_at_zero):
        return Breaking(0.0, value_at_zero, None, n)
    width = precision * max_shock
    lo = 0.0
    if scan > 0:
        hi = v_hi = v_max = None
        for k in range(1, scan + 1):
            s = max_shock * k / scan
            v = evaluate(s)
            n += 1
            if breached(v):
                hi, v_hi = s, v
                break
            lo = s
        if k == scan:
            v_max = v
        if hi is None:
            return Breaking(None, None, v_max, n)
    else:
        v_max = evaluate(max_shock)
        n += 1
        if not breached(v_max):
            return Breaking(None, None, v_max, n)
        hi, v_hi = max_shock, v_max
    while hi - lo > width:
        mid = 0.5 * (lo + hi)
        v = evaluate(mid)
        n += 1
        if breached(v):
            hi, v_hi = mid, v
        else:
            lo = mid
    return Breaking(hi, v_hi, v_max, n)


# =============================================================================== reverse stress
@dataclass(frozen=True, eq=False)
class ReverseStressResult:
    """Smallest breaking shocks, most fragile node first.

    Attributes
    ----------
    shock_type : str
    target : Target
    precision : float
        Relative to ``max_shock``: each breaking shock is within ``precision · max_shock`` above the threshold.
    max_shock : float
    value_at_zero : float
        The target metric with no shock at all (or under the base scenario).
    table : pandas.DataFrame
        :data:`REVERSE_COLUMNS` then ``rank``, ``value_at_max_shock``,
        ``evaluations`` (solves), ``converged`` (every solve converged);
        ``breaking_shock`` is NaN where even ``max_shock`` does not breach.
    converged : bool
        Every solve of the search converged.
    base : str or None
        Name of the base scenario the searched shock was added to.
    """

    shock_type: str
    target: Target
    precision: float
    max_shock: float
    value_at_zero: float
    table: pd.DataFrame
    converged: bool = True
    base: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """The table with the agreed columns: :data:`REVERSE_COLUMNS`."""
        return self.table[list(REVERSE_COLUMNS)].copy()

    def to_dict(self) -> dict:
        return {"shock_type": self.shock_type, "target": str(self.target), "precision": self.precision,
                "max_shock": self.max_shock, "base": self.base, "value_at_zero": self.value_at_zero,
                "converged": self.converged, "nodes": self.table}


class _Response:
    """``s ↦ metric`` of the system with a shock of size ``s`` on one node."""

    def __init__(self, network, shock_type: str, metric: str, options: Mapping[str, Any],
                 base: tuple[ScenarioShock, ...] = ()):
        self.network = network
        self.base = tuple(base)
        self.spec = REVERSE_SHOCKS[shock_type]
        self.shock_type = shock_type
        self.metric = metric
        self.options = dict(options)
        self.converged = True

    def __call__(self, node: str | None, s: float) -> float:
        shocks = self.base if node is None or s == 0 else self.base + (
            ScenarioShock(self.shock_type, node, self.spec.field, self.spec.sign * s),)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            res = solve_system(self.network, MarketShock(**market_shock_fields(shocks)), **self.options)
        summary = res.summary()
        if not summary["converged"] or any(issubclass(w.category, ConvergenceWarning) for w in caught):
            self.converged = False
        return float(summary[self.metric])


def _search_node(response: _Response, node: str, target: Target, max_shock: float, precision: float,
                 scan: int, value_at_zero: float) -> dict:
    response.converged = True
    b = bisect_breaking_shock(lambda s: response(node, s), target.breached, max_shock, precision, scan=scan,
                              value_at_zero=value_at_zero)
    return {"node": node, "shock_type": response.shock_type,
            "breaking_shock": np.nan if b.breaking_shock is None else b.breaking_shock,
            "target": str(target),
            "value_at_breaking_shock": np.nan if b.value_at_breaking_shock is None else b.value_at_breaking_shock,
            "value_at_max_shock": np.nan if b.value_at_max_shock is None else b.value_at_max_shock,
            "evaluations": b.evaluations, "converged": response.converged}


#: With ``n_jobs=None``, search in two processes when one process is expected to take longer than this.
AUTO_PARALLEL_SECONDS = 2.0

def _auto_jobs(estimate: float) -> int:
    """Two processes when the search is long (forking costs ~0.1 s) and a core is idle, else one.

    On a machine whose cores are already busy (load average ≥ cores − 1), a second
    process only competes for them: measured 0.5× the speed of one at load 4.5 on 2 cores.
    """
    cores = os.cpu_count() or 1
    idle = cores - os.getloadavg()[0] if hasattr(os, "getloadavg") else cores
    return 2 if cores >= 2 and estimate > AUTO_PARALLEL_SECONDS and idle >= 1 else 1


#: State of a reverse-stress run handed to forked worker processes (networks are not pickled).
_WORKER: dict[str, Any] = {}


def _worker(node: str) -> dict:
    w = _WORKER
    return _search_node(w["response"], node, w["target"], w["max_shock"], w["precision"], w["scan"],
                        w["value_at_zero"])


def reverse_stress(network, shock_type: str, node: str | Iterable[str] = "all", target: str | Target = "bad_debt>0",
                   *, precision: float = 1e-4, max_shock: float | None = None, scan: int = 0,
                   base: Scenario | None = None, alpha: float = 1.0, beta: float = 1.0, tol: float = 1e-9,
                   max_iter: int = 1000, n_jobs: int | None = 1) -> ReverseStressResult:
    """The smallest shock of one type that breaches a target, per node, by bisection.

    Parameters
    ----------
    network : ExposureNetwork
    shock_type : {"price", "depeg", "asset_loss", "forged_supply"}
        The size ``s`` is the fall of the price (``change = −s``) for ``price``
        and ``depeg``, the fraction for ``asset_loss`` and ``forged_supply``.
    node : str or iterable of str
        A node id, several, or ``"all"``: every eligible node
        (:func:`exposure.scenarios.eligible_nodes`: base assets for ``price``,
        tokens for ``depeg`` and ``forged_supply``, nodes that own something
        for ``asset_loss``).
    target : str or Target
        ``"bad_debt>1e8"``: a metric of :data:`TARGET_METRICS`, ``>`` or ``>=``, a number.
    precision : float
        Bracket width at which the bisection stops, as a fraction of
        ``max_shock`` (default 1e-4).
    max_shock : float, optional
        Largest size searched; default 1 (a price or a depeg to zero, the loss
        of all external assets) and 10 for ``forged_supply``.
    scan : int
        Coarse grid of ``scan`` sizes evaluated before bisecting (see the
        module docstring); 0 for a plain bisection.
    base : Scenario, optional
        A scenario already in force: the search adds its shock to the base's
        shocks, and ``value_at_zero`` is the base scenario's value. A node the
        base already shocks with the same type is left out of ``"all"`` (and
        is an error when named).
    alpha, beta, tol, max_iter
        Passed to :func:`exposure.mechanics.solve_system`.
    n_jobs : int or None
        Worker processes for several nodes (each searches whole nodes; forked,
        so the network is shared, not copied); 1 runs in this process. None:
        two processes when the search is expected to take more than
        :data:`AUTO_PARALLEL_SECONDS` (estimated from the unshocked solve)
        and a core is idle, else one. On two cores, two processes take 0.6–0.8
        of the time of one while the machine is otherwise quiet, and are slower
        when other jobs hold the cores (``benchmarks/bench_stress.py``).

    Returns
    -------
    ReverseStressResult
        Rows sorted by breaking shock, smallest first; nodes that do not breach
        at ``max_shock`` last.

    Raises
    ------
    InvalidShockError
        Unknown shock type, metric or node; a node that is not eligible.
    """
    if shock_type not in REVERSE_SHOCKS:
        raise InvalidShockError(f"The shock type of a reverse stress must be one of {', '.join(REVERSE_SHOCKS)}. "
                                f"Got {shock_type!r} instead.")
    target = parse_target(target)
    if not (0.0 < precision < 1.0):
        raise InvalidShockError(f"The precision must be a number in (0, 1). Got {precision!r} instead.")
    spec = REVERSE_SHOCKS[shock_type]
    max_shock = spec.max_shock if max_shock is None else float(max_shock)
    top = 1.0 if shock_type != "forged_supply" else math.inf
    if not (0.0 < max_shock <= top) or not math.isfinite(max_shock):
        rng = "(0, 1]" if top == 1.0 else "(0, ∞)"
        raise InvalidShockError(f"The largest {shock_type} shock must be a number in {rng}. "
                                f"Got {max_shock!r} instead.")
    eligible = eligible_nodes(network, shock_type)
    base_shocks = ()
    taken: set[str] = set()
    if base is not None:
        base.check(network)
        base_shocks = tuple(base.shocks)
        taken = {x.node for x in base_shocks if x.type == shock_type}
    if isinstance(node, str) and node == "all":
        nodes = [v for v in eligible if v not in taken]
    else:
        nodes = [node] if isinstance(node, str) else list(dict.fromkeys(node))
        for v in nodes:
            problem = shock_problem(network, ScenarioShock(shock_type, v, spec.field, spec.sign * max_shock))
            if problem:
                raise InvalidShockError(f"Reverse stress on node {v!r}: {problem}")
            if v not in eligible:
                raise InvalidShockError(f"Node {v!r} owns nothing (no external assets, no holdings), so an "
                                       f"{shock_type} shock cannot touch it.")
            if v in taken:
                raise InvalidShockError(f"Node {v!r} already has a {shock_type} shock in scenario {base.name!r}; "
                                        "the search cannot add another.")
    response = _Response(network, shock_type, target.metric,
                         {"alpha": alpha, "beta": beta, "tol": tol, "max_iter": max_iter}, base_shocks)
    started = time.perf_counter()
    value_at_zero = response(None, 0.0)
    one_solve = time.perf_counter() - started
    converged0 = response.converged
    if n_jobs is None:
        n_jobs = _auto_jobs(one_solve * (2 + math.log2(1 / precision) + scan) * len(nodes))
    if n_jobs > 1 and len(nodes) > 1:
        _WORKER.update(response=response, target=target, max_shock=max_shock, precision=precision, scan=scan,
                       value_at_zero=value_at_zero)
        try:
            with multiprocessing.get_context("fork").Pool(min(n_jobs, len(nodes))) as pool:
                rows = pool.map(_worker, nodes, chunksize=1)
        finally:
            _WORKER.clear()
    else:
        rows = [_search_node(response, v, target, max_shock, precision, scan, value_at_zero) for v in nodes]
    table = pd.DataFrame(rows, columns=[*REVERSE_COLUMNS, "value_at_max_shock", "evaluations", "converged"])
    table = table.astype({"breaking_shock": np.float64, "value_at_breaking_shock": np.float64,
                          "value_at_max_shock": np.float64, "evaluations": np.int64, "converged": bool})
    order = np.lexsort((np.arange(len(table)), -table["value_at_breaking_shock"].fillna(-np.inf).to_numpy(),
                        table["breaking_shock"].fillna(np.inf).to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    table.insert(len(REVERSE_COLUMNS), "rank", np.where(table["breaking_shock"].notna(),
                                                         np.arange(1, len(table) + 1), 0))
    table["rank"] = table["rank"].where(table["rank"] > 0, pd.NA).astype("Int64")
    converged = bool(converged0 and table["converged"].all())
    if not converged:
        warnings.warn("reverse stress: some solves of the system did not converge; their rows say "
                      "converged=False.", ConvergenceWarning, stacklevel=2)
    return ReverseStressResult(shock_type, target, float(precision), max_shock, value_at_zero, table, converged,
                               None if base is None else base.name)
