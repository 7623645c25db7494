"""The supervisory metrics of a network, in one result (``exposure metrics``).

:func:`supervisory_metrics` computes the eight sections — ``size``, ``leverage``,
``concentration``, ``interconnectedness``, ``liquidity_mismatch``, ``oracle_dependency``,
``offchain_dependency``, ``loss_absorption`` — and, given scenarios, ``stress`` last. Each
section is a :class:`~exposure.metrics._common.MetricSection` (scalar figures and named tables)
computed by one public function, whose docstring gives its formulas and the reports that ask
for it; ``docs/metrics.md`` collects them.

Outputs: :meth:`SupervisoryMetrics.to_dict` is one JSON object with one key per section;
:meth:`SupervisoryMetrics.to_frame` is the long table ``section, metric, value`` of every scalar
figure; :meth:`SupervisoryMetrics.table` gives one named table (``"leverage.loops"``,
``"liquidity_mismatch.curves"``, ...) as a wide frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import pandas as pd

from .._params import check_choice
from .._results import Result, combined_status, report
from ..network import ExposureNetwork
from ..stress import run_scenarios
from ._absorption import loss_absorption, stress_section
from ._common import MetricSection
from ._leverage import leverage_metrics
from ._liquidation import liquidity_mismatch, oracle_dependency
from ._size import size_metrics
from ._structure import concentration_metrics, interconnectedness_metrics, offchain_dependency

__all__ = ["SupervisoryMetrics", "supervisory_metrics", "SECTIONS"]

#: The sections, in the order of every output (``stress`` only with scenarios).
SECTIONS = ("size", "leverage", "concentration", "interconnectedness", "liquidity_mismatch", "oracle_dependency",
            "offchain_dependency", "loss_absorption", "stress")


@dataclass(frozen=True, eq=False)
class SupervisoryMetrics(Result):
    """Every section of the supervisory metrics of one network.

    Attributes
    ----------
    sections : mapping of str to MetricSection
        In the order of :data:`SECTIONS`.
    composition : dict
        Convergence record of the base-asset composition behind the money multiplier
        (``iterations``, ``residual``, ``converged``).
    stress : exposure.stress.StressResult or None
        The scenario runs behind the ``stress`` and ``loss_absorption`` figures.
    """

    sections: Mapping[str, MetricSection]
    composition: Mapping[str, Any] = field(default_factory=dict)
    stress: Any = None

    @property
    def converged(self) -> bool:
        """True when the composition iteration and every scenario solve converged."""
        return bool(self.composition.get("converged", True)) and (self.stress is None or self.stress.converged)

    @property
    def status(self) -> int:
        own = 0 if self.composition.get("converged", True) else 1
        return combined_status([own] + ([self.stress.status] if self.stress is not None else []))

    @property
    def message(self) -> str:
        parts = []
        if not self.composition.get("converged", True):
            parts.append(f"the base-asset composition did not converge within {self.composition['iterations']} "
                         f"iterations (residual {self.composition['residual']:.3g})")
        if self.stress is not None and not self.stress.converged:
            parts.append(self.stress.message)
        return "; ".join(parts) if parts else f"{len(self.sections)} sections computed"

    def __getitem__(self, name: str) -> MetricSection:
        return self.sections[name]

    def summary(self) -> dict[str, Any]:
        """The headline figures (gross TVL, netted value, ratio, top-3 share, ...) with the record."""
        s = self.sections
        out = {k: s["size"].values[k] for k in ("gross_tvl", "netted_value", "double_counting_ratio")}
        out["top3_share"] = s["concentration"].values["top3_share"]
        out["max_effective_leverage"] = s["leverage"].values["max_effective_leverage"]
        out["composition_iterations"] = int(self.composition.get("iterations", 0))
        return {**out, **self._record()}

    def to_frame(self) -> pd.DataFrame:
        """Every scalar figure as the long table ``section, metric, value``."""
        rows = [(name, k, v) for name, sec in self.sections.items() for k, v in sec.values.items()]
        return pd.DataFrame(rows, columns=["section", "metric", "value"])

    def table_names(self) -> list[str]:
        """Names ``section.table`` of every table, for :meth:`table`."""
        return [f"{name}.{t}" for name, sec in self.sections.items() for t in sec.tables]

    def table(self, name: str) -> pd.DataFrame:
        """One table by its name ``section.table`` (see :meth:`table_names`)."""
        check_choice(name, "table", "SupervisoryMetrics.table", self.table_names())
        section, table = name.split(".", 1)
        return self.sections[section].tables[table]

    def to_dict(self) -> dict[str, Any]:
        """One object with one key per section (scalars, and each table as a list of records)."""
        return {name: sec.to_dict() for name, sec in self.sections.items()}


def supervisory_metrics(net: ExposureNetwork, scenarios: Iterable | None = None, *, price_move: float = 0.1,
                        points: int = 101, alpha: float = 1.0, beta: float = 1.0, tol: float = 1e-9,
                        max_iter: int = 1000, strict: bool = False) -> SupervisoryMetrics:
    """The supervisory metrics of ``net`` (see :mod:`exposure.metrics` and ``docs/metrics.md``).

    Parameters
    ----------
    net : ExposureNetwork
    scenarios : iterable of Scenario, optional
        With scenarios, the ``stress`` section and the worst-scenario shortfalls of
        ``loss_absorption`` (:func:`exposure.stress.run_scenarios` with ``alpha``, ``beta``,
        ``tol``, ``max_iter``).
    price_move : float
        The price fall at which ``liquidity_mismatch`` compares liquidatable collateral with depth.
    points : int
        Price points of each liquidation curve (101: every percent from 0 to 100%).
    strict : bool
        Raise :class:`~exposure.exceptions.ConvergenceError` when a scenario or the composition
        iteration does not converge (otherwise a :class:`~exposure.exceptions.ConvergenceWarning`).

    Returns
    -------
    SupervisoryMetrics

    Examples
    --------
    >>> import exposure
    >>> m = supervisory_metrics(exposure.read_graph("graphs/defi.json"))
    >>> list(m.to_dict())[:3]
    ['size', 'leverage', 'concentration']
    >>> m["size"].values["netted_value"] <= m["size"].values["gross_tvl"]
    True
    """
    stress = None
    if scenarios is not None:
        stress = run_scenarios(net, scenarios, alpha, beta, tol=tol, max_iter=max_iter, strict=strict)
    size, composition = size_metrics(net)
    sections = {
        "size": size,
        "leverage": leverage_metrics(net),
        "concentration": concentration_metrics(net, size.tables["protocols"]),
        "interconnectedness": interconnectedness_metrics(net),
        "liquidity_mismatch": liquidity_mismatch(net, price_move=price_move, points=points),
        "oracle_dependency": oracle_dependency(net),
        "offchain_dependency": offchain_dependency(net),
        "loss_absorption": loss_absorption(net, stress),
    }
    if stress is not None:
        sections["stress"] = stress_section(stress)
    return report(SupervisoryMetrics(sections, composition, stress), strict=strict,
                  what="Supervisory metrics did not converge")
