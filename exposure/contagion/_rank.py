"""One entry point to every ranking method: :func:`rank` (see :mod:`exposure.contagion`)."""

from __future__ import annotations

import warnings
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .._params import check_choice
from .._results import combined_status, report
from ..exceptions import InvalidParameterError
from ..executor import Executor, executor_for
from ..network import ExposureNetwork
from ._methods import METHODS, OPTIONS, PER_NODE, check_top, make_context, parameters, resolve_options, run_method
from ._result import RankingResult, ranks, sort_and_cut

__all__ = ["rank"]


def rank(network: ExposureNetwork, method: str = "debtrank", *, top: int | None = None,
         shock: Mapping[str, float] | None = None, strict: bool = False, workers: int | None = None,
         scheduler: str | None = None, executor: Executor | None = None, **options: Any) -> RankingResult:
    """Rank the nodes of a network by how much distress they spread.

    Parameters
    ----------
    network : ExposureNetwork
    method : str
        One of :data:`exposure.contagion.METHODS` or ``"all"`` (see the module documentation).
    top : int, optional
        Keep the first ``top`` ranks (more rows when scores tie).
    shock : mapping node -> fraction, optional
        A shock to external assets applied first: every method ranks the shocked network.
    strict : bool
        Raise :class:`ConvergenceError` instead of warning when something did not converge.
    workers, scheduler, executor
        Where the per-node methods (:data:`~exposure.contagion.PER_NODE`: ``debtrank``, ``impact``,
        ``vulnerability``, also inside ``"all"``) run: a local Dask cluster of ``workers``
        processes, the workers of a running Dask ``scheduler``, or an :class:`~exposure.executor.Executor`
        already started (left open); in process with none. The set-up (weights, renumbering, the
        base clearing) is done here once and sent to each worker once; the seeds run in fixed
        blocks (:func:`~exposure.contagion._kernels.seed_blocks`, independent of the workers)
        combined in block order, so the scores are identical, bit for bit, in every mode.
        Other methods do not take them (an error).
    **options
        The options of the method (``"all"``: of any method), each checked; an option the
        method does not take is an error that names the method and lists its options:

        ========================  ==============================================================
        ``debtrank``              ``initial_distress`` (ψ in [0, 1], 1), ``value`` (``assets``,
                                  ``obligations`` or ``equity``)
        ``differential-debtrank`` those of debtrank, ``tol`` (1e-10), ``max_iter`` (10,000)
        ``furfine``               ``lgd`` (loss given default in [0, 1], 1)
        ``impact``,               ``shock_size`` ((0, 1], 1), ``alpha``, ``beta`` (Rogers–Veraart,
        ``vulnerability``         1, 1), ``tol``, ``max_iter``, ``clearing_method``
        ``amplification``         ``alpha``, ``beta``, ``tol``, ``clearing_method``
        ``pagerank``              ``pagerank_alpha`` (damping, 0.85), ``max_iter``
        ``katz``                  ``katz_alpha`` (attenuation, 0.1), ``max_iter``
        ``eigenvector``           ``max_iter``
        ========================  ==============================================================

        Each method is also a function of its own (:func:`~exposure.contagion.debtrank`, ...).

    Returns
    -------
    RankingResult

    Raises
    ------
    ValueError
        Unknown method, an option the method does not take, an option out of range.
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
    >>> rank(net, "debtrank", lgd=0.5)
    Traceback (most recent call last):
    ...
    exposure.exceptions.InvalidParameterError: The 'lgd' parameter of rank does not apply to method 'debtrank', whose options are initial_distress, value.
    """
    method = check_choice(str(method).strip().lower().replace("_", "-"), "method", "rank", (*METHODS, "all"))
    elsewhere = {k: v for k, v in (("workers", workers), ("scheduler", scheduler),
                                   ("executor", None if executor is None or getattr(executor, "client", executor) is None
                                                else executor))
                 if v is not None}          # an executor in process changes nothing: any method takes it
    if elsewhere and method not in (*PER_NODE, "all"):
        raise InvalidParameterError(
            f"The {next(iter(elsewhere))!r} parameter of rank applies to the per-node methods "
            f"{', '.join(PER_NODE)} (and 'all'), not to method {method!r}, which runs in process.")
    with executor_for(executor, workers, scheduler, owner="rank") as ex:
        if method != "all":
            return run_method(method, network, options, top=top, shock=shock, strict=strict, owner="rank",
                              executor=ex)
        return report(_rank_all(network, options, top, shock, ex), strict=strict)


def _rank_all(network: ExposureNetwork, options: Mapping[str, Any], top, shock, executor=None) -> RankingResult:
    from scipy.stats import kendalltau   # here, not at the top: scipy.stats takes ~0.4 s to import
    opts = resolve_options(tuple(OPTIONS), options, "rank", "all")
    top = check_top(top, "rank")
    ctx = make_context(network, shock, "rank", executor)
    ids = network.node_ids.to_numpy(dtype=object)
    scores, frame = {}, pd.DataFrame({"node": pd.Series(ids, dtype="str")})
    converged, statuses, iterations, residual, messages = True, [], 0, 0.0, []
    for name, m in METHODS.items():
        s = m.run(ctx, opts)
        scores[name] = s.score
        frame[name] = s.score
        frame[f"{name}_rank"] = ranks(s.score)
        converged &= s.converged
        statuses.append(s.status)
        iterations = max(iterations, s.iterations)
        if np.isfinite(s.residual):
            residual = max(residual, s.residual)
        if not s.converged:
            messages.append(s.message)
    rows = []
    names = list(METHODS)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ok = np.isfinite(scores[a]) & np.isfinite(scores[b])
            tau, pv = (np.nan, np.nan)
            if ok.sum() >= 2:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = kendalltau(scores[a][ok], scores[b][ok])
                tau, pv = float(res.statistic), float(res.pvalue)
            rows.append({"method_a": a, "method_b": b, "tau": tau, "pvalue": pv, "n": int(ok.sum())})
    frame = sort_and_cut(frame, f"{names[0]}_rank", top)
    return RankingResult(method="all", parameters=parameters("all", top, opts, ctx.shock), ranking=frame,
                         agreement=pd.DataFrame(rows), converged=converged, status=combined_status(statuses),
                         iterations=iterations, residual=residual,
                         message="every method" if converged else "; ".join(messages),
                         details=MappingProxyType({}))
