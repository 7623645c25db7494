"""Contagion hubs: which nodes spread the most distress.

:func:`rank` scores every node by the damage its own distress does to the others, with
one of several methods, and ranks them (rank 1 = most systemic). Direction follows
:mod:`exposure.network`: ``L[i, j]`` is what ``i`` owes ``j``, so ``A[j, i] = L[i, j]``
is ``j``'s claim on ``i`` and distress flows from a debtor to its creditors.

Methods
-------
``debtrank``
    DebtRank (Battiston et al. [1]_). Impact of ``i`` on ``j``:
    ``W[i, j] = min(1, A[j, i] / E[j])`` with ``E`` the equity before any shock
    (``e + Lᵀ1 − p̄``); a node with ``E ≤ 0`` is fully vulnerable (``W = 1`` on every
    claim it holds). States undistressed / distressed / inactive; at each step::

        h_j(t) = min(1, h_j(t−1) + Σ_{i distressed at t−1} W[i, j] h_i(t−1))

    A node is distressed in the step after its ``h`` first becomes positive, propagates
    in that one step only, then turns inactive (its ``h`` can still grow). The DebtRank of
    ``i`` is ``Σ_j v_j h_j(T) − v_i h_i(0)`` when ``i`` alone starts with ``h_i(0) = ψ``
    (``initial_distress``), ``v`` the economic value (share of total assets, obligations
    or equity). It lies in ``[0, 1 − v_i ψ]``. Columns ``rounds`` (steps until the last
    node first became distressed), ``defaults_caused`` (other nodes reaching ``h = 1``),
    ``reached`` (nodes with ``h > 0``, the seed included).
``differential-debtrank``
    Bardoscia et al. [2]_: increments propagate every round, no inactive state::

        h(t+1) = min(1, h(t) + Λ (h(t) − h(t−1))),     Λ[j, i] = A[j, i] / E[j]

    (``Λ[j, i] = 1`` where ``E[j] ≤ 0``). This is the Picard iteration of
    ``h ↦ min(1, h(0) + Λ h)`` from ``h(0)``, so its limit is the least fixed point, i.e.
    the linear-DebtRank valuation of Bardoscia et al. [3]_ and Barucca et al. [4]_ in
    which a claim on ``j`` is worth ``A[i, j] · clip(E[j] / E₀[j], 0, 1)``. Increments at or
    below ``tol`` are not propagated; ``residual`` is the largest increment left.
``furfine``
    Sequential defaults (Furfine [5]_): the seed defaults; a node whose losses reach its
    equity plus its ``first_loss`` fails in the next round, and the creditors of every failed
    node lose ``lgd`` of their claims on it. Score: the equity lost by all other nodes (USD).

Every method counts defaults as the clearing does (:mod:`exposure.clearing._loss`): a node
that owes shares passes distress on but is not a default (``defaults_caused``,
``n_defaults`` count debt nodes only).
``impact``, ``vulnerability``, ``amplification``
    Clearing-based (see :mod:`exposure.contagion._impact`): the loss to everybody else when a
    node loses ``shock_size`` of its external assets; each node's own average loss over the
    single-node shocks of all others; the system-wide loss per dollar of loss at a node.
``pagerank``, ``katz``, ``eigenvector``
    Topology-only baselines from networkx on the *exposure graph*: an edge from each
    creditor ``j`` to its debtor ``i`` weighted by ``A[j, i]`` divided by the largest
    interbank liability (so that the weighted in-degrees are at most 1). These centralities
    gather score along in-edges, so a node scores high when large or central creditors are
    exposed to it, which is the direction in which its distress would travel.
``all``
    Every method side by side, with Kendall's tau between every pair of rankings.

References
----------
.. [1] S. Battiston, M. Puliga, R. Kaushik, P. Tasca and G. Caldarelli, "DebtRank: too central
   to fail? Financial networks, the FED and systemic risk", Sci. Rep. 2:541, 2012.
   doi:10.1038/srep00541
.. [2] M. Bardoscia, S. Battiston, F. Caccioli and G. Caldarelli, "DebtRank: a microscopic
   foundation for shock propagation", PLoS ONE 10(6):e0130406, 2015.
   doi:10.1371/journal.pone.0130406
.. [3] M. Bardoscia, S. Battiston, F. Caccioli and G. Caldarelli, "Pathways towards instability
   in financial networks", Nat. Commun. 8:14416, 2017. doi:10.1038/ncomms14416
.. [4] P. Barucca, M. Bardoscia, F. Caccioli, M. D'Errico, G. Visentin, G. Caldarelli and
   S. Battiston, "Network valuation in financial systems", Math. Finance 30(4):1181–1204,
   2020. doi:10.1111/mafi.12272
.. [5] C. Furfine, "Interbank exposures: quantifying the risk of contagion", J. Money Credit
   Bank. 35(1):111–128, 2003. doi:10.1353/mcb.2003.0004
"""

from ._kernels import HAVE_NUMBA
from ._methods import (METHODS, OPTIONS, PER_NODE, VALUES, amplification, debtrank, differential_debtrank, economic_value,
                       eigenvector, furfine, impact, impact_weights, katz, pagerank, vulnerability)
from ._rank import rank
from ._result import RankingResult

__all__ = ["rank", "RankingResult", "METHODS", "OPTIONS", "PER_NODE", "VALUES", "impact_weights", "economic_value",
           "debtrank", "differential_debtrank", "furfine", "impact", "vulnerability", "amplification",
           "pagerank", "katz", "eigenvector", "HAVE_NUMBA"]
