"""The result of a clearing: :class:`ClearingResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._results import Result
from ..network import ExposureNetwork
from ._loss import LossBearing
from ._solvers import ClearingVectors

__all__ = ["ClearingResult", "FRAME_COLUMNS", "result_from_vectors"]

#: Columns of :meth:`ClearingResult.to_frame`, in order.
FRAME_COLUMNS = ("node", "obligations", "payments", "recovery", "assets", "equity", "defaulted",
                 "default_round", "impaired", "buffer_used")


@dataclass(frozen=True, eq=False, kw_only=True)
class ClearingResult(Result):
    """The clearing of a network: per-node vectors in graph order, totals and solver record.

    Attributes
    ----------
    node_ids : pandas.Index
        Node ids in graph order (immutable).
    obligations, payments, recovery, assets, equity : ndarray
        ``p̄``, ``p``, ``p / p̄`` (1 where ``p̄ = 0``), ``e + Πᵀp`` (first-loss buffers excluded),
        ``max(0, assets − p̄)``.
    defaulted : ndarray of bool
        Debt nodes that cannot pay in full, after drawing on their first-loss buffer.
    default_round : ndarray of int
        Round of the fictitious default algorithm in which the node defaults (0: solvent, and
        every node that owes shares).
    impaired : ndarray of bool
        Nodes that owe shares whose value per share (``recovery``) fell below ``1 − tol``.
    buffer_used : ndarray
        First-loss capital each node drew, ``min(first_loss, max(0, p̄ − assets))``.
    n_defaults, n_impaired : int
    total_shortfall : float
        ``Σ (p̄ − p)``.
    external_creditor_loss : float
        ``Σ x_i (1 − p_i / p̄_i)``: what creditors outside the network do not receive.
    default_costs : float
        ``Σ_{i in default} (1 − α) e_i + (1 − β)(Πᵀp)_i``: value lost to default costs (0 for
        Eisenberg–Noe).
    method, converged, iterations, residual, status, message
        The solver record: ``method`` is the algorithm (``fictitious-default`` or
        ``fixed-point``; the model is :attr:`model`), ``status`` a code of
        :data:`exposure._results.STATUS`, ``residual = ‖Φ(p) − p‖∞ / max(1, ‖p̄‖∞)``.
    alpha, beta : float
    n_rounds : int
        Rounds of the fictitious default algorithm.
    external_assets : ndarray
        ``e`` after the shock.
    network : ExposureNetwork
        The network cleared (before the shock), for :func:`sensitivities`.
    """

    node_ids: pd.Index
    obligations: np.ndarray
    payments: np.ndarray
    recovery: np.ndarray
    assets: np.ndarray
    equity: np.ndarray
    defaulted: np.ndarray
    default_round: np.ndarray
    n_defaults: int
    impaired: np.ndarray
    buffer_used: np.ndarray
    n_impaired: int
    total_shortfall: float
    external_creditor_loss: float
    method: str
    converged: bool
    iterations: int
    residual: float
    status: int
    message: str
    alpha: float = 1.0
    beta: float = 1.0
    n_rounds: int = 0
    default_costs: float = 0.0
    external_assets: np.ndarray = field(default=None, repr=False)
    network: ExposureNetwork | None = field(default=None, repr=False)

    @property
    def model(self) -> str:
        """``"eisenberg-noe"`` when ``α = β = 1``, else ``"rogers-veraart"``."""
        return "eisenberg-noe" if self.alpha == 1.0 and self.beta == 1.0 else "rogers-veraart"

    def to_frame(self) -> pd.DataFrame:
        """One row per node in graph order, columns :data:`FRAME_COLUMNS`."""
        return pd.DataFrame({
            "node": np.asarray(self.node_ids, dtype=object),
            "obligations": self.obligations,
            "payments": self.payments,
            "recovery": self.recovery,
            "assets": self.assets,
            "equity": self.equity,
            "defaulted": self.defaulted.astype(bool),
            "default_round": self.default_round.astype(np.int64),
            "impaired": self.impaired.astype(bool),
            "buffer_used": self.buffer_used,
        })

    def summary(self) -> dict[str, Any]:
        """Totals and the solver record, as plain Python values."""
        rounds = np.bincount(self.default_round[self.defaulted], minlength=self.n_rounds + 1)[1:]
        return {
            "model": self.model,
            "n_nodes": len(self.node_ids),
            "n_defaults": int(self.n_defaults),
            "n_impaired": int(self.n_impaired),
            "buffer_used": float(self.buffer_used.sum()),
            "n_rounds": int(self.n_rounds),
            "defaults_by_round": [int(k) for k in rounds],
            "total_obligations": float(self.obligations.sum()),
            "total_payments": float(self.payments.sum()),
            "total_shortfall": float(self.total_shortfall),
            "external_creditor_loss": float(self.external_creditor_loss),
            "default_costs": float(self.default_costs),
            "total_equity": float(self.equity.sum()),
            "alpha": float(self.alpha),
            "beta": float(self.beta),
            "method": self.method,
            "converged": bool(self.converged),
            "status": int(self.status),
            "iterations": int(self.iterations),
            "residual": float(self.residual),
            "message": self.message,
        }

    def _claims_clearing(self) -> "ClearingResult":
        """The clearing of claims this result rests on (itself; a result of the cross-collateral
        mechanics answers with the clearing of its last round, prices and positions held fixed)."""
        return self

    def __repr__(self) -> str:
        return (f"<ClearingResult {self.model}: {self.message}; converged={self.converged}, "
                f"{self.n_defaults} of {len(self.node_ids)} nodes in default>")


def result_from_vectors(network: ExposureNetwork, vec: ClearingVectors, e: np.ndarray, *, alpha: float,
                        beta: float, pbar: np.ndarray | None = None, buffer_used: np.ndarray | None = None,
                        e_clear: np.ndarray | None = None, bearing: LossBearing | None = None) -> ClearingResult:
    """Wrap a :class:`ClearingVectors` into a :class:`ClearingResult` for ``network``.

    ``vec.assets`` are what each node holds (buffers excluded); ``e_clear`` the external assets the
    clearing saw (``e`` plus the buffers that could be drawn; ``e`` when there are none) and
    ``buffer_used`` the draws (:func:`~exposure.clearing._loss.clear_bearing`). ``bearing`` classifies
    the shortfalls (default: the network's own ``liability_type``).
    """
    pbar = network.total_obligations() if pbar is None else pbar
    x = network.external_liabilities
    p = vec.payments
    recovery = np.divide(p, pbar, out=np.ones_like(p), where=pbar > 0)
    equity = np.maximum(0.0, vec.assets - pbar)
    short = vec.defaulted
    e_clear = e if e_clear is None else e_clear
    used = np.zeros_like(p) if buffer_used is None else buffer_used
    bearing = LossBearing.from_network(network) if bearing is None else bearing
    d, impaired, rounds = bearing.classify(short, vec.default_round)
    # default costs (Rogers–Veraart) are those of the clearing map, on every node it found short:
    # (1 − α) of the external assets it saw (buffers included) and (1 − β) of Πᵀp = assets − e
    received = (vec.assets - e)[short]
    costs = float(((1.0 - alpha) * e_clear[short]).sum() + ((1.0 - beta) * received).sum())
    return ClearingResult(
        node_ids=network.node_ids, obligations=pbar, payments=p, recovery=recovery, assets=vec.assets,
        equity=equity, defaulted=d, default_round=rounds, n_defaults=int(d.sum()),
        impaired=impaired, buffer_used=used, n_impaired=int(impaired.sum()),
        total_shortfall=float((pbar - p).sum()), external_creditor_loss=float((x * (1.0 - recovery)).sum()),
        method=vec.method, converged=vec.converged, iterations=vec.iterations, residual=vec.residual,
        status=vec.status, message=vec.message, alpha=float(alpha), beta=float(beta), n_rounds=vec.n_rounds,
        default_costs=costs, external_assets=e, network=network)
