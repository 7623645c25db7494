"""The result of a ranking: :class:`RankingResult`, and how scores become ranks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .._results import Result

__all__ = ["RankingResult", "Scores", "ranks", "ranking_table", "TIE_RTOL"]

#: Scores closer than this fraction of the largest absolute score share a rank (round-off).
TIE_RTOL = 1e-12


@dataclass(frozen=True, eq=False)
class RankingResult(Result):
    """Nodes ranked by how much distress they spread.

    Attributes
    ----------
    method : str
        The method (``"all"`` for every method side by side).
    parameters : Mapping
        The parameters the scores depend on: ``method``, ``top``, the method's options (every
        method's for ``"all"``) and ``shock`` when one was given.
    ranking : DataFrame
        ``node, score, rank`` (rank 1 = most systemic, ties share the smallest rank as in
        ``DataFrame.rank(method="min")``), then the method's own columns; sorted by rank,
        the first ``top`` ranks only when ``top`` was given. For ``"all"``: ``node``, then
        ``<method>`` (score) and ``<method>_rank`` for every method, sorted by the first.
    agreement : DataFrame or None
        For ``"all"``: Kendall's tau-b between every pair of methods' scores
        (``method_a, method_b, tau, pvalue, n``).
    converged : bool
        False when any contagion run, clearing or power iteration stopped before its tolerance.
    status : int
        A code of :data:`exposure._results.STATUS` (the largest of the methods' for ``"all"``).
    iterations : int
        Largest number of iterations (rounds, sweeps) of any run.
    residual : float
        Largest residual left by any run (0 for the exact cascades).
    message : str
    details : Mapping
        Diagnostics of the method: for differential DebtRank the ``anchor`` node of the shared
        core state (None when no run used one) and the rounds ``anchor_iterations`` it took.
    """

    method: str
    parameters: Mapping[str, Any]
    ranking: pd.DataFrame
    agreement: pd.DataFrame | None = None
    converged: bool = True
    iterations: int = 0
    residual: float = 0.0
    message: str = "ranking complete"
    details: Mapping[str, Any] = field(default_factory=dict)
    status: int = 0

    def to_frame(self) -> pd.DataFrame:
        """The ranking table (a copy)."""
        return self.ranking.copy()

    def summary(self) -> dict[str, Any]:
        """``method``, the number of rows ranked and the solver record."""
        return {"method": self.method, "rows": len(self.ranking), "iterations": int(self.iterations),
                "residual": float(self.residual), **self._record()}

    def to_dict(self) -> dict[str, Any]:
        """``{"method", "parameters", "ranking": [records], "agreement"?: [records], "converged", ...}``."""
        out: dict[str, Any] = {"method": self.method, "parameters": dict(self.parameters),
                               "ranking": self.ranking.to_dict(orient="records")}
        if self.agreement is not None:
            out["agreement"] = self.agreement.to_dict(orient="records")
        out.update(converged=self.converged, iterations=self.iterations, residual=self.residual,
                   message=self.message)
        return out

    def __repr__(self) -> str:
        head = self.ranking.head(3)["node"].tolist() if len(self.ranking) else []
        return (f"RankingResult(message={self.message!r}, converged={self.converged}, method={self.method!r}, "
                f"rows={len(self.ranking)}, top={head})")


@dataclass
class Scores:
    """What a method's runner returns: one score per node, the method's own columns, the record."""

    score: np.ndarray
    columns: dict[str, np.ndarray]
    converged: bool = True
    iterations: int = 0
    residual: float = 0.0
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    status: int = 0


def ranks(score: np.ndarray) -> pd.Series:
    """Rank 1 = largest; ties share the smallest rank (``rank(method="min")``); NaN stays NA.

    Scores within ``TIE_RTOL`` of the largest absolute score of each other count as tied, so
    that the order of floating-point sums cannot split a tie.
    """
    x = np.asarray(score, dtype=np.float64)
    out = pd.array([pd.NA] * x.size, dtype="Int64")
    ok = np.flatnonzero(np.isfinite(x))
    if ok.size:
        order = ok[np.argsort(-x[ok], kind="stable")]
        xs = x[order]
        tol = TIE_RTOL * float(np.max(np.abs(xs)))
        start = np.concatenate(([True], (xs[:-1] - xs[1:]) > tol))
        first = np.maximum.accumulate(np.where(start, np.arange(xs.size), 0))
        r = np.empty(x.size, np.int64)
        r[order] = first + 1
        out[ok] = r[ok]
    return pd.Series(out)


def ranking_table(ids, score, columns: Mapping[str, np.ndarray], top: int | None) -> pd.DataFrame:
    """``node, score, rank`` and ``columns``, sorted by rank, cut to the first ``top`` ranks."""
    frame = pd.DataFrame({"node": pd.Series(np.asarray(ids, dtype=object), dtype="str"),
                          "score": np.asarray(score, dtype=np.float64)})
    frame["rank"] = ranks(frame["score"].to_numpy())
    for name, col in columns.items():
        frame[name] = col
    return sort_and_cut(frame, "rank", top)


def sort_and_cut(frame: pd.DataFrame, rank_column: str, top: int | None) -> pd.DataFrame:
    """Rows sorted by ``rank_column`` (missing ranks last, ties in node order), first ``top`` ranks."""
    key = frame[rank_column].fillna(len(frame) + 1).to_numpy()
    frame = frame.iloc[np.lexsort((np.arange(len(frame)), key))].reset_index(drop=True)
    if top is not None:
        frame = frame[frame[rank_column].fillna(len(frame) + 1) <= top].reset_index(drop=True)
    return frame
