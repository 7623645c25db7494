"""One battery of contract checks over every result type (scikit-learn's check_estimator idea).

Every public function that computes returns one result type; every result type answers
converged, status (a code of STATUS), message, summary() and to_frame(); it is frozen; and an
iterative solver stopped early reports it: a ConvergenceWarning and converged=False by default,
a ConvergenceError carrying the partial result under strict=True.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import pandas as pd
import pytest

import exposure
from exposure import ConvergenceError, ConvergenceWarning
from exposure._results import STATUS, Result
from exposure.clearing import sensitivities
from exposure.contagion import METHODS
from exposure.metrics import summarize, supervisory_metrics
from exposure.report import build_report
from exposure.simulate import simulate

GRAPHS = Path(__file__).resolve().parent.parent / "graphs"
IMPORTS = Path(__file__).resolve().parent / "data" / "importers"


@pytest.fixture(scope="module")
def chain():
    return exposure.read_graph(GRAPHS / "chain.json")


@pytest.fixture(scope="module")
def defi():
    return exposure.read_graph(GRAPHS / "defi.json")


@pytest.fixture(scope="module")
def scenarios():
    return exposure.read_scenarios(GRAPHS / "scenarios.json")[:2]


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn()


def _results(chain, defi, scenarios):
    """(name, result) of every result type, from the bundled graphs."""
    yield "eisenberg_noe", exposure.eisenberg_noe(chain, {"a": 0.5})
    yield "rogers_veraart", exposure.rogers_veraart(chain, {"a": 0.5}, alpha=0.9, beta=0.9)
    yield "clear (claims)", exposure.clear(chain, {"a": 0.5})
    yield "clear (mechanics)", exposure.clear(defi, {"stream": 1.0})
    yield "solve_system", exposure.solve_system(defi, exposure.MarketShock(depeg={"USDe": -0.1}))
    yield "sensitivities", sensitivities(chain, {"a": 0.5})
    for method in (*METHODS, "all"):
        yield f"rank {method}", _quiet(lambda: exposure.rank(chain, method))
    yield "run_scenarios", exposure.run_scenarios(defi, scenarios)
    yield "reverse_stress", exposure.reverse_stress(defi, "depeg", "USDe", "bad_debt>1e8", precision=1e-2)
    yield "summarize", summarize(defi)
    yield "import_graph", exposure.import_graph([IMPORTS / "morpho_blue.json"], "morpho-subgraph")
    yield "supervisory_metrics", supervisory_metrics(defi, scenarios)
    yield "simulate", simulate(defi, draws=300, seed=1)
    yield "build_report", _quiet(lambda: build_report(chain))


def test_every_result_follows_the_protocol(chain, defi, scenarios):
    seen = set()
    for name, r in _results(chain, defi, scenarios):
        seen.add(type(r).__name__)
        assert isinstance(r, Result), name
        assert isinstance(r.converged, bool), name
        assert isinstance(r.status, int) and r.status in STATUS, name
        assert (r.status == 0) == r.converged, name
        assert isinstance(r.message, str) and r.message, name
        summary = r.summary()
        assert isinstance(summary, dict) and summary["converged"] == r.converged, name
        assert isinstance(r.to_frame(), pd.DataFrame), name
        with pytest.raises(dataclasses.FrozenInstanceError):
            r.message = "changed"
    assert seen == {"ClearingResult", "SystemResult", "ClearingSensitivities", "RankingResult", "StressResult",
                    "ReverseStressResult", "NetworkSummary", "ImportResult", "SupervisoryMetrics",
                    "SimulationResult", "Report"}


def test_one_type_per_function(chain, defi):
    # clear returns a ClearingResult whatever the network; on one with holdings and positions it is
    # the mechanics' SystemResult, a ClearingResult with the mechanics on top
    assert isinstance(exposure.clear(chain), exposure.ClearingResult)
    r = exposure.clear(defi)
    assert isinstance(r, exposure.ClearingResult) and isinstance(r, exposure.SystemResult)
    assert list(r.to_frame().columns)[:10] == list(exposure.clear(chain).to_frame().columns)


# Each iterative solver, stopped after too few iterations: (name, call with the limit).
STOPPED = [
    ("eisenberg_noe", lambda n, d, **kw: exposure.eisenberg_noe(n, {"a": 0.5}, max_iter=0, **kw)),
    ("clear", lambda n, d, **kw: exposure.clear(n, {"a": 0.5}, max_iter=0, **kw)),
    ("solve_system", lambda n, d, **kw: exposure.solve_system(d, exposure.MarketShock(depeg={"USDe": -0.5}),
                                                             max_iter=1, **kw)),
    ("rank", lambda n, d, **kw: exposure.rank(n, "differential-debtrank", max_iter=1, **kw)),
    ("reverse_stress", lambda n, d, **kw: exposure.reverse_stress(d, "depeg", "USDe", "bad_debt>1e8",
                                                                 precision=0.1, max_iter=1, **kw)),
    ("simulate", lambda n, d, **kw: simulate(d, draws=64, seed=1, max_iter=1, **kw)),
    ("run_scenarios", lambda n, d, **kw: exposure.run_scenarios(
        d, [s for s in exposure.read_scenarios(GRAPHS / "scenarios.json") if s.name == "usde-eth-crash-2025"],
        max_iter=1, **kw)),
]


@pytest.mark.parametrize("name, call", STOPPED, ids=[s[0] for s in STOPPED])
def test_non_convergence_warns_or_raises_under_strict(chain, defi, name, call):
    with pytest.warns(ConvergenceWarning):
        r = call(chain, defi)
    assert not r.converged and r.status != 0
    with pytest.raises(ConvergenceError) as info:
        call(chain, defi, strict=True)
    partial = info.value.result
    assert partial is not None and not partial.converged
