"""Sensitivities of the clearing to external assets (Liu & Staum 2010) and loss amplification.

At a clearing vector where no node sits exactly on its default threshold, the default set
``D`` does not change under a small change of ``e``, and on ``D``::

    p_D = α e_D + β Π_DDᵀ p_D + β Π_NDᵀ p̄_N      (N: the solvent nodes, paying p̄)

so ``∂p_D/∂e_D = α (I − β Π_DDᵀ)⁻¹`` and ``∂p/∂e_j = 0`` for a solvent ``j``. The equity of a
solvent node is ``E_i = e_i + (Πᵀp)_i − p̄_i``, so ``∂E_i/∂e_j = δ_ij + Σ_k Π_ki ∂p_k/∂e_j``;
a node in default has ``E_i = 0``. Aggregates over all nodes for every ``j`` at once need one
solve with ``(I − β Π_DDᵀ)ᵀ`` per weight vector (Liu & Staum [1]_, §3): one sparse LU
factorisation of the default set's matrix serves them all.

Value is conserved: ``Σ e = Σ E + (paid to external creditors) + (default costs)``, so one more
dollar lost at ``j`` costs the network's equity, the external creditors and the default costs
one dollar in all. ``loss_amplification`` is how many dollars of unpaid obligations
(``total_shortfall``) it creates: 0 at a solvent node, at least ``α`` at a node in default,
more than 1 where the loss runs on through chains of defaulting creditors.

References
----------
.. [1] E. Liu and J. Staum, "Sensitivity analysis of the Eisenberg–Noe model of contagion",
   Operations Research Letters 38(5):489–491, 2010. doi:10.1016/j.orl.2010.07.007
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._results import Result, report
from ..exceptions import ConvergenceError, InvalidParameterError
from ._models import clear_claims
from ._result import ClearingResult
from ._solvers import _solve_linear, solve_directly

__all__ = ["ClearingSensitivities", "sensitivities", "loss_amplification"]

#: Largest number of nodes for which :meth:`ClearingSensitivities.payments_jacobian` is dense.
DENSE_LIMIT = 5000


@dataclass(frozen=True, eq=False)
class ClearingSensitivities(Result):
    """Derivatives of a clearing with respect to external assets.

    Attributes
    ----------
    result : ClearingResult
        The clearing they are taken at; ``converged``, ``status`` and ``message`` are its own.
    default_set : ndarray of int
        Positions of the nodes in default.
    """

    result: object
    default_set: np.ndarray
    _Pi: sp.csr_array
    _solve: object          # solve(rhs, trans) with (I − β Π_DDᵀ)

    @property
    def node_ids(self) -> pd.Index:
        return self.result.node_ids

    @property
    def converged(self) -> bool:
        return bool(self.result.converged)

    @property
    def status(self) -> int:
        return int(self.result.status)

    @property
    def message(self) -> str:
        return str(self.result.message)

    def summary(self) -> dict:
        """Size of the default set the derivatives hold on, and the clearing's record."""
        return {"n_nodes": len(self.node_ids), "default_set": int(self.default_set.size), **self._record()}

    def payments_wrt(self, j: int) -> np.ndarray:
        """``∂p/∂e_j`` for the node at position ``j`` (n values)."""
        n = len(self.node_ids)
        out = np.zeros(n)
        D = self.default_set
        pos = np.searchsorted(D, j)
        if pos < D.size and D[pos] == j:
            u = np.zeros(D.size)
            u[pos] = 1.0
            out[D] = self.result.alpha * self._solve(u, "N")
        return out

    def equity_wrt(self, j: int) -> np.ndarray:
        """``∂E/∂e_j`` for the node at position ``j`` (n values; 0 for nodes in default)."""
        dp = self.payments_wrt(j)
        de = self._Pi.T @ dp
        de[j] += 1.0
        de[self.result.defaulted] = 0.0
        return de

    def payments_jacobian(self) -> np.ndarray:
        """Dense ``J[i, j] = ∂p_i/∂e_j`` (only up to :data:`DENSE_LIMIT` nodes)."""
        n = len(self.node_ids)
        if n > DENSE_LIMIT:
            raise InvalidParameterError(f"payments_jacobian is dense and limited to {DENSE_LIMIT} nodes; the network has "
                             f"{n}. Use payments_wrt(j) or loss_amplification instead.")
        return np.column_stack([self.payments_wrt(j) for j in range(n)]) if n else np.zeros((0, 0))

    def equity_jacobian(self) -> np.ndarray:
        """Dense ``J[i, j] = ∂E_i/∂e_j`` (only up to :data:`DENSE_LIMIT` nodes)."""
        n = len(self.node_ids)
        if n > DENSE_LIMIT:
            raise InvalidParameterError(f"equity_jacobian is dense and limited to {DENSE_LIMIT} nodes; the network has {n}.")
        return np.column_stack([self.equity_wrt(j) for j in range(n)]) if n else np.zeros((0, 0))

    def aggregate(self, weights: np.ndarray) -> np.ndarray:
        """``Σ_k w_k ∂p_k/∂e_j`` for every ``j`` (one transposed solve)."""
        n = len(self.node_ids)
        out = np.zeros(n)
        D = self.default_set
        if D.size:
            out[D] = self.result.alpha * self._solve(np.asarray(weights, dtype=np.float64)[D], "T")
        return out

    def to_frame(self) -> pd.DataFrame:
        """The loss-amplification table, one row per node (see :func:`loss_amplification`)."""
        r = self.result
        Pi = self._Pi
        n = len(r.node_ids)
        d = r.defaulted
        pbar = r.obligations
        # share of k's payments going to external creditors: x_k / p̄_k = 1 − Σ_j Π[k, j]
        share_ext = np.where(pbar > 0, np.maximum(0.0, 1.0 - np.asarray(Pi.sum(axis=1)).ravel()), 0.0)
        to_solvent = Pi @ (~d).astype(np.float64)        # share of k's payments going to solvent nodes
        to_default = Pi @ d.astype(np.float64)
        shortfall = self.aggregate(np.ones(n))
        spill = self.aggregate(to_solvent)
        ext = self.aggregate(share_ext)
        own = (~d).astype(np.float64)
        costs = (1.0 - r.alpha) * d + (1.0 - r.beta) * self.aggregate(to_default)
        return pd.DataFrame({
            "node": np.asarray(r.node_ids, dtype=object),
            "defaulted": d.astype(bool),
            "loss_amplification": shortfall,
            "equity_loss": own + spill,
            "own_equity_loss": own,
            "spillover": spill,
            "external_creditor_loss": ext,
            "default_cost_saved": costs,
        })


