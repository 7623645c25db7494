"""Eisenberg–Noe and Rogers–Veraart clearing of a network (see :mod:`exposure.clearing`)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .._results import report
from ..exceptions import InvalidShockError
from ..network import ExposureNetwork
from ..shocks import apply_shock
from ._loss import LossBearing, clear_bearing
from ._result import ClearingResult, result_from_vectors

__all__ = ["eisenberg_noe", "rogers_veraart", "clear_claims"]


# --------------------------------------------------------------------------- models
def _shocked_vectors(network: ExposureNetwork, shock):
    if shock is None or isinstance(shock, Mapping):
        e = apply_shock(network, shock).external_assets
    else:
        f = np.asarray(shock, dtype=np.float64)
        if f.shape != (network.n,) or not np.all((f >= 0) & (f <= 1)):
            raise InvalidShockError(f"A shock vector must hold {network.n} fractions in [0, 1].")
        e = network.external_assets * (1.0 - f)
    pbar = network.total_obligations()
    return network.relative_liabilities(pbar), pbar, np.asarray(e, dtype=np.float64)


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
    return report(clear_claims(network, shock, alpha=alpha, beta=beta, method=method, tol=tol, max_iter=max_iter),
                  strict=strict, what="Clearing did not converge")


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
    return report(clear_claims(network, shock, method=method, tol=tol, max_iter=max_iter), strict=strict,
                  what="Clearing did not converge")


def clear_claims(network: ExposureNetwork, shock=None, *, alpha: float = 1.0, beta: float = 1.0,
                 method: str = "fictitious-default", tol: float = 1e-9, max_iter: int | None = None
                 ) -> ClearingResult:
    """The clearing of the claims of ``network`` (holdings and positions left out), unreported.

    :func:`eisenberg_noe` and :func:`rogers_veraart` are this plus the convergence report;
    :func:`exposure.clear` solves a network with holdings or positions through the mechanics.
    First-loss buffers are drawn before any creditor loses, and a node that owes shares is
    impaired, not in default (:mod:`exposure.clearing._loss`).
    """
    Pi, pbar, e = _shocked_vectors(network, shock)
    alpha, beta = float(alpha), float(beta)
    bearing = LossBearing.from_network(network)
    bv = clear_bearing(Pi, pbar, e, bearing, alpha=alpha, beta=beta, method=method, tol=tol, max_iter=max_iter)
    return result_from_vectors(network, bv.vectors, bv.e, alpha=alpha, beta=beta, pbar=pbar,
                               buffer_used=bv.buffer_used, e_clear=bv.e_clear, bearing=bearing)
