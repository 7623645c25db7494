r"""The cross-collateral mechanics cleared for a whole block of scenarios at once (Monte Carlo draws).

:func:`solve_block` takes ``k`` scenarios as arrays of shape ``(k, n)`` (draw × node, in graph
node order), one per field of :data:`exposure.shocks.SHOCK_FIELDS`, and returns a
:class:`BlockOutcome`: per draw the totals of :meth:`SystemResult.summary` and per draw and node
the losses, defaults, default rounds and impairments. Row ``j`` of every array is what
:func:`~exposure.defi.solve_system` gives for the :class:`~exposure.shocks.MarketShock` of row
``j`` of the block.

Methods
-------
``"vectorised"`` (default)
    The joint loop of :func:`~exposure.defi.solve_system` run on every draw at once
    (:mod:`exposure.defi._batched`): price and payment states ``(n, k)``, position states
    ``(P, k)``, sparse × dense products for the clearing and the aggregations, a per-draw stopping
    rule. The unshocked state is solved once per call (by the single-draw loop) and the network's
    arrays are built once per network.
``"loop"``
    :func:`~exposure.defi.solve_system` on every row, one after the other: exact by construction,
    and the independent method the block solver is tested against.
"""

from __future__ import annotations

import math
import warnings
import weakref
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from .._params import check_choice, check_number
from .._results import STATUS
from ..exceptions import ConvergenceError, ConvergenceWarning, InvalidShockError
from ..shocks import SHOCK_FIELDS, MarketShock
from ._batched import BlockModel, run_block
from ._model import MechanicsModel
from ._system import _equity, _external_loss, _run, solve_system

__all__ = ["BlockOutcome", "solve_block", "BLOCK_METHODS", "DRAW_FIELDS", "NODE_FIELDS"]

#: Methods of :func:`solve_block`.
BLOCK_METHODS = ("vectorised", "loop")

#: Per-draw arrays of a :class:`BlockOutcome` (shape ``(k,)``), each the same-named entry of
#: :meth:`SystemResult.summary` of the draw.
DRAW_FIELDS = ("total_loss", "bad_debt", "liquidated", "n_defaults", "n_impaired", "buffer_used",
               "external_creditor_loss", "rounds", "converged", "residual")

#: Per-node arrays of a :class:`BlockOutcome` (shape ``(k, n)``), each the same-named array of
#: :class:`SystemResult` of the draw.
NODE_FIELDS = ("loss", "defaulted", "default_round", "impaired")

_DRAW_DTYPES = {"n_defaults": np.int64, "n_impaired": np.int64, "rounds": np.int64, "converged": bool}
_NODE_DTYPES = {"loss": np.float64, "defaulted": bool, "default_round": np.int64, "impaired": bool}