def _factorise(Pi: sp.csr_array, D: np.ndarray, beta: float, tol: float = 1e-12):
    """A solver for ``(I − β Π_DDᵀ) y = b`` (``trans="T"``: the transposed system)."""
    if D.size == 0:
        return lambda b, trans: np.zeros(0)
    M = Pi[D][:, D]
    if solve_directly(D.size):                 # one rule with the clearing rounds (DIRECT_LIMIT)
        lu = spla.splu((sp.identity(D.size, format="csc") - beta * M.T.tocsc()).tocsc())
        return lambda b, trans: lu.solve(np.asarray(b, dtype=np.float64), trans=trans)
    MT = M.T.tocsr()
    hi = np.full(D.size, np.inf)

    def solve(b, trans):
        # y = b + β Π_DDᵀ y  (trans "N"), or y = b + β Π_DD y  (trans "T"); b ≥ 0 so y ≥ 0
        b = np.asarray(b, dtype=np.float64)
        if (b < 0).any():
            raise InvalidParameterError("The right-hand side of a sensitivity solve must be non-negative.")
        goal = tol * max(1.0, float(b.max()))
        y, _, ok = _solve_linear(MT if trans == "T" else M, b, b.copy(), beta, hi, goal, 100_000)
        if not ok:
            raise ConvergenceError("The sensitivity solve on the default set did not converge.")
        return y
    return solve


