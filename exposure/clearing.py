"""Clearing of a network of claims: Eisenberg–Noe and Rogers–Veraart, with default waves.

Models
------
With total obligations ``p̄ = L·1 + x`` and relative liabilities ``Π[i, j] = L[i, j] / p̄[i]``
(0 when ``p̄[i] = 0``), a clearing vector ``p`` is a fixed point of

    Φ(p)_i = p̄_i                         if e_i + (Πᵀp)_i ≥ p̄_i   (solvent: pays in full)
    Φ(p)_i = α e_i + β (Πᵀp)_i            otherwise                 (in default)

* **Eisenberg–Noe** [1]_ is ``α = β = 1``: ``p = min(p̄, max(0, e + Πᵀp))``. What a defaulting
  node holds is shared pro rata among all its creditors, external ones included.
* **Rogers–Veraart** [2]_: a defaulting node realises only ``α`` of its external assets and
  ``β`` of its claims on others. The solvency test uses ``e + Πᵀp`` before the default costs.

Both return the *greatest* clearing vector. ``Φ`` is monotone, so it is the limit of Picard
iteration from ``p̄``, and the fictitious default algorithm of [1]_
("Greatest Clearing Vector Algorithm", [2]_ Definition 3.6) reaches it in at most ``n``
rounds: start with nobody in default; each round, solve the
linear system in which the current default set pays ``α e + β Πᵀp`` and the others pay ``p̄``;
add every node that then cannot pay in full; stop when no node is added.

Default waves: ``default_round`` is the round of that algorithm in which a node joins the
default set (1 = fundamental default: it cannot pay in full even when everyone else does),
0 for a node that does not default. A node is in default when its assets fall short of its
obligations beyond the relative tolerance ``tol``: a node with exactly zero equity is solvent,
a node that owes nothing never defaults.

Reported per node: ``obligations`` p̄, ``payments`` p, ``recovery = p / p̄`` (1 where p̄ = 0),
``assets = e + Πᵀp`` (before default costs), ``equity = max(0, assets − p̄)``.

References
----------
.. [1] L. Eisenberg and T. H. Noe, "Systemic risk in financial systems", Management Science
   47(2):236–249, 2001. doi:10.1287/mnsc.47.2.236.9835
.. [2] L. C. G. Rogers and L. A. M. Veraart, "Failure and rescue in an interbank network",
   Management Science 59(4):882–898, 2013. doi:10.1287/mnsc.1120.1569
.. [3] E. Liu and J. Staum, "Sensitivity analysis of the Eisenberg–Noe model of contagion",
   Operations Research Letters 38(5):489–491, 2010. doi:10.1016/j.orl.2010.07.007
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ._clearing_solvers import METHODS, ClearingVectors, clear_vectors
from .exceptions import ConvergenceError, ConvergenceWarning
from .network import ExposureNetwork
from .shocks import apply_shock

__all__ = ["ClearingResult", "ClearingVectors", "clear_vectors", "eisenberg_noe", "rogers_veraart",
           "clear", "sensitivities", "loss_amplification", "METHODS", "FRAME_COLUMNS"]

#: Columns of :meth:`ClearingResult.to_frame`, in order.
FRAME_COLUMNS = ("node", "obligations", "payments", "recovery", "assets", "equity", "defaulted",
                 "default_round")


@dataclass(frozen=True, eq=False)
class ClearingResult:
    """The clearing of a network: per-node vectors in graph order, totals and solver record.

    Attributes
    ----------
    node_ids : pandas.Index
        Node ids in graph order (immutable).
    obligations, payments, recovery, assets, equity : ndarray
        ``p̄``, ``p``, ``p / p̄`` (1 where ``p̄ = 0``), ``e + Πᵀp``, ``max(0, assets − p̄)``.
    defaulted : ndarray of bool
    default_round : ndarray of int
        Round of the fictitious default algorithm in which the node defaults (0: solvent).
    n_defaults : int
    total_shortfall : float
        ``Σ (p̄ − p)``.
    external_creditor_loss : float
        ``Σ x_i (1 − p_i / p̄_i)``: what creditors outside the network do not receive.
    default_costs : float
        ``Σ_{i in default} (1 − α) e_i + (1 − β)(Πᵀp)_i``: value lost to default costs (0 for
        Eisenberg–Noe).
    method, converged, iterations, residual, status, message
        The solver record (status 0 converged, 1 iteration limit, 2 numerical failure;
        ``residual = ‖Φ(p) − p‖∞ / max(1, ‖p̄‖∞)``).
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
        })

    def summary(self) -> dict[str, Any]:
        """Totals and the solver record, as plain Python values."""
        rounds = np.bincount(self.default_round[self.defaulted], minlength=self.n_rounds + 1)[1:]
        return {
            "model": self.model,
            "n_nodes": len(self.node_ids),
            "n_defaults": int(self.n_defaults),
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

    def __repr__(self) -> str:
        return (f"<ClearingResult {self.model}: {self.message}; converged={self.converged}, "
                f"{self.n_defaults} of {len(self.node_ids)} nodes in default>")


# --------------------------------------------------------------------------- models
def _shocked_vectors(network: ExposureNetwork, shock):
    if shock is None or isinstance(shock, Mapping):
        e = apply_shock(network, shock).external_assets
    else:
        f = np.asarray(shock, dtype=np.float64)
        if f.shape != (network.n,) or not np.all((f >= 0) & (f <= 1)):
            from .exceptions import InvalidShockError
            raise InvalidShockError(f"A shock vector must hold {network.n} fractions in [0, 1].")
        e = network.external_assets * (1.0 - f)
    pbar = network.total_obligations()
    return network.relative_liabilities(pbar), pbar, np.asarray(e, dtype=np.float64)


def result_from_vectors(network: ExposureNetwork, vec: ClearingVectors, e: np.ndarray, *, alpha: float,
                        beta: float, pbar: np.ndarray | None = None) -> ClearingResult:
    """Wrap a :class:`ClearingVectors` into a :class:`ClearingResult` for ``network``."""
    pbar = network.total_obligations() if pbar is None else pbar
    x = network.external_liabilities
    p = vec.payments
    recovery = np.divide(p, pbar, out=np.ones_like(p), where=pbar > 0)
    equity = np.maximum(0.0, vec.assets - pbar)
    d = vec.defaulted
    costs = float(((1.0 - alpha) * e[d]).sum() + ((1.0 - beta) * (vec.assets[d] - e[d])).sum())
    return ClearingResult(
        node_ids=network.node_ids, obligations=pbar, payments=p, recovery=recovery, assets=vec.assets,
        equity=equity, defaulted=d, default_round=vec.default_round, n_defaults=int(d.sum()),
        total_shortfall=float((pbar - p).sum()), external_creditor_loss=float((x * (1.0 - recovery)).sum()),
        method=vec.method, converged=vec.converged, iterations=vec.iterations, residual=vec.residual,
        status=vec.status, message=vec.message, alpha=float(alpha), beta=float(beta), n_rounds=vec.n_rounds,
        default_costs=costs, external_assets=e, network=network)


def _report(result: ClearingResult, strict: bool, stacklevel: int = 3) -> ClearingResult:
    if not result.converged:
        if strict:
            raise ConvergenceError(f"Clearing did not converge: {result.message}.", result=result)
        warnings.warn(f"Clearing did not converge: {result.message}.", ConvergenceWarning,
                      stacklevel=stacklevel + 1)
    return result


def rogers_veraart(network: ExposureNetwork, shock=None, *, alpha: float, beta: float,
                   method: str = "fictitious-default", tol: float = 1e-9, max_iter: int | None = None,
                   strict: bool = False) -> ClearingResult:
    """Greatest clearing vector with Rogers–Veraart default costs.

    Parameters
    ----------
    network : ExposureNetwork
    shock : mapping {node id: fraction}, or array of n fractions, optional
        Cuts each listed node's external assets by that fraction (``e ← (1 − f) e``).
    alpha, beta : float in [0, 1]
        Share of external assets and of claims on others that a defaulting node realises.
    method : {"fictitious-default", "fixed-point"}
        See :func:`clear_vectors`. Both give the same payments to ``tol``; the default is the
        one whose ``default_round`` are the rounds of the algorithm (the default waves).
        ``"fixed-point"`` is faster on the benchmark network when only payments are needed.
    tol : float
        Relative tolerance (default test, stopping rule, residual).
    max_iter : int, optional
        Maximum number of sweeps.
    strict : bool
        Raise :class:`ConvergenceError` (carrying the partial result) instead of warning
        with :class:`ConvergenceWarning` when the solver does not converge.

    Returns
    -------
    ClearingResult

    Notes
    -----
    Rogers & Veraart [2]_ ("Greatest Clearing Vector Algorithm", Definition 3.6) show that the
    rounds reach the greatest clearing vector in at most ``n`` rounds. Recovered value is
    shared pro rata among all creditors of a defaulting node, external ones included.

    Examples
    --------
    Two nodes that owe each other 10; ``a`` holds 5, ``b`` holds nothing and owes 2 outside, so
    ``p̄ = (10, 12)``. By hand, with ``α = β = 1/2``: round 1, ``b`` holds 10 < 12 and defaults;
    round 2, ``b`` pays ``β·10 = 5``, of which ``a`` gets 10/12, so ``a`` holds 5 + 25/6 < 10
    and defaults; then ``p_a = α·5 + β(10/12)p_b``, ``p_b = β p_a`` gives ``p = (60/19, 30/19)``.

    >>> import pandas as pd
    >>> net = ExposureNetwork.from_frames(
    ...     pd.DataFrame({"id": ["a", "b"], "external_assets": [5.0, 0.0],
    ...                   "external_liabilities": [0.0, 2.0]}),
    ...     pd.DataFrame({"debtor": ["a", "b"], "creditor": ["b", "a"], "amount": [10.0, 10.0]}))
    >>> r = rogers_veraart(net, alpha=0.5, beta=0.5)
    >>> r.default_round.tolist(), [round(float(19 * v), 9) for v in r.payments]
    ([2, 1], [60.0, 30.0])
    """
    return _report(_clear(network, shock, alpha, beta, method, tol, max_iter), strict)


def eisenberg_noe(network: ExposureNetwork, shock=None, *, method: str = "fictitious-default",
                  tol: float = 1e-9, max_iter: int | None = None, strict: bool = False) -> ClearingResult:
    """Greatest Eisenberg–Noe clearing vector ``p = min(p̄, max(0, e + Πᵀp))``.

    Parameters are those of :func:`rogers_veraart` with ``α = β = 1``.

    Returns
    -------
    ClearingResult

    Notes
    -----
    Under Eisenberg and Noe's regularity condition [1]_ (Theorem 2) the clearing vector is
    unique; otherwise the greatest is returned. Value is conserved: ``Σ e = Σ equity + what external creditors receive``.

    Examples
    --------
    A chain: ``a`` owes 10 to ``b`` and holds 4; ``b`` owes 8 outside and holds 2. ``a`` pays 4
    (round 1), ``b`` receives 4, holds 6 < 8 and pays 6 (round 2).

    >>> import pandas as pd
    >>> net = ExposureNetwork.from_frames(
    ...     pd.DataFrame({"id": ["a", "b"], "external_assets": [4.0, 2.0],
    ...                   "external_liabilities": [0.0, 8.0]}),
    ...     pd.DataFrame({"debtor": ["a"], "creditor": ["b"], "amount": [10.0]}))
    >>> r = eisenberg_noe(net)
    >>> r.payments.tolist(), r.default_round.tolist(), r.external_creditor_loss
    ([4.0, 6.0], [1, 2], 2.0)
    """
    return _report(_clear(network, shock, 1.0, 1.0, method, tol, max_iter), strict)


def clear(network: ExposureNetwork, shock=None, *, alpha: float = 1.0, beta: float = 1.0,
          method: str = "fictitious-default", tol: float = 1e-9, max_iter: int | None = None,
          strict: bool = False) -> ClearingResult:
    """Clear ``network``: Eisenberg–Noe when ``α = β = 1``, Rogers–Veraart otherwise.

    See :func:`eisenberg_noe` and :func:`rogers_veraart` for the parameters.

    On a network with holdings or secured positions (format version 2) the clearing alone would
    leave out what those edges are worth, so ``clear`` solves the full cross-collateral mechanics
    instead and returns a :class:`exposure.mechanics.SystemResult` (same per-node fields, plus
    ``bad_debt``, ``liquidated``, ``equity_before`` and ``loss``); ``max_iter`` then bounds the
    rounds of the joint fixed point (default 1000) and ``method`` is not used.
    :func:`eisenberg_noe` and :func:`rogers_veraart` always clear the claims alone.
    """
    if len(network.holdings) or len(network.positions):
        from .mechanics import solve_system
        return solve_system(network, shock or None, alpha=alpha, beta=beta, tol=tol,
                            max_iter=max_iter or 1000, strict=strict)
    return _report(_clear(network, shock, alpha, beta, method, tol, max_iter), strict)


def _clear(network, shock, alpha, beta, method, tol, max_iter) -> ClearingResult:
    Pi, pbar, e = _shocked_vectors(network, shock)
    alpha, beta = float(alpha), float(beta)
    vec = clear_vectors(Pi, pbar, e, alpha=alpha, beta=beta, method=method, tol=tol, max_iter=max_iter)
    return result_from_vectors(network, vec, e, alpha=alpha, beta=beta, pbar=pbar)


from ._clearing_sensitivity import loss_amplification, sensitivities  # noqa: E402
