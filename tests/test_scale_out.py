"""Reverse stress and the per-node rankings on the executor: identical results in process and on real
local Dask clusters of 1 and 2 workers, and the ``--workers`` / ``--scheduler`` options of the CLI.

The cluster tests use the session's ``distributed.LocalCluster`` executors (``tests/conftest.py``; no
mock) and skip where dask.distributed is not installed. The expected value of every comparison is the
in-process run of the same call: the rule under test is that the execution mode changes nothing,
bit for bit (``DataFrame.equals``, ``np.array_equal``).
"""

import io
import pathlib
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import cli
from exposure import read_graph
from exposure.stress import reverse_stress

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFI = ROOT / "graphs" / "defi.json"


@pytest.fixture(scope="module")
def defi():
    return read_graph(DEFI)


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def scheduler_address(executor):
    return executor.client.scheduler.address


# ------------------------------------------------------------------ reverse stress
def test_reverse_stress_of_every_node_is_identical_in_every_mode(defi, cluster1, cluster2):
    # Every eligible node of the bundled graph (15 tokens for depeg); the nodes are split in 8 chunks
    # per worker on the clusters and run as one chunk in process.
    args = (defi, "depeg", "all", "bad_debt>0")
    expected = reverse_stress(*args, precision=0.05)
    assert len(expected.table) == 15 and expected.table["breaking_shock"].notna().any()
    for ex in (cluster1, cluster2):
        got = reverse_stress(*args, precision=0.05, executor=ex)
        assert got.table.equals(expected.table)
        assert (got.value_at_zero, got.converged, got.status) == (expected.value_at_zero, expected.converged,
                                                                  expected.status)


def test_reverse_stress_on_a_scheduler_by_address(defi, cluster2):
    expected = reverse_stress(defi, "price", "all", "bad_debt>0", precision=1e-2)
    got = reverse_stress(defi, "price", "all", "bad_debt>0", precision=1e-2, scheduler=scheduler_address(cluster2))
    assert got.table.equals(expected.table)


def test_executor_and_workers_together_are_an_error(defi, cluster1):
    from exposure import InvalidParameterError
    with pytest.raises(InvalidParameterError, match="reverse_stress either an executor or workers/scheduler"):
        reverse_stress(defi, "price", "all", "bad_debt>0", executor=cluster1, workers=2)


def test_a_network_survives_pickling(defi):
    # What the workers receive: the same network, read-only again.
    import pickle
    copy = pickle.loads(pickle.dumps(defi))
    assert copy.nodes.equals(defi.nodes) and copy.holdings.equals(defi.holdings)
    assert copy.positions.equals(defi.positions) and dict(copy.meta) == dict(defi.meta)
    assert (copy.liabilities != defi.liabilities).nnz == 0
    assert not copy.external_assets.flags.writeable and not copy.liabilities.data.flags.writeable
    with pytest.raises(TypeError):
        copy.meta["name"] = "changed"


# ------------------------------------------------------------------ command line
def reverse_cli(*extra):
    return run("stress", DEFI, "--reverse", "--shock-type", "price", "--target", "bad_debt>0", "--precision",
               "0.01", "--format", "csv", *extra)


def test_cli_reverse_on_workers_and_on_a_scheduler(cluster2):
    pytest.importorskip("distributed")
    expected = reverse_cli()
    assert expected.exit_code == 0, expected.stderr
    for extra in (("--workers", 1), ("--scheduler", scheduler_address(cluster2))):
        got = reverse_cli(*extra)
        assert got.exit_code == 0, got.stderr
        assert got.stdout == expected.stdout


@pytest.mark.parametrize("extra, message", [
    (("--workers", 2, "--scheduler", "tcp://127.0.0.1:8786"), "--workers and --scheduler are mutually exclusive"),
    (("--workers", 0), "Invalid value for '--workers'"),
    (("--jobs", 2, "--workers", 2), "--jobs is a deprecated alias of --workers"),
])
def test_cli_executor_usage_errors(extra, message):
    result = reverse_cli(*extra)
    assert result.exit_code == 2 and message in result.stderr


def test_cli_workers_only_with_reverse():
    result = run("stress", DEFI, ROOT / "graphs" / "scenarios.json", "--workers", 2)
    assert result.exit_code == 2 and "--workers only apply with --reverse" in result.stderr


def test_cli_deprecated_jobs_warns_and_runs_in_process():
    expected = reverse_cli()
    got = reverse_cli("--jobs", 1)
    assert got.exit_code == 0 and got.stdout == expected.stdout
    assert "Warning: --jobs is deprecated; use --workers N" in got.stderr


def test_cli_workers_without_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)     # `import distributed` raises ImportError
    result = reverse_cli("--workers", 2)
    assert result.exit_code == 1 and "pip install exposure[distributed]" in result.stderr
