"""Reverse stress: the smallest shock of one type that breaks a target (see :mod:`exposure.stress`)."""

from __future__ import annotations

import copy
import math
import re
import warnings
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from .._params import check_choice, check_number
from .._progress import Progress
from .._results import Result, report
from ..executor import Executor, executor_for
from ..defi import MarketShock, solve_system
from ..exceptions import ConvergenceWarning, InvalidParameterError, InvalidShockError
from ..io.scenarios import Scenario, ScenarioShock, eligible_nodes, market_shock_fields, shock_problem

__all__ = ["REVERSE_COLUMNS", "TARGET_METRICS", "REVERSE_SHOCKS", "Target", "parse_target", "Breaking",
           "bisect_breaking_shock", "ReverseStressResult", "reverse_stress"]

REVERSE_COLUMNS = ("node", "shock_type", "breaking_shock", "target", "value_at_breaking_shock")

#: Metrics a reverse-stress target may be set on (keys of the solved system's summary).
TARGET_METRICS = ("bad_debt", "total_loss", "n_defaults", "external_creditor_loss", "n_impaired", "buffer_used")


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
class ReverseStressResult(Result):
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
    status : int
        0 when every solve converged, else the largest status of those that did not
        (:data:`exposure._results.STATUS`).
    message : str
    """

    shock_type: str
    target: Target
    precision: float
    max_shock: float
    value_at_zero: float
    table: pd.DataFrame
    converged: bool = True
    base: str | None = None
    status: int = 0
    message: str = "every solve of the search converged"

    def summary(self) -> dict[str, Any]:
        """The search (shock type, target, precision, range), how many nodes breach, and the record."""
        return {"shock_type": self.shock_type, "target": str(self.target), "precision": self.precision,
                "max_shock": self.max_shock, "base": self.base, "value_at_zero": self.value_at_zero,
                "nodes": len(self.table), "breaking": int(self.table["breaking_shock"].notna().sum()),
                **self._record()}

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
        self.status = 0

    def __call__(self, node: str | None, s: float) -> float:
        shocks = self.base if node is None or s == 0 else self.base + (
            ScenarioShock(self.shock_type, node, self.spec.field, self.spec.sign * s),)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            res = solve_system(self.network, MarketShock(**market_shock_fields(shocks)), **self.options)
        summary = res.summary()
        if not res.converged or any(issubclass(w.category, ConvergenceWarning) for w in caught):
            self.converged = False
            self.status = max(self.status, int(res.status) or 1)
        return float(summary[self.metric])


def _search_node(response: _Response, node: str, target: Target, max_shock: float, precision: float,
                 scan: int, value_at_zero: float) -> dict:
    response = copy.copy(response)          # its own convergence record; the network is shared
    response.converged, response.status = True, 0
    b = bisect_breaking_shock(lambda s: response(node, s), target.breached, max_shock, precision, scan=scan,
                              value_at_zero=value_at_zero)
    return {"node": node, "shock_type": response.shock_type,
            "breaking_shock": np.nan if b.breaking_shock is None else b.breaking_shock,
            "target": str(target),
            "value_at_breaking_shock": np.nan if b.value_at_breaking_shock is None else b.value_at_breaking_shock,
            "value_at_max_shock": np.nan if b.value_at_max_shock is None else b.value_at_max_shock,
            "evaluations": b.evaluations, "converged": response.converged, "status": response.status}


#: Chunks of nodes per worker of a cluster (each chunk is one task; the nodes differ in cost).
NODE_CHUNKS_PER_WORKER = 8


def _search_chunk(shared: Mapping[str, Any], nodes: list[str]) -> list[dict]:
    """The rows of a chunk of nodes (run by :meth:`exposure.executor.Executor.map`, on a worker or here)."""
    return [_search_node(shared["response"], v, shared["target"], shared["max_shock"], shared["precision"],
                         shared["scan"], shared["value_at_zero"]) for v in nodes]


_NOT_GIVEN = object()


def _deprecated_jobs(n_jobs, workers):
    """``workers`` from the deprecated ``n_jobs``: more than 1 is that many workers, else in process."""
    warnings.warn("The n_jobs parameter of reverse_stress is deprecated; use workers=N (N worker processes "
                  "of a local Dask cluster) or scheduler=ADDRESS instead.", DeprecationWarning, stacklevel=3)
    if workers is not None:
        raise InvalidParameterError(f"Give reverse_stress workers or the deprecated n_jobs, not both. Got "
                                f"workers={workers!r} and n_jobs={n_jobs!r} instead.")
    if n_jobs is None:
        return None
    n_jobs = check_number(n_jobs, "n_jobs", "reverse_stress", lo=1, integer=True)
    return n_jobs if n_jobs > 1 else None


def reverse_stress(network, shock_type: str, node: str | Iterable[str] = "all", target: str | Target = "bad_debt>0",
                   *, precision: float = 1e-4, max_shock: float | None = None, scan: int = 0,
                   base: Scenario | None = None, alpha: float = 1.0, beta: float = 1.0, tol: float = 1e-9,
                   max_iter: int = 1000, workers: int | None = None, scheduler: str | None = None,
                   executor: Executor | None = None, strict: bool = False, n_jobs=_NOT_GIVEN
                   ) -> ReverseStressResult:
    """The smallest shock of one type that breaches a target, per node, by bisection.

    Parameters
    ----------
    network : ExposureNetwork
    shock_type : {"price", "depeg", "asset_loss", "forged_supply"}
        The size ``s`` is the fall of the price (``change = −s``) for ``price``
        and ``depeg``, the fraction for ``asset_loss`` and ``forged_supply``.
    node : str or iterable of str
        A node id, several, or ``"all"``: every eligible node
        (:func:`exposure.io.scenarios.eligible_nodes`: base assets for ``price``,
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
        Passed to :func:`exposure.defi.solve_system`.
    workers : int, optional
        Search on a local Dask cluster of this many worker processes
        (:class:`exposure.executor.Executor`); each worker searches whole nodes.
    scheduler : str, optional
        Search on the workers of a running Dask scheduler (``tcp://host:8786``).
    executor : Executor, optional
        An executor already started (left open), instead of ``workers`` or ``scheduler``.
        With none of the three the search runs in this process. The network is sent to each
        worker once; every node's search is the same computation wherever it runs, so the
        table is identical in every mode.
    n_jobs : int or None
        Deprecated alias of ``workers`` (with a :class:`DeprecationWarning`): ``n_jobs > 1`` is
        ``workers=n_jobs``; 1 or None run in this process.
    strict : bool
        Raise :class:`~exposure.exceptions.ConvergenceError` (carrying the result) instead of
        warning when a solve of the search did not converge.

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
    if n_jobs is not _NOT_GIVEN:
        workers = _deprecated_jobs(n_jobs, workers)
    check_choice(shock_type, "shock_type", None, REVERSE_SHOCKS, subject="The shock type of a reverse stress",
                 error=InvalidShockError)
    target = parse_target(target)
    precision = check_number(precision, "precision", None, lo=0.0, hi=1.0, lo_open=True, hi_open=True,
                             subject="The precision", error=InvalidShockError)
    spec = REVERSE_SHOCKS[shock_type]
    max_shock = check_number(spec.max_shock if max_shock is None else max_shock, "max_shock", None, lo=0.0,
                             lo_open=True, hi=1.0 if shock_type != "forged_supply" else math.inf,
                             subject=f"The largest {shock_type} shock", error=InvalidShockError)
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
    value_at_zero = response(None, 0.0)
    converged0, status0 = response.converged, response.status
    shared = {"response": response, "target": target, "max_shock": max_shock, "precision": precision,
              "scan": scan, "value_at_zero": value_at_zero}
    with executor_for(executor, workers, scheduler, owner="reverse_stress") as ex:
        chunks = [list(nodes[r.start:r.stop]) for r in ex.chunks(len(nodes), NODE_CHUNKS_PER_WORKER)]
        with Progress("reverse stress", total=len(chunks), unit="chunks of nodes") as bar:
            parts = ex.map(_search_chunk, chunks, shared=shared, progress=bar)
    rows = [row for part in parts for row in part]
    table = pd.DataFrame(rows, columns=[*REVERSE_COLUMNS, "value_at_max_shock", "evaluations", "converged", "status"])
    table = table.astype({"breaking_shock": np.float64, "value_at_breaking_shock": np.float64,
                          "value_at_max_shock": np.float64, "evaluations": np.int64, "converged": bool})
    order = np.lexsort((np.arange(len(table)), -table["value_at_breaking_shock"].fillna(-np.inf).to_numpy(),
                        table["breaking_shock"].fillna(np.inf).to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    table.insert(len(REVERSE_COLUMNS), "rank", np.where(table["breaking_shock"].notna(),
                                                         np.arange(1, len(table) + 1), 0))
    table["rank"] = table["rank"].where(table["rank"] > 0, pd.NA).astype("Int64")
    row_status = table.pop("status")
    status = max(status0, int(row_status.max()) if len(row_status) else 0)
    converged = bool(converged0 and table["converged"].all())
    result = ReverseStressResult(
        shock_type, target, float(precision), max_shock, value_at_zero, table, converged,
        None if base is None else base.name, status=status,
        message=("every solve of the search converged" if converged else
                 "some solves of the system did not converge; their rows say converged=False"))
    return report(result, strict=strict, what="reverse stress")
