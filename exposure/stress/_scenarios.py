"""Stress runs over named scenarios (see :mod:`exposure.stress`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from .._params import check_choice
from .._results import Result, combined_status
from ..defi import MarketShock, solve_system
from ..exceptions import InvalidShockError
from ..io.scenarios import Scenario, market_shock_fields

__all__ = ["SUMMARY_COLUMNS", "NODE_COLUMNS", "TOKEN_COLUMNS", "StressResult", "run_scenarios"]

SUMMARY_COLUMNS = ("scenario", "total_loss", "bad_debt", "liquidated", "n_defaults", "n_impaired", "buffer_used",
                   "external_creditor_loss", "rounds", "converged")
NODE_COLUMNS = ("scenario", "node", "kind", "equity_before", "equity_after", "loss", "bad_debt", "liquidated",
                "defaulted", "default_round", "impaired", "buffer_used")
TOKEN_COLUMNS = ("scenario", "token", "price_before", "price_after", "redemption_value", "liquidated")


# =============================================================================== stress runs
def _summary_row(name: str, summary: Mapping[str, Any]) -> dict:
    return {"scenario": name, **{c: summary[c] for c in SUMMARY_COLUMNS[1:]}}


def _tagged(name: str, frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    out = frame.copy()
    out.insert(0, "scenario", name)
    return out[list(columns)]


@dataclass(frozen=True, eq=False)
class StressResult(Result):
    """The solved system of each scenario.

    Attributes
    ----------
    scenarios : tuple of Scenario
    results : tuple of exposure.defi.SystemResult
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
        return all(bool(r.converged) for r in self.results)

    @property
    def status(self) -> int:
        """The largest status of the scenarios' solves (:data:`exposure._results.STATUS`)."""
        return combined_status(r.status for r in self.results)

    @property
    def message(self) -> str:
        bad = [f"scenario {s.name!r}: {r.message}" for s, r in zip(self.scenarios, self.results) if not r.converged]
        return "; ".join(bad) if bad else f"{len(self.results)} scenarios converged"

    def summary(self) -> dict[str, Any]:
        """The number of scenarios and the record (the per-scenario table is :meth:`summary_frame`)."""
        return {"scenarios": len(self.results), "alpha": self.alpha, "beta": self.beta, **self._record()}

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
        return frames[check_choice(detail, "detail", "StressResult.to_frame", frames)]()

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
        From :func:`exposure.io.scenarios.read_scenarios`.
    alpha, beta : float
        Recovery rates of external and interbank assets in default
        (Rogers–Veraart); ``alpha = beta = 1`` is Eisenberg–Noe.
    tol, max_iter, strict
        Passed to :func:`exposure.defi.solve_system`. Under ``strict``, the
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
