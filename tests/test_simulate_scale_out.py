"""Monte Carlo on the executor: bit-identical results in process, on real local Dask clusters of 1 and 2
workers, on a scheduler by address, and after a worker process is killed mid-run.

The clusters are the session's ``distributed.LocalCluster`` executors (``tests/conftest.py``; no mock); the
tests skip where dask.distributed is not installed. The expected value of every comparison is the
in-process run of the same call (``DataFrame.equals``: the execution mode changes nothing, bit for bit).
"""

import functools
import os
import pathlib

import pytest
from click.testing import CliRunner

import exposure
from cli import cli
from exposure.simulate import _simulate, simulate

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFI = ROOT / "graphs" / "defi.json"


@pytest.fixture(scope="module")
def defi():
    return exposure.read_graph(DEFI)


def same(a, b):
    return (a.samples.equals(b.samples) and a.nodes.equals(b.nodes) and a.node_errors.equals(b.node_errors)
            and a.es_contributions.equals(b.es_contributions)
            and (a.var, a.es, a.var_se, a.es_se) == (b.var, b.es, b.var_se, b.es_se))


def test_identical_in_process_and_on_one_and_two_workers(defi, cluster1, cluster2):
    # 5,000 draws are 5 stream blocks of 1,024: on the clusters one block per chunk, spread over the workers
    expected = simulate(defi, draws=5000, seed=17, levels=(0.99, 0.95))
    for ex in (cluster1, cluster2):
        got = simulate(defi, draws=5000, seed=17, levels=(0.99, 0.95), executor=ex)
        assert got.mode == "local-cluster" and same(got, expected)
    got = simulate(defi, draws=5000, seed=17, levels=(0.99, 0.95), executor=cluster2, chunk_size=3000)
    assert same(got, expected)


def test_identical_on_a_scheduler_by_address(defi, cluster2):
    expected = simulate(defi, draws=3000, seed=5, keep_nodes=True)
    got = simulate(defi, draws=3000, seed=5, keep_nodes=True, scheduler=cluster2.client.scheduler.address)
    assert got.mode == "scheduler" and same(got, expected)
    assert (got.node_losses == expected.node_losses).all()


def dying_chunk(marker, victim, shared, item):
    """The chunk function, but the worker running stream block ``victim`` dies the first time (a marker
    file says it did), as a crashed or pre-empted machine would."""
    if any(b == victim for b, _ in item):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pass
        else:
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            os._exit(1)
    return _simulate._simulate_chunk(shared, item)


@pytest.mark.parametrize("fixture", ["cluster1", "cluster2"])
def test_a_worker_killed_mid_run_changes_nothing(defi, fixture, request, tmp_path, monkeypatch):
    ex = request.getfixturevalue(fixture)
    expected = simulate(defi, draws=6000, seed=23)
    marker = tmp_path / "killed"
    monkeypatch.setattr(_simulate, "_simulate_chunk", functools.partial(dying_chunk, os.fspath(marker), 3))
    got = simulate(defi, draws=6000, seed=23, executor=ex, chunk_size=1024)
    assert marker.exists()                        # a worker process did die, with stream block 3
    assert same(got, expected)                    # its chunk ran again from its own seeds, counted once
    assert len(got.samples) == 6000 and got.samples["draw"].is_monotonic_increasing


def test_cli_on_workers_and_on_a_scheduler(cluster2):
    args = ["simulate", str(DEFI), "--draws", "3000", "--seed", "8", "--format", "csv"]
    expected = CliRunner().invoke(cli, args)
    assert expected.exit_code == 0, expected.stderr
    for extra in (["--workers", "1"], ["--scheduler", cluster2.client.scheduler.address]):
        got = CliRunner().invoke(cli, args + extra)
        assert got.exit_code == 0, got.stderr
        assert got.stdout == expected.stdout
