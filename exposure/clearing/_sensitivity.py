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
one dollar in all.

Who bears a loss (:mod:`exposure.clearing._loss`): ``D`` is the set of nodes in shortfall after
their first-loss buffers — debt nodes in default and impaired nodes owing shares alike, whose
payments both move with ``e``. A node drawing part of its buffer pays in full and keeps zero
equity: one more dollar lost there, or one dollar less paid to it, is a dollar lost by the
buffer's provider. So the derivatives use ``Π`` with every such node's column moved to its
provider (followed along a chain of such nodes), and a dollar lost at such a node is a dollar lost
at its provider; where the provider is outside the network the dollar leaves it (the column
``buffer_loss``). Away from the thresholds this is exact, except where a provider's buffers are
cut to what it holds (the cut moves with its assets). ``loss_amplification`` is how many dollars of unpaid obligations
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
    #: for each node, the node whose external assets a marginal loss there reaches: itself, the provider
    #: of a buffer it is drawing (along the chain), or -1 (a provider outside the network)
    _route: np.ndarray = None
    #: per node, the share of its payments that reaches a buffer paid from outside the network
    _to_outside_buffer: np.ndarray = None

    def _target(self, j: int) -> int:
        return int(j) if self._route is None else int(self._route[j])

    def _in_shortfall(self) -> np.ndarray:
        short = np.zeros(len(self.node_ids), bool)
        short[self.default_set] = True
        return short

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
        j = self._target(j)
        if j < 0:
            return out
        D = self.default_set
        pos = np.searchsorted(D, j)
        if pos < D.size and D[pos] == j:
            u = np.zeros(D.size)
            u[pos] = 1.0
            out[D] = self.result.alpha * self._solve(u, "N")
        return out

    def equity_wrt(self, j: int) -> np.ndarray:
        """``∂E/∂e_j`` for the node at position ``j`` (n values; 0 for nodes in shortfall or drawing a buffer)."""
        t = self._target(j)
        if t < 0:
            return np.zeros(len(self.node_ids))
        dp = self.payments_wrt(t)
        de = self._Pi.T @ dp
        de[t] += 1.0
        de[self._in_shortfall()] = 0.0
        if self._route is not None:
            de[self._route != np.arange(len(de))] = 0.0
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
        if self._route is not None:
            out = np.where(self._route >= 0, out[np.maximum(self._route, 0)], 0.0)
        return out

    def to_frame(self) -> pd.DataFrame:
        """The loss-amplification table, one row per node (see :func:`loss_amplification`)."""
        r = self.result
        Pi = self._Pi
        n = len(r.node_ids)
        d = self._in_shortfall()
        pbar = r.obligations
        route = np.arange(n) if self._route is None else self._route
        own_node = route == np.arange(n)                 # a loss here is the node's own
        t = np.maximum(route, 0)
        # share of k's payments going to external creditors: x_k / p̄_k = 1 − Σ_j Π[k, j]
        to_buffer = np.zeros(n) if self._to_outside_buffer is None else self._to_outside_buffer
        share_ext = np.where(pbar > 0, np.maximum(0.0, 1.0 - np.asarray(Pi.sum(axis=1)).ravel() - to_buffer), 0.0)
        solvent = ~d & own_node                          # paying in full with equity to lose
        to_solvent = Pi @ solvent.astype(np.float64)     # share of k's payments going to such nodes
        to_default = Pi @ d.astype(np.float64)
        shortfall = self.aggregate(np.ones(n))
        ext = self.aggregate(share_ext)
        outside = self.aggregate(to_buffer)
        # the node that finally loses the dollar: its own equity if solvent, else it passes the dollar on
        lost_at_target = np.where(route >= 0, solvent[t], False).astype(np.float64)
        own = np.where(own_node, lost_at_target, 0.0)
        spill = self.aggregate(to_solvent) + np.where(own_node, 0.0, lost_at_target)
        costs = np.where(route >= 0, (1.0 - r.alpha) * d[t], 0.0) + (1.0 - r.beta) * self.aggregate(to_default)
        return pd.DataFrame({
            "node": np.asarray(r.node_ids, dtype=object),
            "defaulted": np.asarray(r.defaulted, dtype=bool),
            "loss_amplification": shortfall,
            "equity_loss": own + spill,
            "own_equity_loss": own,
            "spillover": spill,
            "external_creditor_loss": ext,
            "default_cost_saved": costs,
            "buffer_loss": (route < 0).astype(np.float64) + outside,
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
        inv_goal = np.full(b.size, 1.0 / (tol * max(1.0, float(b.max(initial=0.0)))))
        y, _, ok = _solve_linear(MT if trans == "T" else M, b, b.copy(), beta, hi, inv_goal, 100_000)
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
    short = np.asarray(result.defaulted, bool) | np.asarray(getattr(result, "impaired", False), bool)
    D = np.flatnonzero(short)
    route = _loss_route(network, result, short)
    outside = None
    if route is not None:
        Pi, outside = _routed(Pi, route)
    return ClearingSensitivities(result=result, default_set=D, _Pi=Pi, _solve=_factorise(Pi, D, result.beta),
                                 _route=route, _to_outside_buffer=outside)


def _routed(Pi: sp.csr_array, route: np.ndarray):
    """``Π`` with the column of every node that passes a loss on (``route[c] != c``) moved to ``route[c]``,
    and dropped where that is outside the network; returns the matrix and each row's dropped share."""
    cols = route[Pi.indices]
    keep = cols >= 0
    rows = np.repeat(np.arange(Pi.shape[0]), np.diff(Pi.indptr))
    dropped = np.bincount(rows[~keep], weights=Pi.data[~keep], minlength=Pi.shape[0])
    moved = sp.csr_array((Pi.data[keep], (rows[keep], cols[keep])), shape=Pi.shape)
    moved.sum_duplicates()
    moved.sort_indices()
    return moved, dropped


def _loss_route(network, result, short: np.ndarray) -> np.ndarray | None:
    """Where a marginal loss at each node lands (see the module docstring): the node itself, unless it draws
    part of its first-loss buffer, when the loss is its provider's (followed along the chain; -1 outside)."""
    used = np.asarray(getattr(result, "buffer_used", np.zeros(0)), dtype=np.float64)
    if not used.size or not (used > 0).any():
        return None
    n = len(used)
    _, provider = network.first_loss()
    drawing = (used > 0) & ~short
    route = np.arange(n)
    route[drawing] = provider[drawing]
    for _ in range(n):                              # follow chains of providers that draw themselves
        nxt = np.where(route >= 0, route, 0)
        hop = (route >= 0) & drawing[nxt] & (route != np.arange(n))
        if not hop.any():
            break
        route[hop] = provider[route[hop]]
    return route


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

        ``buffer_loss``
            Lost by providers of first-loss capital outside the network (0 without buffers).

        ``equity_loss + external_creditor_loss + default_cost_saved + buffer_loss = 1`` (value
        conservation).

    See Also
    --------
    sensitivities
    """
    return sensitivities(network, shock, result=result, alpha=alpha, beta=beta, method=method, tol=tol,
                         max_iter=max_iter, strict=strict).to_frame()
