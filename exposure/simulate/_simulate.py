r"""Monte Carlo of the cross-collateral mechanics: :func:`simulate` and :class:`SimulationResult`.

See :mod:`exposure.simulate` for the model and the determinism rule, docs/simulate.md for the
estimators.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .._params import check_number
from .._progress import Progress
from .._results import STATUS, Result, report
from ..defi import solve_block
from ..defi._block import DRAW_FIELDS
from ..exceptions import ConvergenceWarning, InvalidParameterError
from ..executor import Executor, executor_for, split
from ._model import ShockModel, default_model, read_model

__all__ = ["simulate", "SimulationResult", "block_size", "tail_weights", "NODE_COLUMNS", "SAMPLE_COLUMNS",
           "STATISTICS", "MAX_BLOCK", "BLOCK_ENTRIES"]

#: Columns of :meth:`SimulationResult.to_frame` (``exposure simulate --format csv``).
NODE_COLUMNS = ("node", "pd", "expected_loss", "es_contribution", "contagious_pd")

#: Columns of :attr:`SimulationResult.samples`: one row per draw.
SAMPLE_COLUMNS = ("draw", *DRAW_FIELDS, "status", "fallback")

#: Per-draw quantities whose distribution :meth:`SimulationResult.summary` describes.
STATISTICS = ("total_loss", "bad_debt", "n_defaults", "external_creditor_loss", "liquidated", "buffer_used",
              "n_impaired")

#: Largest stream block (draws cleared together by one :func:`~exposure.defi.solve_block` call).
MAX_BLOCK = 1024

#: Draw × node (and position) entries a stream block may hold: bounds its memory on large graphs.
BLOCK_ENTRIES = 1 << 21


def block_size(network) -> int:
    """Draws per stream block on ``network``: the largest power of two ``B ≤`` :data:`MAX_BLOCK` with
    ``B · (n + P) ≤`` :data:`BLOCK_ENTRIES` (``n`` nodes, ``P`` secured positions), at least 1.

    It depends on the network only, never on the chunk size or the executor, so that the blocks,
    and with them the results, are the same in every run with the same seed.

    >>> import exposure
    >>> block_size(exposure.read_graph("graphs/defi.json"))
    1024
    """
    entries = max(1, network.n + len(network.positions))
    b = 1 << max(0, int(math.floor(math.log2(max(1.0, BLOCK_ENTRIES / entries)))))
    return int(min(MAX_BLOCK, b))


def tail_weights(n: int, level: float) -> tuple[int, int, float]:
    """The empirical tail of ``n`` draws at ``level`` ``q``: ``(c, m, w)``.

    With the losses sorted ascending, ``L[c]`` (1-based, ``c = ⌈n q⌉``) is the value at risk; the
    tail is the ``m = n − c + 1`` largest draws, each of weight 1 except ``L[c]``, of weight
    ``w = c − n q``, so the weights sum to ``n (1 − q)`` (Acerbi and Tasche 2002).

    >>> tail_weights(100, 0.99), tail_weights(1000, 0.975)
    ((99, 2, 0.0), (975, 26, 0.0))
    """
    nq = round(n * level, 9)
    c = min(n, max(1, math.ceil(nq)))
    return c, n - c + 1, float(c - nq)


def _check_seed(seed) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy >> 65)      # 63 random bits, shown so a run can be repeated
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InvalidParameterError(f"The 'seed' parameter of simulate must be an integer ≥ 0 or None. "
                                    f"Got {seed!r} instead.")
    return int(seed)


def _check_levels(levels) -> tuple[float, ...]:
    if isinstance(levels, numbers.Real):
        levels = (levels,)
    out = []
    for q in levels:
        q = check_number(q, "levels", "simulate", lo=0.0, hi=1.0, lo_open=True, hi_open=True,
                         subject="Each of the 'levels' of simulate")
        if q not in out:
            out.append(q)
    if not out:
        raise InvalidParameterError("The 'levels' parameter of simulate must give at least one level in (0, 1).")
    return tuple(out)


# ============================================================================ the chunks
def _top(total: np.ndarray, draw: np.ndarray, m: int) -> np.ndarray:
    """Positions of the ``m`` worst draws: largest total loss first, ties to the lower draw index."""
    if total.size <= m:
        return np.lexsort((draw, -total))
    return np.lexsort((draw, -total))[:m]


def _simulate_chunk(shared: Mapping[str, Any], item) -> dict:
    """Clear the stream blocks of one chunk (run by :meth:`Executor.map`, on a worker or here).

    ``item`` is a list of ``(block index, SeedSequence)``. Returns per block its per-draw totals
    and per-node sums, and for the chunk its ``m`` worst draws with their per-node losses.
    """
    net, model, opts = shared["network"], shared["model"], shared["options"]
    B, N, m, keep = shared["block"], shared["draws"], shared["tail"], shared["keep_nodes"]
    bar = shared.get("progress")
    n = net.n
    blocks = []
    cand_draw = np.zeros(0, np.int64)
    cand_total = np.zeros(0)
    cand_rows = np.zeros((0, n))
    for b, seq in item:
        first = b * B
        k = min(B, N - first)
        shocks = model.draw(np.random.default_rng(seq), B)          # the whole stream block, always
        if k < B:
            shocks = {name: a[:k] for name, a in shocks.items()}
        if not shocks:
            shocks = {"asset_loss": np.zeros((k, n))}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)     # reported once, for the whole run
            out = solve_block(net, shocks, **opts)
        loss = out.loss
        part = {"index": b, "totals": {name: getattr(out, name) for name in DRAW_FIELDS},
                "status": out.draw_status, "fallback": out.fallback,
                "loss_sum": loss.sum(axis=0), "loss_sq": np.square(loss).sum(axis=0),
                "defaults": np.count_nonzero(out.defaulted, axis=0),
                "contagious": np.count_nonzero(out.default_round >= 2, axis=0)}
        if keep:
            part["loss"] = loss
        blocks.append(part)
        # the chunk's m worst draws (a superset of the run's tail within this chunk)
        draws = np.arange(first, first + k)
        total = out.total_loss
        if cand_draw.size >= m:
            worst_kept = cand_total[-1]
            new = np.flatnonzero(total >= worst_kept)
        else:
            new = np.arange(k)
        if new.size:
            all_draw = np.concatenate([cand_draw, draws[new]])
            all_total = np.concatenate([cand_total, total[new]])
            all_rows = np.concatenate([cand_rows, loss[new]])
            keep_at = _top(all_total, all_draw, m)
            cand_draw, cand_total, cand_rows = all_draw[keep_at], all_total[keep_at], all_rows[keep_at]
        if bar is not None:
            bar.update(k)
    return {"blocks": blocks, "cand_draw": cand_draw, "cand_total": cand_total, "cand_rows": cand_rows}


class _ChunkProgress:
    """Counts finished chunks as draws for a :class:`Progress` (a cluster reports whole chunks)."""

    def __init__(self, bar: Progress, sizes: list[int]):
        self.bar, self.sizes = bar, sizes

    def update(self, n: int = 1) -> None:
        # chunks are cut to equal numbers of blocks but the last: count the mean chunk
        self.bar.update(min(self.bar.total - self.bar.done, sum(self.sizes) // len(self.sizes)) if self.sizes else 0)


# ============================================================================ the result
@dataclass(frozen=True, eq=False)
class SimulationResult(Result):
    """The loss distribution of a Monte Carlo run (:func:`simulate`), following the result protocol.

    Attributes
    ----------
    nodes : pandas.DataFrame
        One row per node, in graph order: ``node, pd, expected_loss, es_contribution, contagious_pd``
        (:meth:`to_frame`), the contribution at the first of ``levels``.
    node_errors : pandas.DataFrame
        Standard errors of the per-node estimates: ``node, pd_se, expected_loss_se, contagious_pd_se``.
    es_contributions : pandas.DataFrame
        ``node`` and one column per level (``"0.99"``): each node's expected loss in the tail draws
        at that level (the Euler allocation of ES).
    samples : pandas.DataFrame
        One row per draw (:data:`SAMPLE_COLUMNS`): ``draw``, the totals of
        :class:`~exposure.defi.BlockOutcome` (``total_loss, bad_debt, liquidated, n_defaults,
        n_impaired, buffer_used, external_creditor_loss, rounds, converged, residual``), ``status``
        and ``fallback``.
    node_losses : ndarray (draws, n) or None
        Every node's loss in every draw, when asked for (``keep_nodes=True``).
    var, es, var_se, es_se : dict
        Value at risk and expected shortfall of the total loss at each level, with their standard
        errors (docs/simulate.md).
    draws, seed, levels, alpha, beta, block_size : the run's parameters
        (``seed`` is the one used: drawn fresh when none was given, so the run can be repeated).
    model : ShockModel
    mode : str
        Where the chunks ran (``in-process``, ``local-cluster``, ``scheduler``).
    converged : bool
        Every draw's joint fixed point converged.
    status : int
        The largest status of the draws.
    message : str
    """

    nodes: pd.DataFrame = field(repr=False)
    node_errors: pd.DataFrame = field(repr=False)
    es_contributions: pd.DataFrame = field(repr=False)
    samples: pd.DataFrame = field(repr=False)
    node_losses: np.ndarray | None = field(repr=False)
    var: dict = field(repr=False)
    es: dict = field(repr=False)
    var_se: dict = field(repr=False)
    es_se: dict = field(repr=False)
    statistics: dict = field(repr=False)
    draws: int
    seed: int
    levels: tuple
    alpha: float
    beta: float
    block_size: int
    model: ShockModel = field(repr=False)
    mode: str
    converged: bool
    status: int
    message: str

    def summary(self) -> dict:
        """``draws, seed, levels, var, es, var_se, es_se, mean_loss, mean_loss_se, mean_defaults,
        mean_bad_debt, mean_external_creditor_loss, p_loss, p_default``, the run's record and the
        distribution of every per-draw quantity (``distribution``: mean, sd, mean_se, p50, p90,
        p99, max), as plain values."""
        s = self.samples
        key = _level_key
        tl = self.statistics["total_loss"]
        return {
            **self._record(),
            "draws": int(self.draws), "seed": int(self.seed), "levels": list(self.levels),
            "var": {key(q): self.var[q] for q in self.levels}, "es": {key(q): self.es[q] for q in self.levels},
            "var_se": {key(q): self.var_se[q] for q in self.levels},
            "es_se": {key(q): self.es_se[q] for q in self.levels},
            "mean_loss": tl["mean"], "mean_loss_se": tl["mean_se"],
            "mean_defaults": self.statistics["n_defaults"]["mean"],
            "mean_bad_debt": self.statistics["bad_debt"]["mean"],
            "mean_external_creditor_loss": self.statistics["external_creditor_loss"]["mean"],
            "p_loss": float(np.mean(s["total_loss"].to_numpy() > 0)) if self.draws else math.nan,
            "p_default": float(np.mean(s["n_defaults"].to_numpy() > 0)) if self.draws else math.nan,
            "es_level": self.levels[0],
            "not_converged": int(self.draws - int(s["converged"].sum())),
            "fallback": int(s["fallback"].sum()),
            "alpha": self.alpha, "beta": self.beta, "model": self.model.name, "block_size": self.block_size,
            "mode": self.mode,
            "distribution": {name: dict(v) for name, v in self.statistics.items()},
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per node: ``node, pd, expected_loss, es_contribution, contagious_pd``."""
        return self.nodes.copy()

    def risk_table(self) -> pd.DataFrame:
        """One row per level: ``level, var, var_se, es, es_se`` of the total loss."""
        return pd.DataFrame({"level": list(self.levels), "var": [self.var[q] for q in self.levels],
                             "var_se": [self.var_se[q] for q in self.levels],
                             "es": [self.es[q] for q in self.levels], "es_se": [self.es_se[q] for q in self.levels]})

    def distribution_table(self) -> pd.DataFrame:
        """One row per per-draw quantity (:data:`STATISTICS`): ``metric, mean, sd, mean_se, p50, p90, p99, max``."""
        rows = [{"metric": name, **v} for name, v in self.statistics.items()]
        return pd.DataFrame(rows, columns=["metric", "mean", "sd", "mean_se", "p50", "p90", "p99", "max"])

    def node_loss_frame(self) -> pd.DataFrame:
        """Every node's loss per draw as a draw × node table (columns: the node ids); needs ``keep_nodes``."""
        if self.node_losses is None:
            raise InvalidParameterError("The per-node losses of every draw were not kept: run simulate with "
                                        "keep_nodes=True.")
        return pd.DataFrame(self.node_losses, columns=pd.Index(self.nodes["node"].to_numpy(), dtype=object))

    def __repr__(self) -> str:
        q = self.levels[0]
        return (f"<SimulationResult: {self.draws} draws, VaR {q:g} = {self.var[q]:.6g}, ES {q:g} = {self.es[q]:.6g}; "
                f"{self.message}>")


