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
    equity defaults in the next round, and the creditors of every defaulted node lose
    ``lgd`` of their claims on it. Score: the equity lost by all other nodes (USD).
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

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import _kernels as _k
from ._debtrank import differential_debtrank_scores
from ..exceptions import ConvergenceError, ConvergenceWarning, InvalidNetworkError
from ..network import ExposureNetwork
from ..shocks import apply_shock

__all__ = ["rank", "RankingResult", "METHODS", "VALUES", "impact_weights", "economic_value"]

#: Ranking methods, in the order ``method="all"`` shows them.
METHODS = ("debtrank", "differential-debtrank", "furfine", "impact", "vulnerability", "amplification",
           "pagerank", "katz", "eigenvector")
#: What ``v`` (the economic value of DebtRank) is proportional to.
VALUES = ("assets", "obligations", "equity")

#: Power iterations allowed to the centralities (networkx iterates in Python).
CENTRALITY_MAX_ITER = 200


@dataclass(frozen=True, eq=False)
class RankingResult:
    """Nodes ranked by how much distress they spread.

    Attributes
    ----------
    method : str
        The method (``"all"`` for every method side by side).
    parameters : Mapping
        The parameters the scores depend on.
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

    def to_frame(self) -> pd.DataFrame:
        """The ranking table (a copy)."""
        return self.ranking.copy()

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


# ---------------------------------------------------------------------- building blocks
def economic_value(network: ExposureNetwork, value: str = "assets") -> np.ndarray:
    """DebtRank's economic value ``v``: each node's share of total assets, obligations or equity.

    ``"equity"`` uses positive equity only. Raises :class:`InvalidNetworkError` when the total is 0.
    """
    if value not in VALUES:
        raise ValueError(f"The 'value' parameter of rank must be one of {', '.join(VALUES)}. "
                         f"Got {value!r} instead.")
    raw = {"assets": network.total_assets, "obligations": network.total_obligations,
           "equity": lambda: np.maximum(network.equity(), 0.0)}[value]()
    total = float(raw.sum())
    if not total > 0:
        raise InvalidNetworkError(f"DebtRank needs a positive total of {value}: every node has 0.")
    return raw / total


def impact_weights(network: ExposureNetwork, *, cap: bool = True) -> sp.csr_array:
    """The impact matrix by debtor: entry ``(i, j)`` is ``min(1, L[i, j] / E[j])``.

    With ``cap=False`` it is ``L[i, j] / E[j]`` (``Λ[j, i]`` of differential DebtRank).
    Where ``E[j] ≤ 0`` the entry is 1 (fully vulnerable creditor).
    """
    L = network.liabilities
    E = network.equity()
    col = L.indices
    pos = E[col] > 0
    w = np.ones_like(L.data)
    w[pos] = L.data[pos] / E[col][pos]
    if cap:
        np.minimum(w, 1.0, out=w)
    w[L.data <= 0] = 0.0
    return sp.csr_array((w, L.indices.copy(), L.indptr.copy()), shape=L.shape)


#: Scores closer than this fraction of the largest absolute score share a rank (round-off).
TIE_RTOL = 1e-12


def _ranks(score: np.ndarray) -> pd.Series:
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


def _table(ids, score, columns: Mapping[str, np.ndarray], top: int | None) -> pd.DataFrame:
    frame = pd.DataFrame({"node": pd.Series(np.asarray(ids, dtype=object), dtype="str"),
                          "score": np.asarray(score, dtype=np.float64)})
    frame["rank"] = _ranks(frame["score"].to_numpy())
    for name, col in columns.items():
        frame[name] = col
    order = np.lexsort((np.arange(len(frame)), frame["rank"].fillna(len(frame) + 1).to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    if top is not None:
        frame = frame[frame["rank"].fillna(len(frame) + 1) <= top].reset_index(drop=True)
    return frame


@dataclass
class _Scores:
    score: np.ndarray
    columns: dict[str, np.ndarray]
    converged: bool = True
    iterations: int = 0
    residual: float = 0.0
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- methods
def _debtrank(network, p, top):
    v = economic_value(network, p["value"])
    W = impact_weights(network)
    score, rounds, defaults, reached = _k.debtrank_seeds(W, v, np.arange(network.n), p["initial_distress"])
    return _Scores(score, {"rounds": rounds, "defaults_caused": defaults, "reached": reached},
                   iterations=int(rounds.max(initial=0)), message="DebtRank of every node")


def _differential(network, p, top):
    v = economic_value(network, p["value"])
    Lam = impact_weights(network, cap=False)
    r = differential_debtrank_scores(Lam, v, p["initial_distress"], tol=p["tol"], max_iter=p["max_iter"])
    converged = bool(r.converged.all())
    msg = ("differential DebtRank of every node" if converged else
           f"differential DebtRank of {int((~r.converged).sum())} nodes did not converge within "
           f"{p['max_iter']} iterations (largest increment left {r.residual.max():.3g} > tol {p['tol']:g})")
    return _Scores(r.score, {"iterations": r.iterations, "defaults_caused": r.defaults, "reached": r.reached,
                             "residual": r.residual},
                   converged=converged, iterations=int(r.iterations.max(initial=0)),
                   residual=float(r.residual.max(initial=0.0)), message=msg,
                   details={"anchor": None if r.anchor < 0 else str(network.node_ids[r.anchor]),
                            "anchor_iterations": r.anchor_iterations})


def _furfine(network, p, top):
    LG = network.liabilities.copy()
    LG.data = LG.data * p["lgd"]
    score, rounds, defaults, reached = _k.furfine_seeds(LG, network.equity(), np.arange(network.n))
    return _Scores(score, {"defaults_caused": defaults, "rounds": rounds},
                   iterations=int(rounds.max(initial=0)), message="Furfine cascade of every node")


def _exposure_graph(network):
    import networkx as nx
    L = network.liabilities
    scale = float(network.interbank_liabilities().max(initial=0.0))
    A = sp.csr_array(L.T)                      # creditor -> debtor, weight = the creditor's claim
    if scale > 0:
        A = A / scale
    return nx.from_scipy_sparse_array(A, create_using=nx.DiGraph, edge_attribute="weight")


def _centrality(name):
    def run(network, p, top):
        import networkx as nx
        G = _exposure_graph(network)
        n = network.n
        iters = min(p["max_iter"], CENTRALITY_MAX_ITER)
        try:
            if name == "pagerank":
                d = nx.pagerank(G, alpha=p["pagerank_alpha"], weight="weight", max_iter=iters, tol=1e-10)
            elif name == "katz":
                d = nx.katz_centrality(G, alpha=p["katz_alpha"], beta=1.0, weight="weight",
                                       max_iter=iters, tol=1e-9, normalized=True)
            else:
                if n > 1 and not nx.is_strongly_connected(G):
                    k = nx.number_strongly_connected_components(G)
                    return _Scores(np.full(n, np.nan), {}, converged=False, residual=np.nan,
                                   message=f"eigenvector centrality is not uniquely defined: the exposure "
                                           f"graph is not strongly connected ({k} components); katz is its "
                                           f"well-defined variant, and its scores are missing")
                d = nx.eigenvector_centrality(G, weight="weight", max_iter=iters, tol=1e-9)
        except nx.PowerIterationFailedConvergence:
            return _Scores(np.full(n, np.nan), {}, converged=False, iterations=iters,
                           residual=np.nan,
                           message=f"{name} centrality did not converge within {iters} "
                                   f"power iterations; its scores are missing")
        except nx.NetworkXException as err:      # e.g. a graph without edges
            return _Scores(np.full(n, np.nan), {}, converged=False, residual=np.nan,
                           message=f"{name} centrality is not defined on this graph ({err})")
        score = np.array([d.get(i, 0.0) for i in range(n)], dtype=np.float64)
        return _Scores(score, {}, message=f"{name} centrality")
    return run


def _clearing_method(name):
    def run(network, p, top):
        from . import _impact
        return _impact.run(name, network, p, _Scores)
    return run


_RUNNERS = {
    "debtrank": _debtrank,
    "differential-debtrank": _differential,
    "furfine": _furfine,
    "impact": _clearing_method("impact"),
    "vulnerability": _clearing_method("vulnerability"),
    "amplification": _clearing_method("amplification"),
    "pagerank": _centrality("pagerank"),
    "katz": _centrality("katz"),
    "eigenvector": _centrality("eigenvector"),
}


# ------------------------------------------------------------------------------ public
def rank(network: ExposureNetwork, method: str = "debtrank", *, top: int | None = None,
         shock_size: float = 1.0, alpha: float = 1.0, beta: float = 1.0, initial_distress: float = 1.0,
         value: str = "assets", lgd: float = 1.0, shock: Mapping[str, float] | None = None,
         tol: float = 1e-10, max_iter: int = 10_000, clearing_method: str = "fictitious-default",
         pagerank_alpha: float = 0.85, katz_alpha: float = 0.1, strict: bool = False) -> RankingResult:
    """Rank the nodes of a network by how much distress they spread.

    Parameters
    ----------
    network : ExposureNetwork
    method : str
        One of :data:`METHODS` or ``"all"`` (see the module documentation).
    top : int, optional
        Keep the first ``top`` ranks (more rows when scores tie).
    shock_size : float in (0, 1]
        ``impact``/``vulnerability``: the fraction of its external assets a node loses.
    alpha, beta : float in [0, 1]
        Rogers–Veraart recovery rates of the clearing (``1, 1`` = Eisenberg–Noe).
    initial_distress : float in [0, 1]
        DebtRank's ``ψ``: the seed's initial relative equity loss.
    value : {"assets", "obligations", "equity"}
        What DebtRank's economic value ``v`` is proportional to.
    lgd : float in [0, 1]
        Furfine: loss given default, the fraction of a claim lost when its debtor defaults.
    shock : mapping node -> fraction, optional
        A shock to external assets applied first: every method ranks the shocked network.
    tol, max_iter
        Differential DebtRank (increments at or below ``tol`` are not propagated) and power
        iterations.
    clearing_method : {"fictitious-default", "fixed-point"}
        Algorithm of the clearing-based methods.
    pagerank_alpha, katz_alpha : float
        Damping of PageRank; attenuation of Katz (must stay below 1 over the spectral radius
        of the normalised exposure graph, which is at most 1).
    strict : bool
        Raise :class:`ConvergenceError` instead of warning when something did not converge.

    Returns
    -------
    RankingResult

    Raises
    ------
    ValueError
        Unknown method or value, parameter out of range.
    InvalidShockError
        Bad ``shock``.
    ConvergenceError
        Under ``strict`` when a run did not converge (``err.result`` is the partial ranking).

    Examples
    --------
    A star: the centre ``c`` owes 5 to each of ``a`` and ``b``, who have equity 5 each.

    >>> import pandas as pd
    >>> from exposure import ExposureNetwork
    >>> net = ExposureNetwork.from_frames(
    ...     pd.DataFrame({"id": ["c", "a", "b"], "external_assets": [20.0, 5.0, 5.0],
    ...                   "external_liabilities": [5.0, 5.0, 5.0]}),
    ...     pd.DataFrame({"debtor": ["c", "c"], "creditor": ["a", "b"], "amount": [5.0, 5.0]}))
    >>> r = rank(net, "debtrank")
    >>> r.ranking[["node", "rank", "defaults_caused"]].values.tolist()
    [['c', 1, 2], ['a', 2, 0], ['b', 2, 0]]
    """
    params = _check(network, method, top, shock_size, alpha, beta, initial_distress, value, lgd, tol,
                    max_iter, clearing_method, pagerank_alpha, katz_alpha)
    method = params["method"]
    if shock:
        params["shock"] = {str(k): float(x) for k, x in shock.items()}
    # Methods other than impact and vulnerability work on claims alone: on a version-2 network
    # they see its face-value claims view (holdings and positions written as claims), shocked.
    # Impact and vulnerability alone solve the network itself, so no view is built for them.
    base = network if method in ("impact", "vulnerability") else network.claims_view()
    net = apply_shock(base, shock) if shock else base
    # private context of the runners: the unshocked network (the mechanics apply the shock
    # themselves) and the impact runs shared by impact and vulnerability
    run_params = dict(params, _original=network, _cache={})
    ids = net.node_ids.to_numpy(dtype=object)
    if method == "all":
        result = _rank_all(net, ids, run_params, top)
    else:
        s = _RUNNERS[method](net, run_params, top)
        result = RankingResult(method=method, parameters=MappingProxyType(params),
                               ranking=_table(ids, s.score, s.columns, top), converged=s.converged,
                               iterations=s.iterations, residual=s.residual, message=s.message,
                               details=MappingProxyType(s.details))
    if not result.converged:
        if strict:
            raise ConvergenceError(result.message, result)
        warnings.warn(result.message, ConvergenceWarning, stacklevel=2)
    return result


def _rank_all(net, ids, params, top) -> RankingResult:
    from scipy.stats import kendalltau
    scores, frame = {}, pd.DataFrame({"node": pd.Series(ids, dtype="str")})
    converged, iterations, residual, messages = True, 0, 0.0, []
    for m in METHODS:
        s = _RUNNERS[m](net, params, None)
        scores[m] = s.score
        frame[m] = s.score
        frame[f"{m}_rank"] = _ranks(s.score)
        converged &= s.converged
        iterations = max(iterations, s.iterations)
        if np.isfinite(s.residual):
            residual = max(residual, s.residual)
        if not s.converged:
            messages.append(s.message)
    rows = []
    for a_i, a in enumerate(METHODS):
        for b in METHODS[a_i + 1:]:
            ok = np.isfinite(scores[a]) & np.isfinite(scores[b])
            tau, pv = (np.nan, np.nan)
            if ok.sum() >= 2:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = kendalltau(scores[a][ok], scores[b][ok])
                tau, pv = float(res.statistic), float(res.pvalue)
            rows.append({"method_a": a, "method_b": b, "tau": tau, "pvalue": pv, "n": int(ok.sum())})
    first = frame[f"{METHODS[0]}_rank"].fillna(len(frame) + 1).to_numpy()
    frame = frame.iloc[np.lexsort((np.arange(len(frame)), first))].reset_index(drop=True)
    if top is not None:
        frame = frame[frame[f"{METHODS[0]}_rank"].fillna(len(frame) + 1) <= top].reset_index(drop=True)
    msg = "every method" if converged else "; ".join(messages)
    public = {k: x for k, x in params.items() if not k.startswith("_")}
    return RankingResult(method="all", parameters=MappingProxyType(public), ranking=frame,
                         agreement=pd.DataFrame(rows), converged=converged, iterations=iterations,
                         residual=residual, message=msg)


def _unit(name, x, lo=0.0, hi=1.0, lo_open=False):
    try:
        f = float(x)
    except (TypeError, ValueError):
        f = np.nan
    ok = np.isfinite(f) and (f > lo if lo_open else f >= lo) and f <= hi
    if not ok:
        bracket = "(" if lo_open else "["
        raise ValueError(f"The {name!r} parameter of rank must be a number in {bracket}{lo:g}, {hi:g}]. "
                         f"Got {x!r} instead.")
    return f


def _check(network, method, top, shock_size, alpha, beta, initial_distress, value, lgd, tol, max_iter,
           clearing_method, pagerank_alpha, katz_alpha) -> dict[str, Any]:
    method = str(method).strip().lower().replace("_", "-")
    if method not in METHODS + ("all",):
        raise ValueError(f"The 'method' parameter of rank must be one of {', '.join(METHODS + ('all',))}. "
                         f"Got {method!r} instead.")
    if value not in VALUES:
        raise ValueError(f"The 'value' parameter of rank must be one of {', '.join(VALUES)}. "
                         f"Got {value!r} instead.")
    if top is not None and (isinstance(top, bool) or int(top) != top or int(top) < 1):
        raise ValueError(f"The 'top' parameter of rank must be a positive integer. Got {top!r} instead.")
    if int(max_iter) < 0:
        raise ValueError(f"The 'max_iter' parameter of rank must be >= 0. Got {max_iter!r} instead.")
    if not (float(tol) >= 0 and np.isfinite(tol)):
        raise ValueError(f"The 'tol' parameter of rank must be a non-negative number. Got {tol!r} instead.")
    params = {
        "method": method, "top": None if top is None else int(top),
        "shock_size": _unit("shock_size", shock_size, lo_open=True),
        "alpha": _unit("alpha", alpha), "beta": _unit("beta", beta),
        "initial_distress": _unit("initial_distress", initial_distress),
        "value": value, "lgd": _unit("lgd", lgd), "tol": float(tol), "max_iter": int(max_iter),
        "clearing_method": str(clearing_method),
        "pagerank_alpha": _unit("pagerank_alpha", pagerank_alpha, hi=1.0, lo_open=True),
        "katz_alpha": _unit("katz_alpha", katz_alpha, hi=1.0, lo_open=True),
    }
    if network.n == 0:
        raise ValueError("The network of rank must have at least one node.")
    return params
