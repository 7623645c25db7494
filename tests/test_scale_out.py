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
from exposure import rank, read_graph
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
    # Every eligible node of the bundled graph (its 5 base assets for price, 15 tokens for depeg); on the
    # clusters the nodes travel in chunks spread over the workers, in process as one chunk.
    for shock_type, precision in (("price", 1e-2), ("depeg", 0.1)):
        args = (defi, shock_type, "all", "bad_debt>0")
        expected = reverse_stress(*args, precision=precision)
        assert expected.table["breaking_shock"].notna().any()
        for ex in (cluster1, cluster2):
            got = reverse_stress(*args, precision=precision, executor=ex)
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


# ------------------------------------------------------------------ per-node rankings
PER_NODE = ("debtrank", "impact", "vulnerability")


def random_network(n=2600, seed=13):
    """A seeded sparse network: each node owes 1-6 others (lognormal amounts), equity 5-40% of assets.
    2,600 seeds are three fixed blocks (1024, 1024, 552), so block order matters for vulnerability."""
    from exposure import ExposureNetwork
    rng = np.random.default_rng(seed)
    k = rng.integers(1, 7, n)
    debtor = np.repeat(np.arange(n), k)
    creditor = (debtor + rng.integers(1, n, debtor.size)) % n
    amount = rng.lognormal(0.0, 1.0, debtor.size)
    owed = np.bincount(debtor, weights=amount, minlength=n)
    ids = [f"n{i}" for i in range(n)]
    nodes = pd.DataFrame({"id": ids, "external_assets": owed * rng.uniform(0.6, 1.5, n),
                          "external_liabilities": owed * rng.uniform(0.1, 0.5, n)})
    edges = pd.DataFrame({"debtor": [ids[i] for i in debtor], "creditor": [ids[j] for j in creditor],
                          "amount": amount})
    return ExposureNetwork.from_frames(nodes, edges)


@pytest.fixture(scope="module")
def random_net():
    return random_network()


def test_seed_blocks_are_fixed_and_cover_every_seed_once():
    from exposure.contagion._kernels import MAX_SEED_BLOCKS, MIN_SEED_BLOCK, seed_blocks
    for m in (0, 1, 1023, 2600, 100_000):
        blocks = seed_blocks(m)
        assert [i for r in blocks for i in r] == list(range(m))
        assert len(blocks) <= max(MAX_SEED_BLOCKS, 1) and all(len(r) >= min(m, MIN_SEED_BLOCK) for r in blocks[:-1])
    assert [len(r) for r in seed_blocks(2600)] == [1024, 1024, 552]


@pytest.mark.parametrize("method", PER_NODE)
def test_per_node_rankings_are_identical_in_every_mode(method, random_net, defi, cluster1, cluster2):
    for net in (random_net, defi):
        expected = rank(net, method).ranking
        for ex in (cluster1, cluster2):
            got = rank(net, method, executor=ex)
            assert got.ranking.equals(expected), (method, ex)
            assert np.array_equal(got.ranking["score"].to_numpy(), expected["score"].to_numpy())


@pytest.mark.filterwarnings("ignore:eigenvector centrality is not uniquely defined")
def test_rank_all_runs_its_per_node_methods_on_the_executor(defi, cluster2):
    expected = rank(defi, "all")
    got = rank(defi, "all", executor=cluster2)
    assert got.ranking.equals(expected.ranking) and got.agreement.equals(expected.agreement)


def test_vulnerability_is_the_sum_of_the_blocks(random_net):
    # Independent check of the combination: each block run alone (its seeds only) gives its own mean
    # loss over its m seeds; m times that, summed over the three blocks and divided by n - 1, is the
    # vulnerability of the whole run (to rounding: the division by m and the product by m round).
    from exposure.contagion._impact import impact_scores
    from exposure.contagion._kernels import seed_blocks
    n = random_net.n
    total = np.zeros(n)
    for r in seed_blocks(n):
        part = impact_scores(random_net, seeds=np.arange(r.start, r.stop))
        total += part["vulnerability"] * len(r)
    whole = impact_scores(random_net)
    assert whole["vulnerability"].max() > 0
    np.testing.assert_allclose(whole["vulnerability"], total / (n - 1), rtol=1e-12, atol=1e-12)


def test_rank_on_workers_of_a_method_that_is_not_per_node_is_an_error(defi):
    from exposure import InvalidParameterError
    with pytest.raises(InvalidParameterError, match="applies to the per-node methods debtrank, impact, "
                                                    "vulnerability"):
        rank(defi, "pagerank", workers=2)


def test_cli_rank_on_workers_and_on_a_scheduler(cluster2):
    expected = run("rank", DEFI, "--method", "vulnerability", "--format", "csv")
    assert expected.exit_code == 0, expected.stderr
    for extra in (("--workers", 1), ("--scheduler", scheduler_address(cluster2))):
        got = run("rank", DEFI, "--method", "vulnerability", "--format", "csv", *extra)
        assert got.exit_code == 0, got.stderr
        assert got.stdout == expected.stdout


@pytest.mark.parametrize("extra, message", [
    (("--workers", 2, "--scheduler", "tcp://127.0.0.1:8786"), "--workers and --scheduler are mutually exclusive"),
    (("--method", "katz", "--workers", 2), "--workers and --scheduler apply to the per-node methods debtrank, "
                                            "impact, vulnerability and all, not to --method katz."),
])
def test_cli_rank_executor_usage_errors(extra, message):
    result = run("rank", DEFI, *extra)
    assert result.exit_code == 2 and message in result.stderr