def _level_key(q: float) -> str:
    return f"{q:g}"


def _statistics(values: np.ndarray) -> dict:
    n = values.size
    if not n:
        return {k: math.nan for k in ("mean", "sd", "mean_se", "p50", "p90", "p99", "max")}
    v = values.astype(np.float64)
    sd = float(v.std(ddof=1)) if n > 1 else 0.0
    p50, p90, p99 = (float(x) for x in np.quantile(v, [0.5, 0.9, 0.99], method="inverted_cdf"))
    return {"mean": float(v.mean()), "sd": sd, "mean_se": sd / math.sqrt(n), "p50": p50, "p90": p90, "p99": p99,
            "max": float(v.max())}


def _risk(total: np.ndarray, level: float) -> tuple[float, float, float, float, np.ndarray, np.ndarray]:
    """VaR, its standard error, ES, its standard error, and the tail (draw positions, weights)."""
    n = total.size
    c, m, w = tail_weights(n, level)
    order = np.lexsort((np.arange(n), -total))      # worst first, ties to the lower draw index
    tail = order[:m]
    weights = np.ones(m)
    weights[-1] = w
    asc = np.sort(total)
    var = float(asc[c - 1])
    s = math.sqrt(level * (1.0 - level) / n)
    lo = min(n, max(1, math.ceil(round(n * (level - s), 9))))
    hi = min(n, max(1, math.ceil(round(n * (level + s), 9))))
    var_se = float(asc[hi - 1] - asc[lo - 1]) / 2.0
    mass = n * (1.0 - level)
    tail_loss = total[tail]
    es = float(np.sum(weights * tail_loss) / mass)
    spread = float(np.sum(weights * (tail_loss - es) ** 2) / mass)
    es_se = math.sqrt(max(0.0, spread + level * (es - var) ** 2) / mass)
    return var, var_se, es, es_se, tail, weights


