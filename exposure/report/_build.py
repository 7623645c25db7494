"""The analyses behind a report, run once: :func:`build_report` and its result :class:`Report`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .._params import check_number
from .._results import Result, combined_status, report
from ..contagion import rank
from ..exceptions import ConvergenceWarning
from ..io.scenarios import Scenario, eligible_nodes
from ..metrics import supervisory_metrics
from ..metrics._summary import exposure_graph
from ..network import ExposureNetwork
from ..stress import reverse_stress

__all__ = ["Report", "build_report", "ReverseSearch", "HEADLINE_COLUMNS", "FRAGILE_TARGETS", "node_values"]

#: Columns of the headline table (:meth:`Report.to_frame`).
HEADLINE_COLUMNS = ("figure", "value", "unit", "meaning")

#: The reverse-stress searches of a report: the target on a network with the cross-collateral
#: mechanics (holdings or positions), and on a network of claims alone.
FRAGILE_TARGETS = {"mechanics": "bad_debt>0", "claims": "n_defaults>1"}


@dataclass(frozen=True)
class ReverseSearch:
    """One reverse-stress search of a report: the shock type, the nodes searched and why."""

    shock_type: str
    nodes: tuple[str, ...]
    eligible: int
    result: Any


@dataclass(frozen=True, eq=False)
class Report(Result):
    """Everything a report shows, computed once from one network and its scenarios.

    Attributes
    ----------
    title : str
    network : ExposureNetwork
    scenarios : tuple of Scenario
    ranking : exposure.contagion.RankingResult
        ``rank(network, "all")`` with every method's defaults (what ``exposure rank --method all`` gives).
    metrics : exposure.metrics.SupervisoryMetrics
        ``supervisory_metrics(network, scenarios)`` with its defaults (``exposure metrics``).
    stress : exposure.stress.StressResult or None
        The scenario runs (``exposure stress GRAPH SCENARIO_FILE``; the ones behind ``metrics``).
    reverse : tuple of ReverseSearch
        The reverse-stress searches (``exposure stress --reverse``) behind the most fragile points.
    parameters : Mapping
        The parameters of every analysis, as ``manifest.json`` records them.
    notes : tuple of str
        What the analyses warned about (a method not defined on this graph, a solve that stopped).
    """

    title: str
    network: ExposureNetwork
    scenarios: tuple
    ranking: Any
    metrics: Any
    stress: Any
    reverse: tuple
    parameters: Mapping[str, Any]
    notes: tuple = ()
    values: np.ndarray = field(default=None, repr=False)

    # -------------------------------------------------------------- the result protocol
    def _parts(self):
        return [self.ranking, self.metrics] + [s.result for s in self.reverse]

    @property
    def converged(self) -> bool:
        """True when every analysis of the report converged (and was defined on this graph)."""
        return all(bool(p.converged) for p in self._parts())

    @property
    def status(self) -> int:
        """The largest status of the analyses (:data:`exposure._results.STATUS`)."""
        return combined_status(p.status for p in self._parts())

    @property
    def message(self) -> str:
        names = ["ranking", "metrics"] + [f"reverse stress ({s.shock_type})" for s in self.reverse]
        bad = [f"{n}: {p.message}" for n, p in zip(names, self._parts()) if not p.converged]
        return "; ".join(bad) if bad else "every analysis of the report converged"

    def summary(self) -> dict[str, Any]:
        """The headline figures by name, then the record."""
        h = self.headline()
        return {**dict(zip(h["figure"], h["value"])), **self._record()}

    def to_frame(self) -> pd.DataFrame:
        """The headline table: :data:`HEADLINE_COLUMNS`, one row per figure."""
        return self.headline()

    # -------------------------------------------------------------------- figures
    def headline(self) -> pd.DataFrame:
        """The five numbers that matter, with the facts they are read from (see ``docs/report.md``)."""
        size = self.metrics["size"].values
        liq = self.metrics["liquidity_mismatch"].values
        top = self.ranking.ranking.iloc[0] if len(self.ranking.ranking) else None
        rows = [("netted_value", size["netted_value"], "USD",
                 f"value in the protocols with every token layered on another counted once (TVR); "
                 f"an aggregator's sum (gross TVL) is {size['double_counting_ratio']:.3g} times as large"), ]
        if self.stress is not None and len(self.stress.results):
            s = self.stress.summary_frame()
            worst = s.loc[s["total_loss"].idxmax()]
            rows += [("worst_scenario_loss", float(worst["total_loss"]), "USD",
                      f"total loss in the worst scenario, {worst['scenario']}"),
                     ("worst_scenario_bad_debt", float(worst["bad_debt"]), "USD",
                      f"bad debt (debt no collateral covers) in the worst scenario, {worst['scenario']}")]
        else:
            rows += [("worst_scenario_loss", float("nan"), "USD", "no scenarios were run"),
                     ("worst_scenario_bad_debt", float("nan"), "USD", "no scenarios were run")]
        rows.append(("liquidatable_at_price_move", liq["liquidatable"], "USD",
                     f"collateral that becomes liquidatable when every collateral token falls by "
                     f"{liq['price_move']:.0%}"))
        if top is not None:
            rows.append(("top_debtrank", float(top["debtrank"]), "share of system value",
                         f"DebtRank of the most systemic node, {top['node']}"))
        return pd.DataFrame(rows, columns=list(HEADLINE_COLUMNS))

    def fragile(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` smallest breaking shocks over every reverse-stress search: ``shock_type, node,
        breaking_shock, target, value_at_breaking_shock``."""
        cols = ["shock_type", "node", "breaking_shock", "target", "value_at_breaking_shock"]
        parts = [s.result.to_frame()[cols] for s in self.reverse if len(s.result.to_frame())]
        if not parts:
            return pd.DataFrame(columns=cols)
        frame = pd.concat(parts, ignore_index=True)
        frame = frame[frame["breaking_shock"].notna()]
        return frame.sort_values(["breaking_shock", "shock_type", "node"], kind="stable").head(n) \
            .reset_index(drop=True)

    def __repr__(self) -> str:
        return (f"Report(title={self.title!r}, nodes={self.network.n}, scenarios={len(self.scenarios)}, "
                f"converged={self.converged})")