def sensitivities(network_or_result, shock=None, *, result=None, alpha: float = 1.0, beta: float = 1.0,
                  method: str = "fictitious-default", tol: float = 1e-9, max_iter=None,
                  strict: bool = False) -> ClearingSensitivities:
    """Derivatives of the clearing vector and of equity with respect to external assets.

    Parameters
    ----------
    network_or_result : ExposureNetwork or ClearingResult
        The network (its claims cleared here under ``shock``), or a clearing already made. A
        network with holdings or secured positions must come as the result of
        :func:`exposure.clear`: the derivatives are then those of the clearing of its last round,
        with token prices and positions held where the mechanics left them.
    shock : mapping or array, optional
        As for :func:`exposure.clearing.eisenberg_noe`.
    result : ClearingResult, optional
        The clearing of ``network`` under ``shock`` if already computed (its ``alpha``,
        ``beta`` are used).
    alpha, beta, method, tol, max_iter, strict
        As for :func:`exposure.clearing.rogers_veraart`, when ``result`` is not given.

    Returns
    -------
    ClearingSensitivities
        ``payments_wrt(j)``, ``equity_wrt(j)``, the dense Jacobians for small networks,
        ``aggregate(w)`` and ``to_frame()`` (the loss-amplification table).

    Notes
    -----
    One-sided where a node sits exactly on its default threshold (its default set would
    change); the derivative returned is that of the current default set.

    Examples
    --------
    Chain ``a → b``: ``a`` owes 10 to ``b`` and holds 4, ``b`` owes 8 outside and holds 2;
    both default. A dollar more at ``a`` is paid on to ``b`` and by ``b`` to its creditors.

    >>> import pandas as pd
    >>> from exposure import ExposureNetwork
    >>> net = ExposureNetwork.from_frames(
    ...     pd.DataFrame({"id": ["a", "b"], "external_assets": [4.0, 2.0],
    ...                   "external_liabilities": [0.0, 8.0]}),
    ...     pd.DataFrame({"debtor": ["a"], "creditor": ["b"], "amount": [10.0]}))
    >>> sensitivities(net).payments_jacobian().tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    if isinstance(network_or_result, ClearingResult):
        result = network_or_result
    if result is not None:
        # a result of the cross-collateral mechanics answers with the clearing of its last round
        result = result._claims_clearing()
        network = result.network
        if network is None:
            raise InvalidParameterError("This ClearingResult does not record its network; pass the network and result=.")
    else:
        network = network_or_result
        if network.has_mechanics:
            raise InvalidParameterError(
                "The network has holdings or secured positions: its clearing moves with token prices and "
                "liquidations, so the sensitivities of its claims alone would not be those of the network. "
                "Pass the result of exposure.clear (the derivatives of its last clearing, prices and positions "
                "held fixed) or network.claims_view() (holdings and positions as face-value claims).")
        result = report(clear_claims(network, shock, alpha=alpha, beta=beta, method=method, tol=tol,
                                     max_iter=max_iter), strict=strict, what="Clearing did not converge")
    Pi = network.relative_liabilities()
    D = np.flatnonzero(result.defaulted)
    return ClearingSensitivities(result=result, default_set=D, _Pi=Pi, _solve=_factorise(Pi, D, result.beta))


def loss_amplification(network, shock=None, *, alpha: float = 1.0, beta: float = 1.0,
                       method: str = "fictitious-default", tol: float = 1e-9, max_iter=None,
                       strict: bool = False, result=None) -> pd.DataFrame:
    """What one more dollar of loss at each node costs the system, from one factorisation.

    Returns
    -------
    DataFrame
        One row per node in graph order, every column per dollar of external assets lost
        at that node:

        ``loss_amplification``
            ``Σ_k ∂p_k/∂e_j``: dollars of obligations left unpaid across the network
            (``total_shortfall``); 0 for a solvent node.
        ``equity_loss``, ``own_equity_loss``, ``spillover``
            Equity lost by all nodes, by the node itself (1 if solvent, else 0), by the others.
        ``external_creditor_loss``
            Lost by creditors outside the network.
        ``default_cost_saved``
            Fall in Rogers–Veraart default costs (value that a defaulting node would have
            lost anyway); 0 for Eisenberg–Noe.

        ``equity_loss + external_creditor_loss + default_cost_saved = 1`` (value conservation).

    See Also
    --------
    sensitivities
    """
    return sensitivities(network, shock, result=result, alpha=alpha, beta=beta, method=method, tol=tol,
                         max_iter=max_iter, strict=strict).to_frame()
