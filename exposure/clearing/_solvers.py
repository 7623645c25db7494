"""Clearing kernels on raw vectors: the fictitious default algorithm and Picard iteration.

Both kernels find the greatest fixed point of the clearing map (Rogers & Veraart 2013;
Eisenberg & Noe 2001 when ``alpha = beta = 1``)::

    Φ(p)_i = p̄_i                         if e_i + (Πᵀp)_i ≥ p̄_i   (solvent)
    Φ(p)_i = α e_i + β (Πᵀp)_i            otherwise                 (in default)

and work with the shortfall ``s = p̄ − p``, which is zero outside the default set ``D``:
``Πᵀp = c − Πᵀs`` with ``c = Πᵀp̄`` computed once, so every later product reads only the
rows of ``Π`` that belong to defaulting nodes (the early active-set restriction).

A node is in default when ``e_i + (Πᵀp)_i < p̄_i (1 − tol)``: a node with zero equity is
solvent and a node that owes nothing never defaults.

Stopping rule (componentwise): every node is held to ``tol`` relative to its *own*
obligations. With the weights ``w_i = max(p̄_i, f_i)`` the solvers stop when the scaled
residual ``r = max_i |Φ(p)_i − p_i| / w_i`` and the error it implies at the observed
contraction, ``r · ρ / (1 − ρ)``, are both below ``tol / 2``; the reported residual is ``r`` and
``converged`` means ``r ≤ tol``. The floor ``f_i = max(OBLIGATION_FLOOR, 64 ε (e_i + (Πᵀp̄)_i) / tol)``
(``ε`` the double-precision machine epsilon) is absolute, ``OBLIGATION_FLOOR`` = 1e-6 units of
account, except where a node's own sums are so much larger than what it owes that rounding
alone exceeds ``tol · p̄_i``: such nodes, and nodes owing less than ``OBLIGATION_FLOOR``, are held
to ``tol · f_i`` instead and counted in the message. With ``stopping="largest"`` the weights are
all ``max(1, ‖p̄‖∞)``, the rule before the componentwise one (looser for small nodes).

Iterations are capped by ``max_iter`` sweeps (one sweep = one product with the rows of the
default set); the returned record always carries ``converged``, ``iterations`` and the
residual ``r``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._params import check_choice, check_number, check_vector
from ..exceptions import InvalidParameterError

__all__ = ["ClearingVectors", "clear_vectors", "METHODS", "STOPPING", "DEFAULT_MAX_ITER", "DIRECT_LIMIT",
           "OBLIGATION_FLOOR", "solve_directly", "residual_weights"]

METHODS = ("fictitious-default", "fixed-point")

#: Stopping rules: each node relative to its own obligations, or every node relative to the largest.
STOPPING = ("componentwise", "largest")

#: Obligations (units of account) below which a node is held to ``tol · OBLIGATION_FLOOR`` in
#: absolute terms rather than to ``tol`` relative to what it owes.
OBLIGATION_FLOOR = 1e-6

#: Rounding allowance of the floor: a node is never held closer than 64 ε times its own sums.
_ROUNDING = 64 * np.finfo(np.float64).eps
DEFAULT_MAX_ITER = 100_000

#: Status codes of a clearing record (SciPy ``linprog`` style).
STATUS = {0: "converged", 1: "iteration limit reached", 2: "numerical failure"}

# Inner solves of the fictitious default algorithm switch from Picard sweeps to GMRES once
# the sweeps contract slower than this (measured rate per sweep) after _PICARD_PROBE sweeps.
_SLOW_RATE = 0.7
_PICARD_PROBE = 8
#: Default sets up to this size are solved directly (sparse LU: exact, and faster than sweeps at
#: this size) by the fictitious default rounds and by the clearing sensitivities; larger ones
#: iteratively (warm sweeps, GMRES when they contract slowly), since the LU fills in. Measured on
#: the default sets of the 10,000- and 30,000-node benchmark networks: the LU of 200 nodes takes
#: 0.1-0.8 ms, of 3,000 nodes 5-27 ms, against 0.01-0.03 ms for a sweep; the LU of the 30,000-node
#: default set of the 100,000-node benchmark takes 15 s, against 30 ms for the whole clearing.
DIRECT_LIMIT = 200


def solve_directly(size: int) -> bool:
    """Whether a default set of ``size`` nodes is solved by sparse LU (:data:`DIRECT_LIMIT`)."""
    return size <= DIRECT_LIMIT


@dataclass(frozen=True, eq=False)
class ClearingVectors:
    """Raw result of :func:`clear_vectors`, every array in the order of ``pbar``.

    Attributes
    ----------
    payments : ndarray
        The clearing vector ``p`` (``0 ≤ p ≤ p̄``).
    assets : ndarray
        ``e + Πᵀp``: the value of what each node holds, before default costs.
    defaulted : ndarray of bool
        ``assets < p̄ (1 − tol)``.
    default_round : ndarray of int
        0 for solvent nodes; otherwise the round of the fictitious default algorithm
        (method ``"fictitious-default"``) or the Picard sweep (``"fixed-point"``) in which the
        node first falls short.
    converged : bool
    iterations : int
        Sweeps done (products with the rows of the default set).
    residual : float
        ``max_i |Φ(p)_i − p_i| / w_i`` with the weights of :func:`residual_weights`
        (each node's own obligations, down to the floor).
    method : str
    status : int
        0 converged, 1 iteration limit reached, 2 numerical failure.
    message : str
    n_rounds : int
        Rounds of the fictitious default algorithm (sweeps that found new defaults for
        ``"fixed-point"``).
    n_floor : int
        Nodes that owe something but less than their floor, held to ``tol`` times the floor.
    """

    payments: np.ndarray
    assets: np.ndarray
    defaulted: np.ndarray
    default_round: np.ndarray
    converged: bool
    iterations: int
    residual: float
    method: str
    status: int
    message: str
    n_rounds: int = 0
    n_floor: int = 0


def _check_inputs(Pi, pbar, e, alpha, beta, tol, max_iter, start, method, stopping):
    owner = "clear_vectors"
    method = check_choice(str(method).replace("_", "-").lower(), "method", owner, METHODS)
    check_choice(stopping, "stopping", owner, STOPPING)
    Pi = sp.csr_array(Pi, dtype=np.float64)
    n = Pi.shape[0]
    if Pi.shape != (n, n):
        raise InvalidParameterError(f"The 'Pi' parameter of clear_vectors must be a square matrix. Got shape {Pi.shape} "
                         "instead.")
    pbar = check_vector(pbar, "pbar", owner, n)
    e = check_vector(e, "e", owner, n)
    alpha = check_number(alpha, "alpha", owner, lo=0.0, hi=1.0)
    beta = check_number(beta, "beta", owner, lo=0.0, hi=1.0)
    tol = check_number(tol, "tol", owner, lo=0.0, lo_open=True)
    max_iter = check_number(DEFAULT_MAX_ITER if max_iter is None else max_iter, "max_iter", owner, lo=0,
                            integer=True)
    if start is not None:
        start = np.clip(check_vector(start, "start", owner, n, nonnegative=False), 0.0, pbar)
    return Pi, pbar, e, alpha, beta, tol, max_iter, start, method


def clear_vectors(Pi, pbar, e, *, alpha=1.0, beta=1.0, method="fictitious-default", tol=1e-9,
                  max_iter=None, start=None, stopping="componentwise") -> ClearingVectors:
    """Greatest clearing vector of a network given as raw vectors.

    Parameters
    ----------
    Pi : sparse array, n × n
        Relative liabilities ``Π[i, j] = L[i, j] / p̄[i]`` (row sums ≤ 1).
    pbar : array of n floats ≥ 0
        Total obligations ``p̄ = L·1 + x``.
    e : array of n floats ≥ 0
        External assets.
    alpha, beta : float in [0, 1]
        Rogers–Veraart recovery on external assets and on claims of a defaulting node;
        ``alpha = beta = 1`` is Eisenberg–Noe.
    method : {"fictitious-default", "fixed-point"}
        Fictitious default rounds, each solved by warm-started sweeps on the default set
        (GMRES when the sweeps contract slowly); or Picard iteration of ``Φ`` from ``p̄``.
    tol : float
        Relative tolerance: of the default test, of the stopping rule (for every node, the
        residual of the iterate and the error it implies at the observed contraction, both
        below ``tol · w_i / 2`` with ``w_i = max(p̄_i, f_i)``, see the module notes) and of the
        reported residual.
    max_iter : int, optional
        Maximum number of sweeps (default 100,000).
    start : array of n floats, optional
        An upper bound ``p⁰ ≥ p*`` of the clearing vector (e.g. the clearing vector before
        external assets fell), used as a warm start. Nodes that default even when every
        payment is ``p⁰`` start in default; with ``start`` their ``default_round`` is 1.
    stopping : {"componentwise", "largest"}
        Each node held to ``tol`` relative to its own obligations (default), or every node to
        ``tol`` relative to the largest obligation, ``max(1, ‖p̄‖∞)`` (looser for small nodes).

    Returns
    -------
    ClearingVectors

    Examples
    --------
    A chain a → b → c: ``a`` owes 10 to ``b`` and holds 4; ``b`` owes 8 outside and holds 2.

    >>> import numpy as np, scipy.sparse as sp
    >>> Pi = sp.csr_array(np.array([[0, 1.0, 0], [0, 0, 0], [0, 0, 0]]))
    >>> r = clear_vectors(Pi, np.array([10.0, 8.0, 0.0]), np.array([4.0, 2.0, 0.0]))
    >>> r.payments.tolist(), r.default_round.tolist()
    ([4.0, 6.0, 0.0], [1, 2, 0])
    """
    Pi, pbar, e, alpha, beta, tol, max_iter, start, method = _check_inputs(
        Pi, pbar, e, alpha, beta, tol, max_iter, start, method, stopping)
    solver = _fictitious_default if method == "fictitious-default" else _picard
    weights = residual_weights(Pi, pbar, e, tol, stopping)
    out = solver(Pi, pbar, e, alpha, beta, tol, max_iter, start, weights)
    n_floor = int(np.count_nonzero((pbar > 0) & (pbar < weights))) if stopping == "componentwise" else 0
    if n_floor:
        out = replace(out, n_floor=n_floor, message=f"{out.message}; {n_floor} node{'s' * (n_floor != 1)} owing "
                      "less than the floor held to tol times the floor")
    return out


def residual_weights(Pi, pbar, e, tol: float, stopping: str = "componentwise") -> np.ndarray:
    """The weights ``w`` of the stopping rule: node ``i``'s residual counts as ``|Φ(p)_i − p_i| / w_i``.

    ``componentwise``: ``w_i = max(p̄_i, f_i)``, ``f_i = max(OBLIGATION_FLOOR, 64 ε (e_i + (Πᵀp̄)_i) / tol)``
    (the module notes); ``largest``: ``w_i = max(1, ‖p̄‖∞)``.
    """
    if stopping == "largest":
        return np.full(pbar.size, _scale(pbar))
    sums = np.abs(e) + Pi.T @ pbar
    return np.maximum(pbar, np.maximum(OBLIGATION_FLOOR, _ROUNDING * sums / tol))


# --------------------------------------------------------------------------- helpers
def _small(delta: float, rate: float, goal: float = 1.0) -> bool:
    """Stopping rule: the scaled residual ``delta`` of the current iterate is below ``goal`` and so
    is the error it implies at contraction ``rate``, ``delta · rate / (1 − rate)``."""
    return delta == 0.0 or (delta <= goal and rate < 1.0 and delta * rate / (1.0 - rate) <= goal)


def _scaled(change: np.ndarray, inv_goal: np.ndarray) -> float:
    """``max_i |change_i| / goal_i``: the residual in units of each node's own goal."""
    return float(np.max(np.abs(change) * inv_goal)) if change.size else 0.0


def _rate(delta: float, prev: float) -> float:
    """Contraction of the last sweep (1 when unknown); callers use the slower of the last two."""
    return delta / prev if 0.0 < prev < np.inf else 1.0


def _scale(pbar):
    return max(1.0, float(pbar.max())) if pbar.size else 1.0


def _phi(PiT, pbar, e, alpha, beta, tol, p, received=None):
    """The clearing map with the tolerant default test; returns (Φ(p), assets, defaulted).

    ``received = Πᵀp`` if the solver already holds it (it does, as ``Πᵀp̄ − Πᵀs``)."""
    if received is None:
        received = PiT @ p
    assets = e + received
    defaulted = assets < pbar * (1.0 - tol)
    out = np.where(defaulted, alpha * e + beta * received, pbar)
    return np.minimum(out, pbar), assets, defaulted


def _finish(PiT, pbar, e, alpha, beta, tol, p, rounds, iterations, n_rounds, method, hit_limit, weights,
            received=None):
    phi, assets, defaulted = _phi(PiT, pbar, e, alpha, beta, tol, p, received)
    residual = _scaled(phi - p, 1.0 / weights)
    rounds = np.where(defaulted, np.maximum(rounds, 1), 0).astype(np.int64)
    converged = residual <= tol
    if converged:
        status, message = 0, (f"{method} converged in {iterations} iterations "
                              f"({n_rounds} rounds, residual {residual:.3g} <= tol {tol:g})")
    else:
        status = 1 if hit_limit else 2
        why = (f"did not converge within {iterations} iterations" if hit_limit
               else f"stopped after {iterations} iterations on a numerical failure")
        message = f"{method} {why} (residual {residual:.3g} > tol {tol:g})"
    return ClearingVectors(payments=p, assets=assets, defaulted=defaulted, default_round=rounds,
                           converged=bool(converged), iterations=int(iterations), residual=residual,
                           method=method, status=status, message=message, n_rounds=int(n_rounds))


# ------------------------------------------------------------- rows of the default set
class _DefaultRows:
    """The rows of ``Π`` of the nodes in default, each extracted once as the default set grows.

    ``loss(s) = Πᵀ s`` for a shortfall ``s`` that is zero outside the default set reads only
    these rows (the active-set restriction); ``restricted()`` gives ``Π_DD`` with its rows and
    columns in the order the nodes joined the default set.
    """

    #: Blocks kept apart before they are merged into one: each block costs a length-n output per
    #: product, each merge a copy of the default rows (merging at 2 was measured fastest).
    _MERGE_AT = 1

    def __init__(self, Pi: sp.csr_array):
        self.Pi = Pi
        self.n = Pi.shape[0]
        self.blocks: list[tuple[np.ndarray, sp.csr_array]] = []

    def add(self, idx: np.ndarray) -> None:
        if idx.size:
            self.blocks.append((idx, self.Pi[idx]))
        if len(self.blocks) > self._MERGE_AT:
            self.blocks = [(self.order(), sp.vstack([R for _, R in self.blocks], format="csr"))]

    def order(self) -> np.ndarray:
        return np.concatenate([i for i, _ in self.blocks]) if self.blocks else np.zeros(0, np.int64)

    def loss(self, s: np.ndarray) -> np.ndarray:
        t = np.zeros(self.n)
        for idx, R in self.blocks:
            t += R.T @ s[idx]
        return t

    def restricted(self) -> tuple[np.ndarray, sp.csr_array]:
        """``(order, Π_DD)``: one pass over the default rows, keeping the columns in the default set."""
        order = self.order()
        pos = np.full(self.n, -1, dtype=np.int64)
        pos[order] = np.arange(order.size)
        data, indices, indptr, offset = [], [], [np.zeros(1, np.int64)], 0
        for _, R in self.blocks:
            col = pos[R.indices]
            keep = col >= 0
            kept = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
            data.append(R.data[keep])
            indices.append(col[keep])
            indptr.append(kept[R.indptr[1:]] + offset)
            offset += int(kept[-1])
        M = sp.csr_array((np.concatenate(data), np.concatenate(indices), np.concatenate(indptr)),
                         shape=(order.size, order.size))
        return order, M


# ------------------------------------------------------------------------ fixed point
def _picard(Pi, pbar, e, alpha, beta, tol, max_iter, start, weights):
    """Picard iteration from ``p̄`` (or ``start``), reading only the rows of defaulting nodes."""
    n = pbar.size
    PiT = Pi.T                                       # a CSC view: no copy
    c = PiT @ pbar                                   # received when everybody pays in full
    p = pbar.copy() if start is None else start.copy()
    rows = _DefaultRows(Pi)
    member = p < pbar
    rows.add(np.flatnonzero(member))
    rounds = np.zeros(n, np.int64)
    thresh = pbar * (1.0 - tol)
    inv_goal = 2.0 / (tol * weights)
    it, n_rounds, prev, last_rate, kept = 0, 0, np.inf, 1.0, None
    while it < max_iter:
        received = c - rows.loss(pbar - p)
        np.maximum(received, 0.0, out=received)      # round-off guard: Πᵀp ≥ 0
        dflt = e + received < thresh
        new = np.where(dflt, alpha * e + beta * received, pbar)
        np.minimum(new, pbar, out=new)
        it += 1
        fresh = dflt & ~member
        if fresh.any():
            member |= fresh
            rows.add(np.flatnonzero(fresh))
            rounds[fresh] = it
            n_rounds += 1
        # ‖Φ(p) − p‖∞ is the residual of p itself: stop on it, keeping p
        delta = _scaled(new - p, inv_goal)
        rate = _rate(delta, prev)
        if not fresh.any() and _small(delta, max(rate, last_rate)):
            kept = received                          # Πᵀp of the iterate kept
            break
        last_rate, prev = rate, delta
        p = new
    return _finish(PiT, pbar, e, alpha, beta, tol, p, rounds, it, n_rounds, "fixed-point",
                   hit_limit=it >= max_iter, weights=weights, received=kept)


# ---------------------------------------------------------------- fictitious default
def _solve_linear(M, b, s0, beta, hi, inv_goal, budget, sweeps_first=True):
    """Solve ``s = b + β Mᵀ s`` (clipped to [0, hi]) from ``s0`` until every change is within its
    goal (``|Δs_i| · inv_goal_i ≤ 1``); returns (s, sweeps, ok).

    Sparse LU for small systems; otherwise Picard sweeps (monotone from a lower bound,
    cheap), then GMRES on ``(I − β Mᵀ) s = b`` when the sweeps contract slower than ``_SLOW_RATE``.
    """
    MT = M.T                                          # a CSC view: matvecs need no copy
    if solve_directly(s0.size) and budget > 0:
        A = (sp.identity(s0.size, format="csc") - beta * sp.csc_array(MT)).tocsc()
        try:
            x = spla.splu(A).solve(b)
        except RuntimeError:                      # singular: a closed group without outflow
            x = None
        if x is not None and np.all(np.isfinite(x)):
            return np.clip(x, 0.0, hi), 1, True
    s = s0
    prev, last_rate, sweeps = np.inf, 1.0, 0
    while sweeps_first and sweeps < budget:
        new = b + beta * (MT @ s)
        np.clip(new, 0.0, hi, out=new)
        sweeps += 1
        delta = _scaled(new - s, inv_goal)
        rate = _rate(delta, prev)
        if _small(delta, max(rate, last_rate)):   # the residual of s: keep s
            return s, sweeps, True
        s = new
        last_rate, prev = rate, delta
        if sweeps >= _PICARD_PROBE and rate > _SLOW_RATE:
            break
    if sweeps >= budget:
        return s, sweeps, False
    A = (sp.identity(s.size, format="csc") - beta * sp.csc_array(MT)).tocsc()
    bnorm = max(float(np.linalg.norm(b)), 1e-300)
    count = [0]

    def _count(_):
        count[0] += 1

    restart = 60
    goal = 1.0 / float(inv_goal.max()) if inv_goal.size else 1.0     # the tightest goal
    x, info = spla.gmres(A, b, x0=s, rtol=max(1e-15, min(1e-3, goal / bnorm * 1e-2)), atol=0.0, restart=restart,
                         maxiter=max(1, (budget - sweeps) // restart + 1), callback=_count,
                         callback_type="pr_norm")
    sweeps += count[0]
    x = np.clip(x, 0.0, hi)
    # polish with sweeps so that the reported residual is that of the clearing map
    for _ in range(4):
        new = np.clip(b + beta * (MT @ x), 0.0, hi)
        sweeps += 1
        delta = _scaled(new - x, inv_goal)
        x = new
        if delta <= 1.0:
            return x, sweeps, True
    return x, sweeps, info == 0


def _solve_round(rows, s, b_full, beta, pbar, inv_goal_full, budget, t=None):
    """One round: ``s_D = b_D + β (Πᵀ s)_D`` on the default set ``D``, warm-started from ``s``.

    Sweeps read only the default rows (``rows.loss``) and never build ``Π_DD``: building it
    costs more than the few sweeps a round takes on the benchmark network. ``Π_DD`` is built
    for a small default set (sparse LU) and when the sweeps contract slowly (GMRES).
    ``t``, if given, is ``Πᵀ s`` for the ``s`` passed in (the previous round's last product:
    the new defaults enter with zero shortfall), saving the first product.
    Returns ``(s, Πᵀ s, sweeps, ok)``; ``s`` is updated in place.
    """
    order = rows.order()
    b, hi, inv_goal = b_full[order], pbar[order], inv_goal_full[order]
    if solve_directly(order.size) or budget <= 0:
        _, M = rows.restricted()
        sD, used, ok = _solve_linear(M, b, s[order], beta, hi, inv_goal, budget)
        s[order] = sD
        return s, rows.loss(s), used, ok
    if t is None:
        t = rows.loss(s)
    prev, last_rate, sweeps = np.inf, 1.0, 0
    while sweeps < budget:
        new = b + beta * t[order]
        np.clip(new, 0.0, hi, out=new)
        # the change is the residual ‖Φ(p) − p‖∞ of the current s on the default set (elsewhere
        # Φ(p) = p̄ = p): stop on it, with t already the product for this s
        delta = _scaled(new - s[order], inv_goal)
        rate = _rate(delta, prev)
        if _small(delta, max(rate, last_rate)):
            return s, t, sweeps, True
        last_rate, prev = rate, delta
        s[order] = new
        sweeps += 1
        t = rows.loss(s)
        if sweeps >= _PICARD_PROBE and rate > _SLOW_RATE:
            _, M = rows.restricted()
            sD, used, ok = _solve_linear(M, b, s[order], beta, hi, inv_goal, budget - sweeps, sweeps_first=False)
            s[order] = sD
            return s, rows.loss(s), sweeps + used, ok
    return s, t, sweeps, False


def _fictitious_default(Pi, pbar, e, alpha, beta, tol, max_iter, start, weights):
    """Fictitious default rounds; each round's restricted system solved iteratively, warm-started.

    Warm start: the previous round's shortfall (zero for the new defaults) is a lower bound of
    this round's, so the sweeps rise monotonically towards it.
    """
    n = pbar.size
    PiT = Pi.T                                       # a CSC view: no copy
    c = PiT @ pbar
    thresh = pbar * (1.0 - tol)
    inv_goal = 2.0 / (tol * weights)
    rounds = np.zeros(n, np.int64)
    s = np.zeros(n)                                  # shortfall p̄ − p, zero outside the default set
    received = c if start is None else PiT @ start
    # s_D = p̄_D − α e_D − β c_D + β (Πᵀ s)_D  for every node of the default set
    b_full = pbar - alpha * e - beta * c
    in_d = np.zeros(n, bool)
    rows = _DefaultRows(Pi)
    it, k, ok, t = 0, 0, True, np.zeros(n)
    while True:
        new = ~in_d & (e + received < thresh)
        if not new.any():
            break
        k += 1
        rounds[new] = k
        in_d |= new
        idx = np.flatnonzero(new)
        rows.add(idx)
        if start is not None:
            s[idx] = pbar[idx] - start[idx]
        s, t, used, ok = _solve_round(rows, s, b_full, beta, pbar, inv_goal, max(0, max_iter - it),
                                      t if start is None else None)
        it += used
        received = np.maximum(c - t, 0.0)
        if not ok or k >= n:
            break
    # Πᵀp = Πᵀp̄ − Πᵀs is known from the last product (with no default, p = p̄ and Πᵀp = c)
    return _finish(PiT, pbar, e, alpha, beta, tol, pbar - s, rounds, it, k, "fictitious-default",
                   hit_limit=not ok and it >= max_iter, weights=weights, received=received if k else c)