# ============================================================================ simulate
def simulate(network, model: ShockModel | Mapping | str | None = None, *, draws: int = 10_000,
             seed: int | None = None, levels: float | Iterable[float] = (0.99,), alpha: float = 1.0,
             beta: float = 1.0, tol: float = 1e-9, max_iter: int = 1000, chunk_size: int | None = None,
             keep_nodes: bool = False, executor: Executor | None = None, workers: int | None = None,
             scheduler: str | None = None, strict: bool = False) -> SimulationResult:
    r"""Monte Carlo of the network's losses under a joint shock model.

    Every draw is a :class:`~exposure.shocks.MarketShock` generated by ``model`` and cleared to the
    joint fixed point of :func:`~exposure.defi.solve_system` (Eisenberg–Noe when
    ``alpha = beta = 1``, else Rogers–Veraart; the cross-collateral mechanics on a version-2
    graph), a whole stream block of draws at once by :func:`~exposure.defi.solve_block`.

    Estimators (``N`` draws, total losses ``L`` sorted ascending, level ``q``,
    :func:`tail_weights`): ``VaR_q = L[⌈Nq⌉]``; ``ES_q`` the weighted mean of the tail (the
    ``N(1 − q)`` worst draws, Acerbi–Tasche); per node ``pd`` the share of draws in which it
    defaults, ``contagious_pd`` those in which it defaults in round 2 or later of the joint loop
    (not by its own shock alone), ``expected_loss`` its mean loss and ``es_contribution`` its
    weighted mean loss over the tail draws of the first level, 0 for a token, whose loss is its
    holders' (summed over the nodes, with the external creditors' and outside buffers' terms, it
    is ``ES``). Standard errors: the
    mean's ``sd/√N``; VaR's half the distance between the order statistics at ``q ± √(q(1−q)/N)``;
    ES's ``√((Var_tail + q (ES − VaR)²) / (N(1 − q)))``.

    Parameters
    ----------
    network : ExposureNetwork
    model : ShockModel, mapping, path or None
        The shock model: a :class:`ShockModel`, a shock-model document (dict), the path of a JSON
        shock-model file, or None for :func:`default_model` of the network.
    draws : int
        Number of draws ``N`` (≥ 1).
    seed : int, optional
        The seed: stream block ``b`` (draws ``bB … bB + B − 1``, ``B =`` :func:`block_size`) takes its
        random numbers from ``SeedSequence(seed).spawn(...)[b]``. None draws a fresh seed (reported
        as ``result.seed``).
    levels : float or sequence of float
        Confidence levels of VaR and ES, in (0, 1).
    alpha, beta, tol, max_iter
        As in :func:`~exposure.defi.solve_system`, for every draw.
    chunk_size : int, optional
        Draws per piece of work sent to the executor, rounded up to whole stream blocks [default: the
        whole run in process; four chunks per worker on a cluster]. It changes nothing in the result.
    keep_nodes : bool
        Keep every node's loss in every draw (``result.node_losses``, ``draws × n`` floats).
    executor, workers, scheduler
        Where the chunks run (:class:`exposure.executor.Executor`): in process by default, a local
        Dask cluster of ``workers`` processes, a running scheduler, or an executor already started.
        The network and the model are sent to the workers once.
    strict : bool
        Raise :class:`~exposure.exceptions.ConvergenceError` instead of warning when a draw does
        not converge.

    Returns
    -------
    SimulationResult
        Bit for bit the same for the same network, model, seed and ``draws``, whatever
        ``chunk_size`` and wherever the chunks run.

    Examples
    --------
    >>> import exposure
    >>> net = exposure.read_graph("graphs/defi.json")
    >>> r = simulate(net, draws=2000, seed=1)
    >>> r.draws, r.converged, list(r.to_frame().columns)
    (2000, True, ['node', 'pd', 'expected_loss', 'es_contribution', 'contagious_pd'])
    >>> r.es[0.99] >= r.var[0.99] >= 0
    True
    """
    draws = check_number(draws, "draws", "simulate", lo=1, integer=True)
    seed = _check_seed(seed)
    levels = _check_levels(levels)
    alpha = check_number(alpha, "alpha", "simulate", lo=0.0, hi=1.0)
    beta = check_number(beta, "beta", "simulate", lo=0.0, hi=1.0)
    tol = check_number(tol, "tol", "simulate", lo=0.0, lo_open=True)
    max_iter = check_number(max_iter, "max_iter", "simulate", lo=1, integer=True)
    if chunk_size is not None:
        chunk_size = check_number(chunk_size, "chunk_size", "simulate", lo=1, integer=True)
    if model is None:
        model = default_model(network)
    elif isinstance(model, Mapping):
        model = ShockModel.from_dict(model, network)
    elif not isinstance(model, ShockModel):
        model = read_model(model, network)
    if model.n != network.n:
        raise InvalidParameterError(f"The shock model was checked against a network of {model.n} nodes; this one "
                                    f"has {network.n}. Read the model for this network.")
    B = block_size(network)
    nb = -(-draws // B)
    seqs = np.random.SeedSequence(seed).spawn(nb)
    tail = max(tail_weights(draws, q)[1] for q in levels)
    shared = {"network": network, "model": model, "block": B, "draws": draws, "tail": tail,
              "keep_nodes": bool(keep_nodes),
              "options": {"alpha": alpha, "beta": beta, "tol": tol, "max_iter": max_iter}}
    with executor_for(executor, workers, scheduler, owner="simulate") as ex:
        if chunk_size is not None:
            per = -(-chunk_size // B)
            ranges = [range(s, min(nb, s + per)) for s in range(0, nb, per)]
        else:
            ranges = ex.chunks(nb)
        items = [[(b, seqs[b]) for b in r] for r in ranges]
        with Progress("simulating", total=draws, unit="draws") as bar:
            if ex.mode == "in-process":
                parts = ex.map(_simulate_chunk, items, shared={**shared, "progress": bar})
            else:
                sizes = [min(draws, r.stop * B) - r.start * B for r in ranges]
                parts = ex.map(_simulate_chunk, items, shared=shared, progress=_ChunkProgress(bar, sizes))
        mode = ex.mode
    return report(_assemble(network, model, parts, draws=draws, seed=seed, levels=levels, alpha=alpha, beta=beta,
                            B=B, keep_nodes=keep_nodes, mode=mode),
                  strict=strict, what="simulate")


def _assemble(network, model, parts, *, draws, seed, levels, alpha, beta, B, keep_nodes, mode) -> SimulationResult:
    """Combine the chunks' blocks in block order (the fixed order that makes the sums chunk-free)."""
    n = network.n
    blocks = sorted((blk for p in parts for blk in p["blocks"]), key=lambda blk: blk["index"])
    totals = {name: np.concatenate([blk["totals"][name] for blk in blocks]) for name in DRAW_FIELDS}
    status = np.concatenate([blk["status"] for blk in blocks]).astype(np.int64)
    fallback = np.concatenate([blk["fallback"] for blk in blocks]).astype(bool)
    loss_sum, loss_sq = np.zeros(n), np.zeros(n)
    defaults, contagious = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for blk in blocks:
        loss_sum += blk["loss_sum"]
        loss_sq += blk["loss_sq"]
        defaults += blk["defaults"]
        contagious += blk["contagious"]
    node_losses = np.concatenate([blk["loss"] for blk in blocks]) if keep_nodes else None
    # the tail candidates of every chunk: the run's worst draws are among them
    cand_draw = np.concatenate([p["cand_draw"] for p in parts])
    cand_rows = np.concatenate([p["cand_rows"] for p in parts]) if parts else np.zeros((0, n))
    row_of = {int(d): i for i, d in enumerate(cand_draw)}
    total = totals["total_loss"]
    var, var_se, es, es_se, contrib = {}, {}, {}, {}, {}
    token = network.is_token()
    for q in levels:
        var[q], var_se[q], es[q], es_se[q], tail, weights = _risk(total, q)
        order = np.argsort(tail, kind="stable")           # the tail in draw order: a fixed order of summing
        rows = cand_rows[[row_of[int(d)] for d in tail[order]]]
        contrib[q] = (weights[order][:, None] * rows).sum(axis=0) / (draws * (1.0 - q))
        contrib[q][token] = 0.0           # pass-through: a token's loss is its holders' (counted there)
    ids = network.node_ids
    pd_ = defaults / draws
    cpd = contagious / draws
    el = loss_sum / draws
    el_var = np.maximum(0.0, loss_sq / draws - el ** 2) * (draws / max(1, draws - 1))
    node_col = pd.Index(ids.to_numpy(dtype=object), dtype=object)
    nodes = pd.DataFrame({"node": node_col, "pd": pd_, "expected_loss": el, "es_contribution": contrib[levels[0]],
                          "contagious_pd": cpd})
    errors = pd.DataFrame({"node": node_col, "pd_se": np.sqrt(pd_ * (1 - pd_) / draws),
                           "expected_loss_se": np.sqrt(el_var / draws),
                           "contagious_pd_se": np.sqrt(cpd * (1 - cpd) / draws)})
    es_frame = pd.DataFrame({"node": node_col, **{_level_key(q): contrib[q] for q in levels}})
    samples = pd.DataFrame({"draw": np.arange(draws, dtype=np.int64), **totals, "status": status,
                            "fallback": fallback})
    stats = {name: _statistics(totals[name]) for name in STATISTICS}
    converged = bool(totals["converged"].all())
    st = int(status.max(initial=0))
    nb = len(blocks)
    if converged:
        message = (f"{draws} draws in {nb} block{'s' * (nb != 1)} of {B}: every draw converged (at most "
                   f"{int(totals['rounds'].max(initial=0))} rounds)")
    else:
        bad = np.flatnonzero(~totals["converged"])
        message = (f"{bad.size} of {draws} draws did not converge (the first: draw {int(bad[0])}, status "
                   f"{int(status[bad[0]])}, {STATUS.get(int(status[bad[0]]), 'unknown status')})")
        st = max(st, 1)
    return SimulationResult(nodes=nodes, node_errors=errors, es_contributions=es_frame, samples=samples,
                            node_losses=node_losses, var=var, es=es, var_se=var_se, es_se=es_se, statistics=stats,
                            draws=draws, seed=seed, levels=levels, alpha=alpha, beta=beta, block_size=B, model=model,
                            mode=mode, converged=converged, status=st, message=message)