def node_values(net: ExposureNetwork) -> np.ndarray:
    """The size of each node in the drawing: the larger of what it owes and what it is owed or holds
    in the graph (every edge at face value, :func:`exposure.metrics.exposure_graph`), plus its
    declared external assets on the held side."""
    A = exposure_graph(net)
    owes = np.asarray(A.sum(axis=1)).ravel()
    owed = np.asarray(A.sum(axis=0)).ravel()
    declared = net.nodes["external_assets"].to_numpy(dtype=np.float64, na_value=0.0)
    return np.maximum(owes, owed + np.nan_to_num(declared))


def _searches(net: ExposureNetwork, ranking: pd.DataFrame, limit: int) -> list[tuple[str, list[str], int, str]]:
    """(shock type, nodes, eligible count, target) of each reverse-stress search: prices of the base
    assets and depegs of the tokens on a network with the mechanics, the loss of a node's own
    assets on one of claims alone; at most ``limit`` nodes each, the most systemic by DebtRank."""
    order = {node: i for i, node in enumerate(ranking["node"].astype(str))}
    if net.has_mechanics:
        plan = [("price", FRAGILE_TARGETS["mechanics"]), ("depeg", FRAGILE_TARGETS["mechanics"])]
    else:
        plan = [("asset_loss", FRAGILE_TARGETS["claims"])]
    out = []
    for shock_type, target in plan:
        nodes = eligible_nodes(net, shock_type)
        if not nodes:
            continue
        chosen = sorted(nodes, key=lambda v: order.get(v, len(order)))[:limit]
        out.append((shock_type, chosen if len(chosen) < len(nodes) else nodes, len(nodes), target))
    return out


def build_report(network: ExposureNetwork, scenarios: Iterable[Scenario] | None = None, *,
                 title: str | None = None, fragile_limit: int = 25, strict: bool = False) -> Report:
    """Run every analysis a report shows, each with the defaults of its command.

    * ``rank(network, "all")`` — the ranking of every method and Kendall's tau between them
      (``exposure rank --method all``);
    * ``supervisory_metrics(network, scenarios)`` — every section, and with scenarios the
      scenario runs of ``run_scenarios`` (``exposure metrics``, ``exposure stress``);
    * ``reverse_stress`` for the most fragile points: on a network with holdings or positions,
      the smallest fall of each base asset's price (``price``) and of each token's market price
      (``depeg``) that creates bad debt (``bad_debt>0``); on a network of claims alone, the
      smallest loss of a node's own assets that puts more than one node in default
      (``asset_loss``, ``n_defaults>1``). Each search covers at most ``fragile_limit`` nodes,
      the most systemic by DebtRank (every eligible node when there are no more).

    Parameters
    ----------
    network : ExposureNetwork
    scenarios : iterable of Scenario, optional
    title : str, optional
        The report's title [default: "Systemic exposure report: <graph name>"].
    fragile_limit : int
        Nodes searched per reverse-stress shock type (25).
    strict : bool
        Raise :class:`~exposure.exceptions.ConvergenceError` when an analysis did not converge
        (otherwise one :class:`~exposure.exceptions.ConvergenceWarning`, and the report says so).

    Returns
    -------
    Report

    Examples
    --------
    >>> import exposure
    >>> from exposure.report import build_report
    >>> r = build_report(exposure.read_graph("graphs/chain.json"))     # doctest: +SKIP
    """
    fragile_limit = int(check_number(fragile_limit, "fragile_limit", "build_report", integer=True, lo=1))
    scenarios = tuple(scenarios) if scenarios is not None else ()
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        ranking = rank(network, "all")
        metrics = supervisory_metrics(network, scenarios if scenarios else None)
        searches = []
        for shock_type, nodes, eligible, target in _searches(network, ranking.ranking, fragile_limit):
            result = reverse_stress(network, shock_type, nodes, target)
            searches.append(ReverseSearch(shock_type, tuple(nodes), eligible, result))
    for w in caught:
        if issubclass(w.category, ConvergenceWarning) and str(w.message) not in notes:
            notes.append(str(w.message))
        elif not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    name = str(network.meta.get("name") or "graph")
    params = {
        "rank": {k: v for k, v in dict(ranking.parameters).items()},
        "metrics": {"price_move": 0.1, "points": 101, "alpha": 1.0, "beta": 1.0, "tol": 1e-9, "max_iter": 1000},
        "stress": {"scenarios": [s.name for s in scenarios], "alpha": 1.0, "beta": 1.0, "tol": 1e-9,
                   "max_iter": 1000},
        "reverse_stress": [{"shock_type": s.shock_type, "target": str(s.result.target),
                            "nodes": list(s.nodes), "eligible": s.eligible, "precision": s.result.precision,
                            "max_shock": s.result.max_shock} for s in searches],
        "fragile_limit": fragile_limit,
    }
    rep = Report(title=title or f"Systemic exposure report: {name}", network=network, scenarios=scenarios,
                 ranking=ranking, metrics=metrics, stress=metrics.stress, reverse=tuple(searches),
                 parameters=params, notes=tuple(notes), values=node_values(network))
    return report(rep, strict=strict, what="The report's analyses did not all converge")