@dataclass(frozen=True, eq=False)
class BlockOutcome:
    """The mechanics of :func:`solve_block` on ``k`` draws: row ``j`` is draw ``j``.

    It follows the result protocol (:mod:`exposure._results`) over the block: ``status`` is the
    largest status of its draws, ``message`` says how many draws converged, ``summary()`` and
    ``to_frame()``; but ``converged`` is the per-draw array (the block converged when
    ``all_converged``), as the other per-draw fields are.

    Attributes
    ----------
    node_ids : pandas.Index
        The nodes, in graph order (the columns of the per-node arrays).
    total_loss, bad_debt, liquidated, buffer_used, external_creditor_loss, residual : ndarray (k,)
        Per draw, the entries of :meth:`SystemResult.summary`: equity lost by the non-token nodes
        plus the rise of the external creditors' loss and of the outside first-loss capital drawn;
        bad debt of every position; collateral sold (USD at reference prices); first-loss capital
        drawn; what external creditors are not paid; the largest change in the last round.
    n_defaults, n_impaired, rounds : ndarray of int (k,)
        Debt nodes in default, share nodes impaired, rounds of the joint loop.
    converged : ndarray of bool (k,)
        The draw's shocked and unshocked states both converged.
    draw_status : ndarray of int (k,)
        The status of each draw (:data:`exposure._results.STATUS`).
    fallback : ndarray of bool (k,)
        Draws the vectorised method handed to :func:`~exposure.defi.solve_system` because a
        round's clearing contracted too slowly for its sweeps (:data:`exposure.defi._batched.SWEEP_LIMIT`).
    loss : ndarray (k, n)
        ``equity_before − equity_after`` of every node.
    defaulted, impaired : ndarray of bool (k, n)
    default_round : ndarray of int (k, n)
        Round of the joint loop in which the node first defaults (0: never).
    equity_before : ndarray (n,)
        Equity in the unshocked state (the same for every draw).
    status : int
        The largest status of the draws (0 when every draw converged).
    message : str
    method : str
    alpha, beta, tol : float
    """

    node_ids: pd.Index = field(repr=False)
    total_loss: np.ndarray = field(repr=False)
    bad_debt: np.ndarray = field(repr=False)
    liquidated: np.ndarray = field(repr=False)
    n_defaults: np.ndarray = field(repr=False)
    n_impaired: np.ndarray = field(repr=False)
    buffer_used: np.ndarray = field(repr=False)
    external_creditor_loss: np.ndarray = field(repr=False)
    rounds: np.ndarray = field(repr=False)
    converged: np.ndarray = field(repr=False)
    residual: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    defaulted: np.ndarray = field(repr=False)
    default_round: np.ndarray = field(repr=False)
    impaired: np.ndarray = field(repr=False)
    draw_status: np.ndarray = field(repr=False)
    equity_before: np.ndarray = field(repr=False)
    fallback: np.ndarray = field(repr=False, default=None)
    status: int = 0
    message: str = ""
    method: str = "loop"
    alpha: float = 1.0
    beta: float = 1.0
    tol: float = 1e-9

    @property
    def k(self) -> int:
        """Number of draws."""
        return int(self.total_loss.shape[0])

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def all_converged(self) -> bool:
        """Every draw converged."""
        return bool(np.all(self.converged))

    @property
    def status_text(self) -> str:
        """The meaning of ``status`` (:data:`exposure._results.STATUS`)."""
        return STATUS.get(int(self.status), "unknown status")

    def draw_summary(self, j: int) -> dict:
        """The entries of :meth:`SystemResult.summary` of draw ``j`` that the block keeps (plain values)."""
        out = {}
        for name in DRAW_FIELDS:
            v = getattr(self, name)[j]
            out[name] = bool(v) if name == "converged" else int(v) if name in _DRAW_DTYPES else float(v)
        return out

    def summary(self) -> dict:
        """``draws, nodes, converged`` (every draw), ``status, message, method, not_converged``
        (draws), ``max_rounds, max_residual`` and the means of ``total_loss, bad_debt, n_defaults``."""
        k = self.k
        return {
            "draws": k, "nodes": self.n, "converged": self.all_converged, "status": int(self.status),
            "message": str(self.message), "method": self.method,
            "not_converged": int(k - np.count_nonzero(self.converged)),
            "fallback": int(np.count_nonzero(self.fallback)) if self.fallback is not None else 0,
            "max_rounds": int(self.rounds.max(initial=0)), "max_residual": float(self.residual.max(initial=0.0)),
            "mean_total_loss": float(self.total_loss.mean()) if k else math.nan,
            "mean_bad_debt": float(self.bad_debt.mean()) if k else math.nan,
            "mean_defaults": float(self.n_defaults.mean()) if k else math.nan,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per draw: ``draw`` and the per-draw fields (:data:`DRAW_FIELDS`), then ``status``."""
        frame = pd.DataFrame({"draw": np.arange(self.k), **{name: getattr(self, name) for name in DRAW_FIELDS}})
        frame["status"] = self.draw_status
        return frame

    def node_frame(self, name: str) -> pd.DataFrame:
        """A per-node field (:data:`NODE_FIELDS`) as a draw × node table (columns: the node ids)."""
        check_choice(name, "name", "BlockOutcome.node_frame", NODE_FIELDS)
        return pd.DataFrame(getattr(self, name), columns=self.node_ids.copy())

    def __repr__(self) -> str:
        return f"<BlockOutcome: {self.k} draws × {self.n} nodes; {self.message}>"


# ============================================================================ the block
def check_block(network, block: Mapping[str, object]) -> tuple[int, dict[str, np.ndarray]]:
    """Validate a block of shocks; returns ``(k, {field: float array (k, n)})``.

    Every key must be a field of :data:`~exposure.shocks.SHOCK_FIELDS`, every value an array of
    shape ``(k, n)`` (draw × node in graph order, the same ``k`` for every field) of numbers in
    the field's interval. The error names the field, and for a bad value the draw and the node.
    """
    if not isinstance(block, Mapping):
        raise InvalidShockError(f"A block of shocks must be a mapping of shock field to an array (draws × nodes). "
                                f"Got {type(block).__name__} instead.")
    if not block:
        raise InvalidShockError("A block of shocks must name at least one shock field (of "
                                f"{', '.join(SHOCK_FIELDS)}): the number of draws is the number of rows.")
    n = network.n
    ids = network.node_ids
    k = None
    out = {}
    for name, raw in block.items():
        if name not in SHOCK_FIELDS:
            raise InvalidShockError(f"Unknown shock field {name!r} in the block; the fields are "
                                    f"{', '.join(SHOCK_FIELDS)}.")
        try:
            arr = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise InvalidShockError(f"Shock field {name!r} of the block must be an array of numbers "
                                    f"(draws × nodes): {err}") from err
        if arr.ndim != 2 or arr.shape[1] != n:
            raise InvalidShockError(f"Shock field {name!r} of the block must have shape (draws, {n}) (one column "
                                    f"per node, in graph order). Got shape {arr.shape} instead.")
        if k is None:
            k = arr.shape[0]
        elif arr.shape[0] != k:
            raise InvalidShockError(f"Shock field {name!r} of the block has {arr.shape[0]} draws, the others "
                                    f"{k}; every field must have the same number of rows.")
        spec = SHOCK_FIELDS[name]
        iv = spec.interval
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(arr) & ((arr > iv.lo) if iv.lo_open else (arr >= iv.lo)) \
                & ((arr < iv.hi) if iv.hi_open else (arr <= iv.hi))
        if not ok.all():
            j, i = (int(v[0]) for v in np.nonzero(~ok))
            raise InvalidShockError(f"Shock field {name!r} of the block, draw {j}, node {ids[i]!r}, must be "
                                    f"{spec.meaning} {iv.notation()}. Got {arr[j, i]!r} instead.")
        out[name] = arr
    return int(k), out


def _row_shock(arrays: dict[str, np.ndarray], ids: np.ndarray, j: int) -> MarketShock:
    """The MarketShock of row ``j`` (only the entries that move something)."""
    fields = {}
    for name, arr in arrays.items():
        row = arr[j]
        idx = np.flatnonzero(row != SHOCK_FIELDS[name].neutral)
        fields[name] = {str(ids[i]): float(row[i]) for i in idx}
    return MarketShock(**fields)


def _solve_loop(network, k: int, arrays, *, alpha, beta, tol, max_iter, rows=None, into=None) -> dict:
    """``solve_system`` on every row (or on ``rows`` only, written into ``into``): the reference method."""
    n = network.n
    ids = network.node_ids.to_numpy(dtype=object)
    if into is None:
        draw = {name: np.zeros(k, _DRAW_DTYPES.get(name, np.float64)) for name in DRAW_FIELDS}
        node = {name: np.zeros((k, n), dtype) for name, dtype in _NODE_DTYPES.items()}
        into = {**draw, **node, "draw_status": np.zeros(k, np.int64), "equity_before": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)     # reported once for the block
        for j in (range(k) if rows is None else rows):
            res = solve_system(network, _row_shock(arrays, ids, j), alpha=alpha, beta=beta, tol=tol,
                               max_iter=max_iter)
            s = res.summary()
            for name in DRAW_FIELDS:
                into[name][j] = s[name]
            for name in NODE_FIELDS:
                into[name][j] = getattr(res, name)
            into["draw_status"][j] = res.status
            into["equity_before"] = np.asarray(res.equity_before, dtype=np.float64)
    if into["equity_before"] is None:
        into["equity_before"] = solve_system(network, None, alpha=alpha, beta=beta, tol=tol,
                                             max_iter=max_iter).equity_before
    return into


#: What is built once per network: its MechanicsModel and BlockModel, and its unshocked states.
_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _prepared(network):
    entry = _CACHE.get(network)
    if entry is None:
        model = MechanicsModel.from_network(network)
        entry = {"model": model, "block": BlockModel.from_model(model), "before": {}}
        _CACHE[network] = entry
    return entry


def _vectors(arrays: dict, n: int, k: int) -> dict:
    """The block as the ``MarketShock.vectors`` entries, each ``(n, k)`` (node × draw)."""
    names = {"asset_loss": "loss_fraction", "asset_loss_amount": "loss_amount", "price_change": "change",
             "depeg": "depeg", "forged_supply": "forged", "depth_factor": "depth_factor"}
    out = {}
    for field_name, key in names.items():
        arr = arrays.get(field_name)
        out[key] = (np.full((n, k), SHOCK_FIELDS[field_name].neutral) if arr is None
                    else np.ascontiguousarray(arr.T))
    return out


def _solve_vectorised(network, k: int, arrays, *, alpha, beta, tol, max_iter) -> dict:
    """The block loop (:func:`exposure.defi._batched.run_block`) and the losses of :func:`solve_system`."""
    entry = _prepared(network)
    model, bm = entry["model"], entry["block"]
    n = model.n
    key = (alpha, beta, tol, max_iter)
    before = entry["before"].get(key)
    if before is None:
        before = _run(model, MarketShock().vectors(network), alpha=alpha, beta=beta, tol=tol, max_iter=max_iter)
        entry["before"][key] = before
    st = run_block(bm, _vectors(arrays, n, k), alpha=alpha, beta=beta, tol=tol, max_iter=max_iter)
    x = model.x
    eq_b = _equity(before.pbar, before.assets)
    ecl_b = _external_loss(before.pbar, before.payments, x)
    bearing = model.bearing
    outside = bearing.provider < 0
    eq_a = np.maximum(0.0, st["assets"] - st["pbar"])
    loss = eq_b[:, None] - eq_a
    pbar = st["pbar"]
    rec = np.divide(st["payments"], pbar, out=np.ones_like(pbar), where=pbar > 0)
    ecl_a = np.sum(x[:, None] * (1.0 - rec), axis=0)
    ext = np.sum(st["buffer_used"][outside], axis=0) - np.sum(before.buffer_used[outside])
    shortfall = st["defaulted"]
    shares = bearing.shares[:, None]
    defaulted, impaired = shortfall & ~shares, shortfall & shares
    out = {
        "total_loss": np.sum(loss[~model.is_token], axis=0) + (ecl_a - ecl_b) + ext,
        "bad_debt": np.sum(st["bad"], axis=0) if model.n_positions else np.zeros(k),
        "liquidated": np.sum(st["Q"], axis=0),
        "n_defaults": np.count_nonzero(defaulted, axis=0).astype(np.int64),
        "n_impaired": np.count_nonzero(impaired, axis=0).astype(np.int64),
        "buffer_used": np.sum(st["buffer_used"], axis=0),
        "external_creditor_loss": ecl_a,
        "rounds": st["iterations"].astype(np.int64),
        "converged": st["converged"] & bool(before.converged),
        "residual": st["residual"],
        "loss": np.ascontiguousarray(loss.T),
        "defaulted": np.ascontiguousarray(defaulted.T),
        "default_round": np.ascontiguousarray(np.where(shares, 0, st["default_round"]).T.astype(np.int64)),
        "impaired": np.ascontiguousarray(impaired.T),
        "draw_status": np.where(st["converged"], 0 if before.converged else before.status, st["status"]),
        "equity_before": eq_b,
    }
    hard = st["hard"]
    if hard.any():
        _solve_loop(network, k, arrays, alpha=alpha, beta=beta, tol=tol, max_iter=max_iter,
                    rows=np.flatnonzero(hard), into=out)
    out["fallback"] = hard
    return out


def solve_block(network, block: Mapping[str, object], *, alpha: float = 1.0, beta: float = 1.0, tol: float = 1e-9,
                max_iter: int = 1000, method: str = "vectorised", strict: bool = False) -> BlockOutcome:
    """The joint fixed point of :func:`~exposure.defi.solve_system` for every row of a block of shocks.

    Parameters
    ----------
    network : ExposureNetwork
        A network of format version 1 or 2.
    block : mapping of shock field -> array (k, n)
        For each field of :data:`~exposure.shocks.SHOCK_FIELDS` (``asset_loss``,
        ``asset_loss_amount``, ``price_change``, ``depeg``, ``forged_supply``, ``depth_factor``)
        the value of draw ``j`` (row) on node ``i`` (column, in graph node order). An absent field
        is unshocked (0, or 1 for ``depth_factor``); so is a neutral entry.
    alpha, beta, tol, max_iter
        As in :func:`~exposure.defi.solve_system`, for every draw.
    method : {"vectorised", "loop"}
        ``"vectorised"``: every draw at once (module docstring); ``"loop"``:
        :func:`~exposure.defi.solve_system` on each row in turn (the reference).
    strict : bool
        Raise :class:`~exposure.exceptions.ConvergenceError` (with the outcome as ``.result``)
        instead of one :class:`~exposure.exceptions.ConvergenceWarning` for the block when a draw
        does not converge.

    Returns
    -------
    BlockOutcome
        Row ``j`` of every array equals :func:`~exposure.defi.solve_system` on the
        :class:`~exposure.shocks.MarketShock` of row ``j``: its ``summary()`` entries
        (:data:`DRAW_FIELDS`) and its ``loss, defaulted, default_round, impaired`` arrays.

    Raises
    ------
    InvalidShockError
        An unknown field, an array of the wrong shape, or a value out of its field's range (the
        message names the field, the draw and the node).

    Examples
    --------
    Two draws on the lending example of :func:`~exposure.defi.solve_system`: the issuer loses
    nothing, then half of its assets (bad debt ``80 − 100·0.5/1.05``):

    >>> import pandas as pd
    >>> from exposure import ExposureNetwork
    >>> nodes = pd.DataFrame({"id": ["iss", "tok", "pool", "bob", "USD"],
    ...                       "kind": ["protocol", "token", "protocol", "protocol", "asset"],
    ...                       "issuer": pd.Series([None, "iss", None, None, None], dtype=object),
    ...                       "external_assets": [100.0, 0, 0, 0, 0]})
    >>> edges = pd.DataFrame([
    ...     {"kind": "claim", "debtor": "iss", "creditor": "tok", "amount": 100.0},
    ...     {"kind": "collateral", "lender": "pool", "borrower": "bob", "collateral_token": "tok",
    ...      "collateral": 100.0, "debt_token": "USD", "debt": 80.0, "liquidation_threshold": 0.9,
    ...      "liquidation_bonus": 0.05, "close_factor": 1.0, "oracle": "exchange_rate"}])
    >>> net = ExposureNetwork.from_frames(nodes, edges, meta={"version": 2})
    >>> loss = np.zeros((2, 5)); loss[1, 0] = 0.5
    >>> out = solve_block(net, {"asset_loss": loss})
    >>> out.bad_debt.round(6).tolist(), out.converged.tolist()
    ([0.0, 32.380952], [True, True])
    """
    alpha = check_number(alpha, "alpha", "solve_block", lo=0.0, hi=1.0)
    beta = check_number(beta, "beta", "solve_block", lo=0.0, hi=1.0)
    tol = check_number(tol, "tol", "solve_block", lo=0.0, lo_open=True)
    max_iter = check_number(max_iter, "max_iter", "solve_block", lo=1, integer=True)
    method = check_choice(method, "method", "solve_block", BLOCK_METHODS)
    k, arrays = check_block(network, block)
    solver = _solve_vectorised if method == "vectorised" and k else _solve_loop
    fields = solver(network, k, arrays, alpha=alpha, beta=beta, tol=tol, max_iter=max_iter)
    fields.setdefault("fallback", np.zeros(k, bool))
    status = int(fields["draw_status"].max(initial=0))
    bad = int(k - np.count_nonzero(fields["converged"]))
    if bad:
        first = int(np.flatnonzero(~fields["converged"])[0])
        message = (f"{bad} of {k} draws did not converge (the first: draw {first}, status "
                   f"{int(fields['draw_status'][first])}, {STATUS.get(int(fields['draw_status'][first]))})")
    else:
        message = f"all {k} draws converged (at most {int(fields['rounds'].max(initial=0))} rounds)"
    outcome = BlockOutcome(node_ids=network.node_ids, **fields, status=status, message=message, method=method,
                           alpha=alpha, beta=beta, tol=tol)
    if bad:
        text = f"solve_block: {message}"
        if strict:
            raise ConvergenceError(text, outcome)
        warnings.warn(text, ConvergenceWarning, stacklevel=2)
    return outcome
