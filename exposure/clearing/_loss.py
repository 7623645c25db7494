"""Who bears a loss: share-like liabilities and first-loss buffers (see :mod:`exposure.clearing`).

Share-like liabilities
    A node whose ``liability_type`` is ``shares`` (a vault, a wrapper, an exchange-rate token)
    pays its creditors pro rata what it holds. The clearing is the same map as for debt —
    ``p_i = min(p̄_i, assets_i)``, recovery ``p_i / p̄_i`` capped at 1 — but a shortfall of a
    ``shares`` node is a fall of its value per share, not a default: it is *impaired* when its
    recovery falls below ``1 − tol`` and it never has a default round.

First-loss buffers
    A node with ``first_loss`` ``b_i`` draws on it before any creditor takes a loss. With
    ``a_i = e_i + (Πᵀp)_i`` what the node holds, it pays ``p_i = min(p̄_i, a_i + b_i)`` and uses
    ``u_i = min(b_i, max(0, p̄_i − a_i))`` of its buffer; it defaults (or, owing shares, is
    impaired) only when ``a_i + b_i < p̄_i (1 − tol)``. Its equity stays ``max(0, a_i − p̄_i)``:
    the buffer is the provider's capital, not the node's.

    The ``first_loss_provider`` ``k`` loses what the buffer pays out: ``e_k ← e_k − Σ_{i: k(i) = k} u_i``.
    A buffer is only as good as its provider's capital: the buffers a node provides are cut
    pro rata to what it holds, ``b_i ← b_i · min(1, e_k / Σ_{i: k(i) = k} b_i)``, so the provider
    never pays out more than it has. A buffer without provider is paid from outside the network.

    The provider's loss lowers its assets, which may lower its payments and so raise other
    shortfalls: the clearing vector and the draws are found together. From no draw (an upper
    bound of the payments), each pass clears with the providers' assets cut by the last pass's
    draws; payments fall and draws rise monotonically, so the passes decrease to the greatest
    joint fixed point. They stop when no draw moves by more than ``tol · max(1, ‖p̄‖∞)``.

Conservation: every dollar an asset shock destroys is lost by a holder (the equity of a node,
whoever holds the node's shares included), by a buffer provider (a node's equity, or outside the
network) or by an external creditor, up to default costs under Rogers–Veraart.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ._solvers import ClearingVectors, clear_vectors

__all__ = ["LossBearing", "clear_bearing", "MAX_PASSES"]

#: Passes of the draws on node-provided buffers (each one clearing): a bound the monotone passes
#: reach only on a chain of providers providing each other's buffers.
MAX_PASSES = 100


@dataclass(frozen=True, eq=False)
class LossBearing:
    """Who bears a node's loss, one entry per node in graph order.

    ``shares``: the node owes shares (``liability_type`` ``shares``); ``buffer``: its first-loss
    capital (USD); ``provider``: the position of the buffer's provider, ``-1`` outside the network.
    """

    shares: np.ndarray
    buffer: np.ndarray
    provider: np.ndarray

    @classmethod
    def from_network(cls, network) -> "LossBearing":
        buffer, provider = network.first_loss()
        return cls(shares=network.is_shares(), buffer=buffer, provider=provider)

    @property
    def has_buffers(self) -> bool:
        return bool((self.buffer > 0).any())

    def available(self, e: np.ndarray) -> np.ndarray:
        """The buffers each node can draw, their node providers' cut to what the provider holds."""
        b = self.buffer
        by_node = (self.provider >= 0) & (b > 0)
        if not by_node.any():
            return b
        n = len(b)
        k = self.provider[by_node]
        promised = np.bincount(k, weights=b[by_node], minlength=n)
        factor = np.minimum(1.0, np.divide(np.maximum(e, 0.0), promised, out=np.ones(n), where=promised > 0))
        out = b.copy()
        out[by_node] = b[by_node] * factor[k]
        return out

    def provider_losses(self, used: np.ndarray) -> np.ndarray:
        """What each node loses as a provider of the buffers drawn ``used`` (0 for non-providers)."""
        by_node = self.provider >= 0
        return np.bincount(self.provider[by_node], weights=used[by_node], minlength=len(used))

    def classify(self, shortfall: np.ndarray, rounds: np.ndarray):
        """``(defaulted, impaired, default_round)`` from the clearing's shortfall set: a debt node in
        shortfall defaults (in its round), a shares node in shortfall is impaired (no round)."""
        shortfall = np.asarray(shortfall, dtype=bool)
        return (shortfall & ~self.shares, shortfall & self.shares,
                np.where(self.shares, 0, rounds).astype(np.int64))


@dataclass(frozen=True, eq=False)
class BearingVectors:
    """A clearing with first-loss buffers: the clearing record (``assets`` are what each node holds,
    buffers excluded), the buffer drawn by each node, and the external assets after the providers' draws
    (``e``) and as the clearing saw them, buffers included (``e_clear``)."""

    vectors: ClearingVectors
    buffer_used: np.ndarray
    e: np.ndarray
    e_clear: np.ndarray
    passes: int


def clear_bearing(Pi, pbar, e, bearing: LossBearing, *, alpha=1.0, beta=1.0, method="fictitious-default",
                  tol=1e-9, max_iter=None, start=None) -> BearingVectors:
    """The clearing of :func:`~exposure.clearing.clear_vectors` with first-loss buffers drawn first
    (module docstring). Without buffers it is exactly ``clear_vectors``.

    ``start`` is used as a warm start only when no buffer has a node provider (a provider's draws
    are found by passes whose first one may lie above ``start``; each pass then starts cold).
    """
    e = np.asarray(e, dtype=np.float64)
    if not bearing.has_buffers:
        vec = clear_vectors(Pi, pbar, e, alpha=alpha, beta=beta, method=method, tol=tol, max_iter=max_iter,
                            start=start)
        return BearingVectors(vec, np.zeros_like(e), e, e, 1)
    by_node = bool(((bearing.provider >= 0) & (bearing.buffer > 0)).any())
    goal = tol * max(1.0, float(np.max(pbar, initial=0.0)))
    b = bearing.available(e)
    e_cur = e
    used = np.zeros_like(e)
    # later passes start cold, so that default rounds stay the rounds of the algorithm
    warm = None if by_node else start
    passes, sweeps = 0, 0
    while True:
        passes += 1
        budget = None if max_iter is None else max(0, int(max_iter) - sweeps)   # max_iter bounds all passes
        vec = clear_vectors(Pi, pbar, e_cur + b, alpha=alpha, beta=beta, method=method, tol=tol,
                            max_iter=budget, start=warm)
        sweeps += vec.iterations
        own = vec.assets - b
        new_used = np.clip(pbar - own, 0.0, b)
        change = float(np.max(np.abs(new_used - used), initial=0.0))
        used = new_used
        if not by_node or change <= goal or passes >= MAX_PASSES or not vec.converged:
            break
        e_cur = np.maximum(e - bearing.provider_losses(used), 0.0)
    record = dataclasses.replace(vec, assets=own)
    if by_node:
        record = dataclasses.replace(record, iterations=sweeps,
                                     message=f"{vec.message}; the draws on first-loss buffers settled in {passes} "
                                             f"passes ({sweeps} iterations in all)")
    if by_node and change > goal and vec.converged:
        record = dataclasses.replace(
            record, converged=False, status=1,
            message=f"{vec.message}; the draws on first-loss buffers still moved by {change:.3g} after "
                    f"{passes} passes")
    return BearingVectors(record, used, e_cur, e_cur + b, passes)
