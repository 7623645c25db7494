"""The ranking methods: their options, their runners, and one public function each.

Every method is a row of :data:`METHODS`: the options it takes (from :data:`OPTIONS`, each with
its default and its check) and the runner that scores every node. :func:`exposure.contagion.rank`
dispatches on these rows; the public functions (:func:`debtrank`, :func:`furfine`, ...) run one
row with explicit keyword arguments. Private state (the network before the shock, the impact
runs that impact and vulnerability share) travels in a :class:`_Context`, never in the options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np
import scipy.sparse as sp

from .._params import check_choice, check_number
from .._results import report
from ..clearing import METHODS as CLEARING_METHODS
from ..clearing import loss_amplification
from ..exceptions import InvalidNetworkError, InvalidParameterError
from ..network import ExposureNetwork
from ..shocks import apply_shock
from . import _kernels
from ._debtrank import differential_debtrank_scores
from ._impact import impact_scores, system_impact_scores
from ._result import RankingResult, Scores, ranking_table

__all__ = ["METHODS", "OPTIONS", "VALUES", "PER_NODE", "Method", "Option", "economic_value", "impact_weights",
           "debtrank", "differential_debtrank", "furfine", "impact", "vulnerability", "amplification",
           "pagerank", "katz", "eigenvector"]

#: What ``v`` (the economic value of DebtRank) is proportional to.
VALUES = ("assets", "obligations", "equity")

#: Power iterations allowed to the centralities (networkx iterates in Python).
CENTRALITY_MAX_ITER = 200


# ------------------------------------------------------------------------------ options
@dataclass(frozen=True)
class Option:
    """One option of the ranking methods: its default and its check (``check(value, owner)``)."""

    default: Any
    check: Callable[[Any, str], Any]
    help: str


def _unit(name, lo_open=False):
    return lambda v, owner: check_number(v, name, owner, lo=0.0, hi=1.0, lo_open=lo_open)


#: Every option of every method, in the order results list them.
OPTIONS: Mapping[str, Option] = MappingProxyType({
    "shock_size": Option(1.0, _unit("shock_size", lo_open=True),
                         "fraction of its external assets each node loses in turn"),
    "alpha": Option(1.0, _unit("alpha"), "Rogers-Veraart recovery on external assets (1: Eisenberg-Noe)"),
    "beta": Option(1.0, _unit("beta"), "Rogers-Veraart recovery on claims on others"),
    "initial_distress": Option(1.0, _unit("initial_distress"), "DebtRank's psi, the seed's initial distress"),
    "value": Option("assets", lambda v, owner: check_choice(v, "value", owner, VALUES),
                    "what DebtRank's economic value is proportional to"),
    "lgd": Option(1.0, _unit("lgd"), "Furfine's loss given default"),
    "tol": Option(1e-10, lambda v, owner: check_number(v, "tol", owner, lo=0.0),
                  "tolerance (increments, clearing residuals)"),
    "max_iter": Option(10_000, lambda v, owner: check_number(v, "max_iter", owner, lo=0, integer=True),
                       "iteration limit"),
    "clearing_method": Option("fictitious-default",
                              lambda v, owner: check_choice(str(v).replace("_", "-").lower(), "clearing_method",
                                                            owner, CLEARING_METHODS),
                              "algorithm of the clearings"),
    "pagerank_alpha": Option(0.85, _unit("pagerank_alpha", lo_open=True), "PageRank damping"),
    "katz_alpha": Option(0.1, _unit("katz_alpha", lo_open=True), "Katz attenuation"),
})


@dataclass
class _Context:
    """What a runner may use besides its options: the network as given, the shock, shared runs."""

    original: ExposureNetwork
    shock: dict[str, float] | None
    cache: dict[str, Any] = field(default_factory=dict)
    executor: Any = None          # where the per-node methods run their blocks of seeds (None: in process)

    @property
    def network(self) -> ExposureNetwork:
        """The network as given, shocked."""
        if "network" not in self.cache:
            self.cache["network"] = apply_shock(self.original, self.shock) if self.shock else self.original
        return self.cache["network"]

    @property
    def claims(self) -> ExposureNetwork:
        """The shocked claims view: holdings and positions as face-value claims
        (:meth:`~exposure.network.ExposureNetwork.claims_view`), for the methods on claims alone."""
        if "claims" not in self.cache:
            view = self.original.claims_view()
            self.cache["claims"] = apply_shock(view, self.shock) if self.shock else view
        return self.cache["claims"]


# ---------------------------------------------------------------------- building blocks
def economic_value(network: ExposureNetwork, value: str = "assets") -> np.ndarray:
    """DebtRank's economic value ``v``: each node's share of total assets, obligations or equity.

    ``"equity"`` uses positive equity only. Raises :class:`InvalidNetworkError` when the total is 0.
    """
    check_choice(value, "value", "rank", VALUES)
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


# ------------------------------------------------------------------------------ runners
def _run_debtrank(ctx: _Context, p: Mapping[str, Any]) -> Scores:
    net = ctx.claims
    v = economic_value(net, p["value"])
    score, rounds, defaults, reached = _kernels.debtrank_seeds(impact_weights(net), v, np.arange(net.n),
                                                               p["initial_distress"], counted=~net.is_shares(),
                                                               executor=ctx.executor)
    return Scores(score, {"rounds": rounds, "defaults_caused": defaults, "reached": reached},
                  iterations=int(rounds.max(initial=0)), message="DebtRank of every node")


def _run_differential(ctx: _Context, p: Mapping[str, Any]) -> Scores:
    net = ctx.claims
    v = economic_value(net, p["value"])
    r = differential_debtrank_scores(impact_weights(net, cap=False), v, p["initial_distress"], tol=p["tol"],
                                     max_iter=p["max_iter"], counted=~net.is_shares())
    converged = bool(r.converged.all())
    msg = ("differential DebtRank of every node" if converged else
           f"differential DebtRank of {int((~r.converged).sum())} nodes did not converge within "
           f"{p['max_iter']} iterations (largest increment left {r.residual.max():.3g} > tol {p['tol']:g})")
    return Scores(r.score, {"iterations": r.iterations, "defaults_caused": r.defaults, "reached": r.reached,
                            "residual": r.residual},
                  converged=converged, status=0 if converged else 1, iterations=int(r.iterations.max(initial=0)),
                  residual=float(r.residual.max(initial=0.0)), message=msg,
                  details={"anchor": None if r.anchor < 0 else str(net.node_ids[r.anchor]),
                           "anchor_iterations": r.anchor_iterations})


def _run_furfine(ctx: _Context, p: Mapping[str, Any]) -> Scores:
    net = ctx.claims
    LG = net.liabilities.copy()
    LG.data = LG.data * p["lgd"]
    score, rounds, defaults, reached = _kernels.furfine_seeds(LG, net.equity(), np.arange(net.n),
                                                              buffer=net.first_loss()[0], counted=~net.is_shares())
    return Scores(score, {"defaults_caused": defaults, "rounds": rounds},
                  iterations=int(rounds.max(initial=0)), message="Furfine cascade of every node")


def _exposure_graph(network: ExposureNetwork):
    import networkx as nx   # here, not at the top: only the centralities need networkx
    L = network.liabilities
    scale = float(network.interbank_liabilities().max(initial=0.0))
    A = sp.csr_array(L.T)                      # creditor -> debtor, weight = the creditor's claim
    if scale > 0:
        A = A / scale
    return nx.from_scipy_sparse_array(A, create_using=nx.DiGraph, edge_attribute="weight")


def _centrality(name: str):
    def run(ctx: _Context, p: Mapping[str, Any]) -> Scores:
        import networkx as nx
        net = ctx.claims
        G = _exposure_graph(net)
        n = net.n
        iters = min(p["max_iter"], CENTRALITY_MAX_ITER)
        missing = np.full(n, np.nan)
        try:
            if name == "pagerank":
                d = nx.pagerank(G, alpha=p["pagerank_alpha"], weight="weight", max_iter=iters, tol=1e-10)
            elif name == "katz":
                d = nx.katz_centrality(G, alpha=p["katz_alpha"], beta=1.0, weight="weight",
                                       max_iter=iters, tol=1e-9, normalized=True)
            else:
                if n > 1 and not nx.is_strongly_connected(G):
                    k = nx.number_strongly_connected_components(G)
                    return Scores(missing, {}, converged=False, status=3, residual=np.nan,
                                  message=f"eigenvector centrality is not uniquely defined: the exposure "
                                          f"graph is not strongly connected ({k} components); katz is its "
                                          f"well-defined variant, and its scores are missing")
                d = nx.eigenvector_centrality(G, weight="weight", max_iter=iters, tol=1e-9)
        except nx.PowerIterationFailedConvergence:
            return Scores(missing, {}, converged=False, status=1, iterations=iters, residual=np.nan,
                          message=f"{name} centrality did not converge within {iters} "
                                  f"power iterations; its scores are missing")
        except nx.NetworkXException as err:      # e.g. a graph without edges
            return Scores(missing, {}, converged=False, status=3, residual=np.nan,
                          message=f"{name} centrality is not defined on this graph ({err})")
        return Scores(np.array([d.get(i, 0.0) for i in range(n)], dtype=np.float64), {},
                      message=f"{name} centrality")
    return run


def _impact_runs(ctx: _Context, p: Mapping[str, Any]) -> dict:
    """The single-node shocks that impact and vulnerability share (computed once per context)."""
    if "impact" not in ctx.cache:
        original = ctx.original
        if original.has_mechanics or original.has_loss_bearing:
            # prices and liquidations, or buffers and shares: the full model of exposure.defi
            ctx.cache["impact"] = system_impact_scores(
                original, shock_size=p["shock_size"], alpha=p["alpha"], beta=p["beta"],
                tol=max(p["tol"], 1e-9), max_iter=min(p["max_iter"], 1000), base_shock=ctx.shock,
                executor=ctx.executor)
        else:
            net = ctx.network
            r = impact_scores(net, shock_size=p["shock_size"], alpha=p["alpha"], beta=p["beta"],
                              tol=p["tol"], method=p["clearing_method"], max_iter=p["max_iter"],
                              executor=ctx.executor)
            base = r["base"]
            r.update(base_converged=bool(base.converged), base_message=base.message,
                     base_equity=np.maximum(0.0, base.assets - net.total_obligations()))
            ctx.cache["impact"] = r
    return ctx.cache["impact"]


def _clearing_based(name: str):
    def run(ctx: _Context, p: Mapping[str, Any]) -> Scores:
        r = _impact_runs(ctx, p)
        bad = int((~r["converged"]).sum())
        converged = bool(r["base_converged"]) and bad == 0
        if not r["base_converged"]:
            msg = f"the base state did not converge: {r['base_message']}"
        elif bad:
            msg = (f"{bad} shocked clearings did not converge (largest residual {r['residual'].max():.3g} > "
                   f"{10 * r['goal']:.3g})")
        else:
            msg = f"{name} of every node"
        record = dict(converged=converged, status=0 if converged else 1,
                      iterations=int(r["iterations"].max(initial=0)),
                      residual=float(r["residual"].max(initial=0.0)), message=msg)
        if name == "impact":
            return Scores(r["loss"], {"loss": r["loss"], "n_defaults": r["n_defaults"], "reached": r["reached"]},
                          **record)
        E0 = r["base_equity"]
        rel = np.divide(r["vulnerability"], E0, out=np.full(len(E0), np.nan), where=E0 > 0)
        return Scores(r["vulnerability"], {"loss": r["vulnerability"], "relative_loss": rel}, **record)
    return run


def _run_amplification(ctx: _Context, p: Mapping[str, Any]) -> Scores:
    frame = loss_amplification(ctx.claims, alpha=p["alpha"], beta=p["beta"], method=p["clearing_method"],
                               tol=max(p["tol"], 1e-15))
    cols = {c: frame[c].to_numpy() for c in ("spillover", "external_creditor_loss", "equity_loss")}
    return Scores(frame["loss_amplification"].to_numpy(dtype=np.float64), cols,
                  message="loss amplification at the base clearing")


@dataclass(frozen=True)
class Method:
    """A ranking method: its name, the options it takes, the runner that scores every node."""

    name: str
    options: tuple[str, ...]
    run: Callable[[_Context, Mapping[str, Any]], Scores]


_CLEARING_OPTIONS = ("shock_size", "alpha", "beta", "tol", "max_iter", "clearing_method")

#: The ranking methods, in the order ``method="all"`` shows them.
METHODS: Mapping[str, Method] = MappingProxyType({m.name: m for m in (
    Method("debtrank", ("initial_distress", "value"), _run_debtrank),
    Method("differential-debtrank", ("initial_distress", "value", "tol", "max_iter"), _run_differential),
    Method("furfine", ("lgd",), _run_furfine),
    Method("impact", _CLEARING_OPTIONS, _clearing_based("impact")),
    Method("vulnerability", _CLEARING_OPTIONS, _clearing_based("vulnerability")),
    Method("amplification", ("alpha", "beta", "tol", "clearing_method"), _run_amplification),
    Method("pagerank", ("pagerank_alpha", "max_iter"), _centrality("pagerank")),
    Method("katz", ("katz_alpha", "max_iter"), _centrality("katz")),
    Method("eigenvector", ("max_iter",), _centrality("eigenvector")),
)})


#: The methods that run one contagion per seed node in fixed blocks of seeds on an executor
#: (``rank(..., workers=N | scheduler=ADDRESS)``), with the same scores in every mode.
PER_NODE = ("debtrank", "impact", "vulnerability")


# ----------------------------------------------------------------------- common driver
def resolve_options(allowed: tuple[str, ...], given: Mapping[str, Any], owner: str, method: str) -> dict[str, Any]:
    """The options of a run: each allowed option checked or defaulted; any other is an error."""
    unknown = [k for k in given if k not in allowed]
    if unknown:
        known = ", ".join(allowed) if allowed else "none"
        raise InvalidParameterError(f"The {unknown[0]!r} parameter of {owner} does not apply to method {method!r}, "
                                    f"whose options are {known}.")
    out = {}
    for name in OPTIONS:                      # in the one order every result lists them
        if name in allowed:
            out[name] = OPTIONS[name].check(given[name], owner) if name in given else OPTIONS[name].default
    return out


def check_top(top, owner: str) -> int | None:
    return None if top is None else check_number(top, "top", owner, lo=1, integer=True)


def make_context(network: ExposureNetwork, shock, owner: str, executor=None) -> _Context:
    if network.n == 0:
        raise InvalidParameterError(f"The network of {owner} must have at least one node.")
    return _Context(original=network, shock={str(k): float(x) for k, x in shock.items()} if shock else None,
                    executor=executor)


def parameters(method: str, top, options: Mapping[str, Any], shock) -> Mapping[str, Any]:
    out = {"method": method, "top": top, **options}
    if shock:
        out["shock"] = dict(shock)
    return MappingProxyType(out)


def run_method(name: str, network: ExposureNetwork, options: Mapping[str, Any], *, top=None, shock=None,
               strict: bool = False, owner: str | None = None, executor=None) -> RankingResult:
    """Rank with one method of :data:`METHODS` (the body of every public method function); the
    per-node methods (:data:`PER_NODE`) run their seeds on ``executor`` (in process when None)."""
    owner = owner or name.replace("-", "_")
    method = METHODS[name]
    opts = resolve_options(method.options, options, owner, name)
    top = check_top(top, owner)
    ctx = make_context(network, shock, owner, executor)
    s = method.run(ctx, opts)
    result = RankingResult(method=name, parameters=parameters(name, top, opts, ctx.shock),
                           ranking=ranking_table(network.node_ids.to_numpy(dtype=object), s.score, s.columns, top),
                           converged=s.converged, status=s.status, iterations=s.iterations, residual=s.residual,
                           message=s.message, details=MappingProxyType(s.details))
    return report(result, strict=strict, stacklevel=3)


# ----------------------------------------------------------------------- public methods
def debtrank(network: ExposureNetwork, *, initial_distress: float = 1.0, value: str = "assets",
             top: int | None = None, shock: Mapping[str, float] | None = None, strict: bool = False
             ) -> RankingResult:
    """DebtRank of every node (Battiston et al. 2012): see :mod:`exposure.contagion`.

    Parameters
    ----------
    network : ExposureNetwork
        Holdings and positions of a version-2 network count as face-value claims
        (:meth:`~exposure.network.ExposureNetwork.claims_view`).
    initial_distress : float in [0, 1]
        ``ψ``: the seed's initial relative equity loss.
    value : {"assets", "obligations", "equity"}
        What the economic value ``v`` is proportional to.
    top : int, optional
        Keep the first ``top`` ranks (more rows when scores tie).
    shock : mapping node -> fraction, optional
        A shock to external assets applied first: the shocked network is ranked.
    strict : bool
        Raise :class:`~exposure.exceptions.ConvergenceError` instead of warning.

    Returns
    -------
    RankingResult
        Columns ``node, score, rank, rounds, defaults_caused, reached``.
    """
    return run_method("debtrank", network, {"initial_distress": initial_distress, "value": value}, top=top,
                      shock=shock, strict=strict)


def differential_debtrank(network: ExposureNetwork, *, initial_distress: float = 1.0, value: str = "assets",
                          tol: float = 1e-10, max_iter: int = 10_000, top: int | None = None,
                          shock: Mapping[str, float] | None = None, strict: bool = False) -> RankingResult:
    """Differential DebtRank of every node (Bardoscia et al. 2015); increments at or below ``tol``
    are not propagated, ``max_iter`` bounds the rounds. Other parameters as :func:`debtrank`.

    Returns
    -------
    RankingResult
        Columns ``node, score, rank, iterations, defaults_caused, reached, residual``.
    """
    return run_method("differential-debtrank", network,
                      {"initial_distress": initial_distress, "value": value, "tol": tol, "max_iter": max_iter},
                      top=top, shock=shock, strict=strict)


def furfine(network: ExposureNetwork, *, lgd: float = 1.0, top: int | None = None,
            shock: Mapping[str, float] | None = None, strict: bool = False) -> RankingResult:
    """Furfine's sequential defaults from every node, with loss given default ``lgd``; the score is
    the equity lost by the other nodes (USD). Other parameters as :func:`debtrank`.

    Returns
    -------
    RankingResult
        Columns ``node, score, rank, defaults_caused, rounds``.
    """
    return run_method("furfine", network, {"lgd": lgd}, top=top, shock=shock, strict=strict)


def _clearing_doc(what: str) -> str:
    return f"""{what}

    Parameters
    ----------
    network : ExposureNetwork
        On a network with holdings or positions the shocked states come from the
        cross-collateral mechanics (:func:`exposure.defi.solve_system`).
    shock_size : float in (0, 1]
        The fraction of its external assets each node loses in turn.
    alpha, beta : float in [0, 1]
        Rogers–Veraart recovery rates (1, 1: Eisenberg–Noe).
    tol, max_iter, clearing_method
        Tolerance, iteration limit and algorithm of the clearings.
    top, shock, strict
        As for :func:`debtrank`.

    Returns
    -------
    RankingResult
    """


def impact(network: ExposureNetwork, *, shock_size: float = 1.0, alpha: float = 1.0, beta: float = 1.0,
           tol: float = 1e-10, max_iter: int = 10_000, clearing_method: str = "fictitious-default",
           top: int | None = None, shock: Mapping[str, float] | None = None, strict: bool = False
           ) -> RankingResult:
    return run_method("impact", network, dict(shock_size=shock_size, alpha=alpha, beta=beta, tol=tol,
                                              max_iter=max_iter, clearing_method=clearing_method),
                      top=top, shock=shock, strict=strict)


impact.__doc__ = _clearing_doc("USD lost by everybody else when each node in turn loses ``shock_size`` of its "
                               "external assets (columns ``loss, n_defaults, reached``).")


def vulnerability(network: ExposureNetwork, *, shock_size: float = 1.0, alpha: float = 1.0, beta: float = 1.0,
                  tol: float = 1e-10, max_iter: int = 10_000, clearing_method: str = "fictitious-default",
                  top: int | None = None, shock: Mapping[str, float] | None = None, strict: bool = False
                  ) -> RankingResult:
    return run_method("vulnerability", network, dict(shock_size=shock_size, alpha=alpha, beta=beta, tol=tol,
                                                     max_iter=max_iter, clearing_method=clearing_method),
                      top=top, shock=shock, strict=strict)


vulnerability.__doc__ = _clearing_doc("Each node's own mean loss over the single-node shocks of all the others "
                                      "(columns ``loss, relative_loss``).")


def amplification(network: ExposureNetwork, *, alpha: float = 1.0, beta: float = 1.0, tol: float = 1e-10,
                  clearing_method: str = "fictitious-default", top: int | None = None,
                  shock: Mapping[str, float] | None = None, strict: bool = False) -> RankingResult:
    """Obligations left unpaid across the network per dollar of external assets lost at each node, at
    the base clearing (Liu & Staum sensitivities, :func:`exposure.clearing.loss_amplification`).
    Other parameters as :func:`impact`.

    Returns
    -------
    RankingResult
        Columns ``node, score, rank, spillover, external_creditor_loss, equity_loss``.
    """
    return run_method("amplification", network, dict(alpha=alpha, beta=beta, tol=tol,
                                                     clearing_method=clearing_method),
                      top=top, shock=shock, strict=strict)


def pagerank(network: ExposureNetwork, *, pagerank_alpha: float = 0.85, max_iter: int = 10_000,
             top: int | None = None, shock: Mapping[str, float] | None = None, strict: bool = False
             ) -> RankingResult:
    """PageRank of the exposure graph (creditor → debtor, weights scaled to at most 1), with damping
    ``pagerank_alpha``; at most ``min(max_iter, 200)`` power iterations. Other parameters as
    :func:`debtrank`."""
    return run_method("pagerank", network, {"pagerank_alpha": pagerank_alpha, "max_iter": max_iter}, top=top,
                      shock=shock, strict=strict)


def katz(network: ExposureNetwork, *, katz_alpha: float = 0.1, max_iter: int = 10_000, top: int | None = None,
         shock: Mapping[str, float] | None = None, strict: bool = False) -> RankingResult:
    """Katz centrality of the exposure graph with attenuation ``katz_alpha`` (below 1 over the spectral
    radius, which is at most 1 here). Other parameters as :func:`pagerank`."""
    return run_method("katz", network, {"katz_alpha": katz_alpha, "max_iter": max_iter}, top=top, shock=shock,
                      strict=strict)


def eigenvector(network: ExposureNetwork, *, max_iter: int = 10_000, top: int | None = None,
                shock: Mapping[str, float] | None = None, strict: bool = False) -> RankingResult:
    """Eigenvector centrality of the exposure graph; only defined (and computed) when the graph is
    strongly connected, else the scores are missing and the result says so. Other parameters as
    :func:`pagerank`."""
    return run_method("eigenvector", network, {"max_iter": max_iter}, top=top, shock=shock, strict=strict)
