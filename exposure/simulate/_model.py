r"""Shock models: how the shocks of a Monte Carlo draw are generated jointly (docs/simulate.md).

A :class:`ShockModel` is read from a JSON document (:func:`read_model`, :meth:`ShockModel.from_dict`)
or derived from the node kinds of a graph (:func:`default_model`), checked against the network,
and then draws blocks of shocks: :meth:`ShockModel.draw` returns, for ``k`` draws, one array of
shape ``(k, n)`` per shock field (:data:`exposure.shocks.SHOCK_FIELDS`), the input of
:func:`exposure.defi.solve_block`.

The model of a draw
-------------------
Factor returns
    Every *driven* node ``i`` gets a return ``r_i``. In the one-factor **market** model
    ``r_i = β_i (μ + σ_M M) + σ_i ε_i`` with a market factor ``M`` and idiosyncratic terms
    ``ε_i``, independent and of unit variance; in the **covariance** model the vector of returns
    of the listed nodes is ``r = μ + A z`` with ``A Aᵀ = Σ`` (the given covariance) and ``z`` of
    independent unit-variance terms.
Tails
    Without ``tails`` the unit-variance terms are standard normal. With ``tails: {"df": ν}``
    (``ν > 2``) they are Student-t with ``ν`` degrees of freedom scaled to unit variance,
    ``√((ν − 2)/ν) · t_ν``: in the market model ``M`` and each ``ε_i`` have their own
    chi-square mixing variable; in the covariance model the whole vector shares one
    (a multivariate t, so large moves come together: tail dependence).
From a return to a shock
    ``returns: "log"`` (default) reads ``r`` as a log return, ``"simple"`` as a simple one.
    The node's ``field`` (by default ``price_change`` for a base asset, ``depeg`` for a token,
    ``asset_loss`` for any other node) receives

    ============== ================================ ==============================
    field          log return                       simple return
    ============== ================================ ==============================
    price_change   ``e^r − 1``                      ``max(r, −1)``
    depeg          ``e^{min(r, 0)} − 1``            ``clip(r, −1, 0)``
    asset_loss     ``1 − e^{min(r, 0)}``            ``clip(−r, 0, 1)``
    ============== ================================ ==============================

    (a depeg and an asset loss only ever take value away: a positive return leaves them at 0).
Jumps
    Each jump names a ``node`` (or every node of a ``kind``), a ``probability`` per draw, a
    ``field`` (the same default by kind, or ``forged_supply``) and a ``severity`` distribution
    (``fixed``, ``uniform`` or ``beta``): a loss-given-event ``s``. Jumps are independent of each
    other and of the factors. On top of the factor part ``x`` of the node's field, a jump gives
    ``asset_loss: x + s (1 − x)``, ``depeg`` and ``price_change``: ``x (1 − s) − s`` (the price
    falls by a further fraction ``s``), ``forged_supply``: ``x + s``; several jumps on one node
    and field combine in the order of the file.

The random numbers of a block are taken from its generator in a fixed order (market factor,
idiosyncratic terms or the correlated vector, then the uniforms of occurrence of every jump in every
draw, then the severities of the jumps that occur, draw by draw), always for the whole stream block (:mod:`exposure.simulate`), so a draw's shocks
depend on the seed and the draw's index only.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..exceptions import InvalidShockError
from ..shocks import SHOCK_FIELDS

__all__ = ["ShockModel", "read_model", "default_model", "MODEL_FORMAT", "FACTOR_FIELDS", "JUMP_FIELDS",
           "SEVERITIES", "DEFAULTS"]

#: The ``format`` of a shock-model document.
MODEL_FORMAT = "exposure-shock-model"

#: Shock fields a factor return may drive.
FACTOR_FIELDS = ("price_change", "depeg", "asset_loss")

#: Shock fields a jump may hit.
JUMP_FIELDS = ("asset_loss", "depeg", "price_change", "forged_supply")

#: Severity distributions of a jump and their parameters.
SEVERITIES = {"fixed": ("value",), "uniform": ("low", "high"), "beta": ("a", "b")}

#: The default model's parameters (:func:`default_model`): a one-factor Student-t market of about a
#: week's horizon at crypto volatility.
DEFAULTS = {
    "df": 4.0,                      # Student-t tails of the factors
    "market_volatility": 0.12,      # σ_M, the market factor's volatility (log return)
    "asset_idiosyncratic": 0.03,    # σ_i of a volatile base asset (loading 1)
    "token_idiosyncratic": 0.005,   # σ_i of a token's market depeg (no market loading)
    "token_jump": 0.002,            # probability of a depeg jump of a token, severity Beta(1, 2)
    "pegged_jump": 0.001,           # probability of a depeg of a dollar-priced base asset, severity Beta(1, 9)
    "protocol_jump": 0.001,         # probability of a hack of a protocol, asset loss Beta(1, 2)
}

_TOP_KEYS = ("format", "version", "name", "description", "returns", "tails", "factors", "fields", "jumps")
_FIELD_CODE = {name: k for k, name in enumerate(JUMP_FIELDS)}     # asset_loss 0, depeg 1, price_change 2, forged 3


class _Where:
    """Builds the messages of a bad model: ``SOURCE: $.path: text``."""

    def __init__(self, source: str):
        self.source = source

    def error(self, path: str, text: str) -> InvalidShockError:
        return InvalidShockError(f"{self.source}: {path}: {text}")


def _number(w: _Where, path: str, value, *, lo=-math.inf, hi=math.inf, lo_open=False, what="a number") -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    x = float(value) if ok else math.nan
    inside = math.isfinite(x) and (x > lo if lo_open else x >= lo) and x <= hi
    if not inside:
        if lo == -math.inf and hi == math.inf:
            rng = "a finite number"
        elif hi == math.inf:
            rng = f"a number {'>' if lo_open else '≥'} {lo:g}"
        else:
            rng = f"a number in [{lo:g}, {hi:g}]"
        raise w.error(path, f"{what} must be {rng}. Got {value!r} instead.")
    return x


def _object(w: _Where, path: str, value, keys=None, required=()) -> dict:
    if not isinstance(value, dict):
        raise w.error(path, f"must be a JSON object. Got {type(value).__name__} instead.")
    if keys is not None:
        for k in value:
            if k not in keys:
                raise w.error(f"{path}.{k}", f"unknown key {k!r}; the keys here are {', '.join(keys)}.")
    for k in required:
        if k not in value:
            raise w.error(path, f"missing key {k!r}.")
    return value


@dataclass(frozen=True, eq=False)
class ShockModel:
    """A joint shock model checked against one network (module documentation, docs/simulate.md).

    Build it with :func:`read_model`, :meth:`from_dict` or :func:`default_model`; draw with
    :meth:`draw`. :meth:`to_dict` gives the document it was read from, normalised (every default
    filled in), which :meth:`from_dict` reads back to the same model.

    Attributes
    ----------
    name : str
    spec : dict
        The normalised document.
    n : int
        Nodes of the network it was checked against.
    """

    name: str
    spec: dict = field(repr=False)
    n: int
    _log: bool = field(repr=False)
    _df: float | None = field(repr=False)
    _kind: str = field(repr=False)                  # "market" or "covariance" or "none"
    _idx: np.ndarray = field(repr=False)            # driven nodes (m,)
    _field: np.ndarray = field(repr=False)          # their field codes (m,)
    _mean: np.ndarray = field(repr=False)           # market: β_i μ ; covariance: μ_i
    _load: np.ndarray = field(repr=False)           # market: β_i σ_M
    _idio: np.ndarray = field(repr=False)           # market: σ_i
    _factor: np.ndarray = field(repr=False)         # covariance: A (m, m)
    _jump_idx: np.ndarray = field(repr=False)       # (J,)
    _jump_p: np.ndarray = field(repr=False)
    _jump_field: np.ndarray = field(repr=False)
    _jump_dist: np.ndarray = field(repr=False)      # 0 fixed, 1 uniform, 2 beta
    _jump_par: np.ndarray = field(repr=False)       # (J, 2)
    _jump_round: np.ndarray = field(repr=False)     # (J,) earlier jumps on the same node and field

    # ------------------------------------------------------------------ reading
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], network, *, source: str = "shock model") -> "ShockModel":
        """Check a shock-model document against ``network`` and compile it.

        Raises
        ------
        InvalidShockError
            ``SOURCE: $.path: what is wrong`` for the first problem: an unknown key, a value out
            of range, a node the graph does not have (named), a covariance that is not symmetric
            positive semi-definite, a jump field that does not apply.
        """
        w = _Where(source)
        data = _object(w, "$", data, _TOP_KEYS)
        fmt = data.get("format", MODEL_FORMAT)
        if fmt != MODEL_FORMAT:
            raise w.error("$.format", f"must be {MODEL_FORMAT!r}. Got {fmt!r} instead.")
        version = data.get("version", 1)
        if version != 1 or isinstance(version, bool):
            raise w.error("$.version", f"must be 1. Got {version!r} instead.")
        for key in ("name", "description"):
            if key in data and not isinstance(data[key], str):
                raise w.error(f"$.{key}", f"must be a string. Got {data[key]!r} instead.")
        returns = data.get("returns", "log")
        if returns not in ("log", "simple"):
            raise w.error("$.returns", f"must be 'log' or 'simple'. Got {returns!r} instead.")
        df = None
        tails = data.get("tails")
        if tails is not None:
            tails = _object(w, "$.tails", tails, ("df",), ("df",))
            df = _number(w, "$.tails.df", tails["df"], lo=2.0, lo_open=True, what="the degrees of freedom")
        ids = network.node_ids
        kinds = np.asarray(network.kinds, dtype=object)

        def node_index(path: str, node) -> int:
            if not isinstance(node, str):
                raise w.error(path, f"a node id must be a string. Got {node!r} instead.")
            i = ids.get_indexer([node])[0]
            if i < 0:
                raise w.error(path, f"unknown node {node!r}: no node of the graph has that id.")
            return int(i)

        # ---- fields of driven nodes
        fields = _object(w, "$.fields", data.get("fields", {}))
        field_of = {}
        for node, name in fields.items():
            node_index(f"$.fields.{node}", node)
            if name not in FACTOR_FIELDS:
                raise w.error(f"$.fields.{node}", f"the field a return drives must be one of "
                                                  f"{', '.join(FACTOR_FIELDS)} (node {node!r}). Got {name!r} instead.")
            field_of[node] = name

        token = network.is_token()

        def default_field(i: int) -> str:
            return "price_change" if kinds[i] == "asset" else "depeg" if token[i] else "asset_loss"

        # ---- factors
        factors = data.get("factors")
        spec_factors = None
        kind = "none"
        idx = np.zeros(0, np.int64)
        mean = load = idio = np.zeros(0)
        factor = np.zeros((0, 0))
        if factors is not None:
            model = _object(w, "$.factors", factors).get("model")
            if model == "market":
                f = _object(w, "$.factors", factors, ("model", "volatility", "mean", "loadings", "idiosyncratic"),
                            ("volatility",))
                vol = _number(w, "$.factors.volatility", f["volatility"], lo=0.0, what="the market volatility")
                mu = _number(w, "$.factors.mean", f.get("mean", 0.0), what="the market mean")
                loadings = _object(w, "$.factors.loadings", f.get("loadings", {}))
                idios = _object(w, "$.factors.idiosyncratic", f.get("idiosyncratic", {}))
                order = list(dict.fromkeys([*loadings, *idios]))
                beta = {}
                for node in order:
                    if node in loadings:
                        node_index(f"$.factors.loadings.{node}", node)
                        beta[node] = _number(w, f"$.factors.loadings.{node}", loadings[node],
                                             what=f"the loading of node {node!r}")
                    if node in idios:
                        node_index(f"$.factors.idiosyncratic.{node}", node)
                        _number(w, f"$.factors.idiosyncratic.{node}", idios[node], lo=0.0,
                                what=f"the idiosyncratic volatility of node {node!r}")
                idx = np.array([ids.get_loc(x) for x in order], dtype=np.int64)
                b = np.array([beta.get(x, 0.0) for x in order])
                mean, load = b * mu, b * vol
                idio = np.array([float(idios.get(x, 0.0)) for x in order])
                kind = "market"
                spec_factors = {"model": "market", "volatility": vol, "mean": mu,
                                "loadings": {x: float(loadings[x]) for x in loadings},
                                "idiosyncratic": {x: float(idios[x]) for x in idios}}
            elif model == "covariance":
                f = _object(w, "$.factors", factors, ("model", "nodes", "mean", "covariance"), ("nodes", "covariance"))
                nodes = f["nodes"]
                if not isinstance(nodes, list) or not nodes:
                    raise w.error("$.factors.nodes", "must be a non-empty list of node ids.")
                idx = np.array([node_index(f"$.factors.nodes[{k}]", x) for k, x in enumerate(nodes)], dtype=np.int64)
                if len(set(nodes)) != len(nodes):
                    dup = next(x for x in nodes if nodes.count(x) > 1)
                    raise w.error("$.factors.nodes", f"node {dup!r} is listed twice.")
                m = len(nodes)
                raw_mean = f.get("mean", [0.0] * m)
                if not isinstance(raw_mean, list) or len(raw_mean) != m:
                    raise w.error("$.factors.mean", f"must be a list of {m} numbers (one per node).")
                mean = np.array([_number(w, f"$.factors.mean[{k}]", v, what=f"the mean of node {nodes[k]!r}")
                                 for k, v in enumerate(raw_mean)])
                cov = f["covariance"]
                if not isinstance(cov, list) or len(cov) != m or any(not isinstance(r, list) or len(r) != m
                                                                      for r in cov):
                    raise w.error("$.factors.covariance", f"must be a {m} × {m} list of lists (one row per node).")
                sigma = np.array([[_number(w, f"$.factors.covariance[{a}][{c}]", v,
                                           what=f"the covariance of nodes {nodes[a]!r} and {nodes[c]!r}")
                                   for c, v in enumerate(row)] for a, row in enumerate(cov)])
                factor = _square_root(w, sigma, nodes)
                kind = "covariance"
                spec_factors = {"model": "covariance", "nodes": list(nodes), "mean": mean.tolist(),
                                "covariance": sigma.tolist()}
            else:
                raise w.error("$.factors.model", f"must be 'market' or 'covariance'. Got {model!r} instead.")
        driven = set(ids[idx]) if idx.size else set()
        for node in field_of:
            if node not in driven:
                raise w.error(f"$.fields.{node}", f"node {node!r} has no factor return to drive a field.")
        field_codes = np.array([_FIELD_CODE[field_of.get(ids[i], default_field(i))] for i in idx], dtype=np.int64)

        # ---- jumps
        jumps = data.get("jumps", [])
        if not isinstance(jumps, list):
            raise w.error("$.jumps", f"must be a list of jumps. Got {type(jumps).__name__} instead.")
        j_idx, j_p, j_field, j_dist, j_par, spec_jumps = [], [], [], [], [], []
        for k, jump in enumerate(jumps):
            path = f"$.jumps[{k}]"
            jump = _object(w, path, jump, ("node", "kind", "probability", "field", "severity", "note"),
                           ("probability", "severity"))
            if ("node" in jump) == ("kind" in jump):
                raise w.error(path, "a jump names either a 'node' or a 'kind' (every node of that kind), not both "
                                    "or neither.")
            if "node" in jump:
                targets = [node_index(f"{path}.node", jump["node"])]
                who = f"node {jump['node']!r}"
            else:
                kname = jump["kind"]
                targets = np.flatnonzero(kinds == kname).tolist()
                if not targets:
                    raise w.error(f"{path}.kind", f"no node of the graph has kind {kname!r}.")
                who = f"the nodes of kind {kname!r}"
            p = _number(w, f"{path}.probability", jump["probability"], lo=0.0, hi=1.0,
                        what=f"the probability of the jump of {who}")
            sev = _object(w, f"{path}.severity", jump["severity"])
            dist = sev.get("distribution")
            if dist not in SEVERITIES:
                raise w.error(f"{path}.severity.distribution", f"must be one of {', '.join(SEVERITIES)} "
                                                              f"({who}). Got {dist!r} instead.")
            _object(w, f"{path}.severity", sev, ("distribution", *SEVERITIES[dist]), SEVERITIES[dist])
            fname = jump.get("field")
            if fname is not None and fname not in JUMP_FIELDS:
                raise w.error(f"{path}.field", f"must be one of {', '.join(JUMP_FIELDS)} ({who}). "
                                               f"Got {fname!r} instead.")
            hi = math.inf if fname == "forged_supply" else 1.0
            par = _severity(w, f"{path}.severity", dist, sev, hi, who)
            for i in targets:
                fi = fname or default_field(i)
                j_idx.append(i), j_p.append(p), j_field.append(_FIELD_CODE[fi])
                j_dist.append(list(SEVERITIES).index(dist)), j_par.append(par)
            spec_jumps.append({**({"node": jump["node"]} if "node" in jump else {"kind": jump["kind"]}),
                               "probability": p, **({"field": fname} if fname else {}),
                               "severity": {"distribution": dist, **dict(zip(SEVERITIES[dist], par))},
                               **({"note": jump["note"]} if "note" in jump else {})})
        spec = {"format": MODEL_FORMAT, "version": 1, "name": data.get("name", ""), "returns": returns,
                "tails": None if df is None else {"df": df}, "factors": spec_factors, "fields": dict(field_of),
                "jumps": spec_jumps}
        if "description" in data:
            spec["description"] = data["description"]
        return cls(name=spec["name"] or source, spec=spec, n=network.n, _log=returns == "log", _df=df, _kind=kind,
                   _idx=idx, _field=field_codes, _mean=np.asarray(mean, float), _load=np.asarray(load, float),
                   _idio=np.asarray(idio, float), _factor=np.asarray(factor, float),
                   _jump_idx=np.array(j_idx, np.int64), _jump_p=np.array(j_p, float),
                   _jump_field=np.array(j_field, np.int64), _jump_dist=np.array(j_dist, np.int64),
                   _jump_par=np.array(j_par, float).reshape(-1, 2), _jump_round=_rounds(j_idx, j_field))

    def to_dict(self) -> dict:
        """The normalised document (JSON-ready), read back by :meth:`from_dict` to the same model."""
        return json.loads(json.dumps(self.spec))

    # ------------------------------------------------------------------ drawing
    def _unit(self, rng: np.random.Generator, shape) -> np.ndarray:
        """Unit-variance terms: standard normal, or Student-t(ν)·√((ν−2)/ν) with one mixing variable
        per element."""
        z = rng.standard_normal(shape)
        if self._df is not None:
            nu = self._df
            z *= np.sqrt((nu - 2.0) / rng.chisquare(nu, shape))
        return z

    def returns(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """The factor returns of ``k`` draws, shape ``(k, m)`` for the driven nodes (in model order)."""
        m = self._idx.size
        if self._kind == "market":
            market = self._unit(rng, (k, 1))
            eps = self._unit(rng, (k, m))
            return self._mean + market * self._load + eps * self._idio
        if self._kind == "covariance":
            z = rng.standard_normal((k, m))
            if self._df is not None:
                nu = self._df
                z *= np.sqrt((nu - 2.0) / rng.chisquare(nu, (k, 1)))
            return self._mean + z @ self._factor.T
        return np.zeros((k, 0))

    def draw(self, rng: np.random.Generator, k: int) -> dict[str, np.ndarray]:
        """``k`` draws of shocks: ``{field: array (k, n)}`` for :func:`exposure.defi.solve_block`
        (the fields the model moves; the others are left out, i.e. unshocked)."""
        n = self.n
        out: dict[str, np.ndarray] = {}

        def arr(code: int) -> np.ndarray:
            name = JUMP_FIELDS[code]
            if name not in out:
                out[name] = np.full((k, n), SHOCK_FIELDS[name].neutral)
            return out[name]

        r = self.returns(rng, k)
        for code in range(len(FACTOR_FIELDS)):
            cols = np.flatnonzero(self._field == code)
            if not cols.size:
                continue
            x = r[:, cols]
            name = JUMP_FIELDS[code]
            if name == "price_change":
                v = np.expm1(x) if self._log else np.maximum(x, -1.0)
            elif name == "depeg":
                v = np.expm1(np.minimum(x, 0.0)) if self._log else np.clip(x, -1.0, 0.0)
            else:
                v = -np.expm1(np.minimum(x, 0.0)) if self._log else np.clip(-x, 0.0, 1.0)
            arr(code)[:, self._idx[cols]] = v
        J = self._jump_idx.size
        if J:
            # occurrences of every jump in every draw; then severities for the jumps that occur only,
            # in row-major order (draw, then jump), the uniform ones first, then the beta ones
            rows, cols = np.nonzero(rng.random((k, J)) < self._jump_p)
            dist = self._jump_dist[cols]
            lo, hi = self._jump_par[cols, 0], self._jump_par[cols, 1]
            sev = lo.copy()                                          # fixed: the value
            u = dist == 1
            sev[u] = lo[u] + (hi[u] - lo[u]) * rng.random(int(u.sum()))
            b = dist == 2
            sev[b] = rng.beta(lo[b], hi[b])
            rnd, code_of = self._jump_round[cols], self._jump_field[cols]
            for r in range(int(rnd.max(initial=-1)) + 1):
                for code in range(len(JUMP_FIELDS)):
                    sel = np.flatnonzero((rnd == r) & (code_of == code))
                    if not sel.size:
                        continue
                    at, nodes, sj = rows[sel], self._jump_idx[cols[sel]], sev[sel]
                    a = arr(code)
                    x = a[at, nodes]
                    name = JUMP_FIELDS[code]
                    if name == "asset_loss":
                        y = x + sj * (1.0 - x)
                    elif name == "forged_supply":
                        y = x + sj
                    else:
                        y = np.maximum(x * (1.0 - sj) - sj, -1.0)
                    a[at, nodes] = y
        return out

    def __repr__(self) -> str:
        m, J = self._idx.size, self._jump_idx.size
        tails = "normal" if self._df is None else f"Student-t({self._df:g})"
        return (f"<ShockModel {self.name!r}: {self._kind} factors on {m} nodes ({tails}, {self.spec['returns']} "
                f"returns), {J} node jumps>")


def _rounds(nodes: list, fields: list) -> np.ndarray:
    """For each jump, how many earlier jumps hit the same node and field: jumps of one round touch
    distinct entries and are applied together, the rounds in the order of the file."""
    seen: dict = {}
    out = np.zeros(len(nodes), np.int64)
    for j, key in enumerate(zip(nodes, fields)):
        out[j] = seen.get(key, 0)
        seen[key] = out[j] + 1
    return out


def _square_root(w: _Where, sigma: np.ndarray, nodes) -> np.ndarray:
    """``A`` with ``A Aᵀ = Σ``: the Cholesky factor, or for a singular Σ the symmetric square root."""
    m = len(nodes)
    if not np.allclose(sigma, sigma.T, rtol=1e-12, atol=0.0):
        a, c = (int(v[0]) for v in np.nonzero(~np.isclose(sigma, sigma.T, rtol=1e-12, atol=0.0)))
        raise w.error(f"$.factors.covariance[{a}][{c}]",
                      f"the covariance must be symmetric: nodes {nodes[a]!r} and {nodes[c]!r} have "
                      f"{float(sigma[a, c])!r} and {float(sigma[c, a])!r}.")
    try:
        return np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        pass
    vals, vecs = np.linalg.eigh(sigma)
    scale = max(1.0, float(np.abs(vals).max(initial=0.0)))
    if vals.min(initial=0.0) < -1e-12 * scale * m:
        raise w.error("$.factors.covariance", f"the covariance must be positive semi-definite; its smallest "
                                              f"eigenvalue is {vals.min():.6g}.")
    return vecs * np.sqrt(np.clip(vals, 0.0, None))


def _severity(w: _Where, path: str, dist: str, sev: dict, hi: float, who: str) -> list[float]:
    what = f"of the severity of the jump of {who}"
    if dist == "fixed":
        v = _number(w, f"{path}.value", sev["value"], lo=0.0, hi=hi, what=f"the value {what}")
        return [v, 0.0]
    if dist == "uniform":
        lo = _number(w, f"{path}.low", sev["low"], lo=0.0, hi=hi, what=f"the low end {what}")
        up = _number(w, f"{path}.high", sev["high"], lo=lo, hi=hi, what=f"the high end {what}")
        return [lo, up]
    a = _number(w, f"{path}.a", sev["a"], lo=0.0, lo_open=True, what=f"the parameter a {what}")
    b = _number(w, f"{path}.b", sev["b"], lo=0.0, lo_open=True, what=f"the parameter b {what}")
    return [a, b]


def read_model(path, network) -> ShockModel:
    """Read a shock-model JSON file and check it against ``network`` (:meth:`ShockModel.from_dict`).

    Raises
    ------
    InvalidShockError
        The file cannot be read or is not JSON (with line and column), or the first problem of its
        content, as ``FILE: $.path: message`` naming the node.
    """
    source = str(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as err:
        raise InvalidShockError(f"{source}: line {err.lineno}, column {err.colno}: not valid JSON: {err.msg}.") \
            from None
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidShockError(f"{source}: cannot read the shock model: {err}") from None
    return ShockModel.from_dict(data, network, source=source)


#: A base asset whose id or label says so is a dollar (or T-bill) asset: no market factor of its own.
_DOLLAR = re.compile(r"usd|dollar|t-?bill|treasur|stable", re.IGNORECASE)


def default_model(network) -> ShockModel:
    """The shock model used when none is given, from the graph's node kinds (docs/simulate.md).

    * base assets (kind ``asset``) but dollars (ETH, BTC): one Student-t(4) market factor, loading 1,
      market volatility 0.12 and idiosyncratic volatility 0.03 (log returns);
    * dollar base assets (an id or label with ``USD``, ``dollar``, ``T-bill``, ``treasury`` or
      ``stable``: USDC, USDT, TBILLS): a fall of the price with probability 0.001, severity Beta(1, 9);
    * tokens (kind ``token`` or with an issuer): a market depeg ``e^{min(0, 0.005 ε)} − 1`` and a
      depeg jump with probability 0.002, severity Beta(1, 2);
    * protocols (kind ``protocol``): a hack with probability 0.001 taking a fraction Beta(1, 2) of
      what the node owns;
    * other kinds (``position``, ``external``, ...): no shock of their own.
    """
    kinds = np.asarray(network.kinds, dtype=object)
    ids = network.node_ids
    token = network.is_token()
    labels = (network.nodes["label"].astype(object).where(network.nodes["label"].notna(), "").to_numpy()
              if "label" in network.nodes else np.full(network.n, "", dtype=object))
    base = [i for i in range(network.n) if kinds[i] == "asset" and not token[i]]
    dollar = {i for i in base if _DOLLAR.search(f"{ids[i]} {labels[i]}")}
    volatile = [str(ids[i]) for i in base if i not in dollar]
    pegged = [str(ids[i]) for i in base if i in dollar]
    tokens = [str(ids[i]) for i in np.flatnonzero(token)]
    d = DEFAULTS
    jumps = [{"node": x, "probability": d["pegged_jump"], "field": "price_change",
              "severity": {"distribution": "beta", "a": 1.0, "b": 9.0}} for x in pegged]
    jumps += [{"node": x, "probability": d["token_jump"], "field": "depeg",
               "severity": {"distribution": "beta", "a": 1.0, "b": 2.0}} for x in tokens]
    if (kinds == "protocol").any():
        jumps.append({"kind": "protocol", "probability": d["protocol_jump"], "field": "asset_loss",
                      "severity": {"distribution": "beta", "a": 1.0, "b": 2.0}})
    doc = {"format": MODEL_FORMAT, "version": 1, "name": "default", "returns": "log", "tails": {"df": d["df"]},
           "jumps": jumps}
    if volatile or tokens:
        doc["factors"] = {"model": "market", "volatility": d["market_volatility"],
                          "loadings": {x: 1.0 for x in volatile},
                          "idiosyncratic": {**{x: d["asset_idiosyncratic"] for x in volatile},
                                            **{x: d["token_idiosyncratic"] for x in tokens}}}
    return ShockModel.from_dict(doc, network, source="default shock model")
