"""The executor: the same results, in the order of the items, in process and on real local Dask clusters.

The cluster tests run on real ``distributed.LocalCluster`` workers (no mock), started once per test
run (``tests/conftest.py``), and skip where dask.distributed is not installed. Expected values are
the items' own arithmetic (``k · x``), computed here by hand.
"""

import os
import sys

import numpy as np
import pytest

from exposure import Executor, InvalidParameterError, MissingDependencyError
from exposure.executor import spawn_seeds, split


# Module-level functions: the workers unpickle them by name.
def scaled(shared, item):
    return shared["k"] * item


def slow_scaled(shared, item):
    import time
    time.sleep(0.02 * (item % 3))          # finish out of order
    return shared["k"] * item, os.getpid()


def fails_on_three(shared, item):
    if item == 3:
        raise ValueError(f"item {item} is bad: {shared}")
    return item


def dies_once(shared, item):
    """Kill the worker process running ``shared["victim"]`` the first time it is run (a marker file
    says it was), as a crashed or pre-empted machine would."""
    marker = shared["marker"]
    if item == shared["victim"]:
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pass
        else:
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            os._exit(1)
    return shared["k"] * item, os.getpid()


def seeded_draws(shared, k):
    """A chunk's draws from its own stream (the streams travel in ``shared``)."""
    return np.random.default_rng(shared[k]).standard_normal(3)


# ------------------------------------------------------------------ in process
def test_in_process_map_is_the_loop_and_imports_no_dask():
    before = "distributed" in sys.modules
    with Executor() as ex:
        assert (ex.mode, ex.n_workers) == ("in-process", 1)
        assert ex.map(scaled, range(5), shared={"k": 3}) == [0, 3, 6, 9, 12]
        assert ex.map(scaled, [], shared={"k": 3}) == []
        assert ex.chunks(10) == [range(10)]
    assert ("distributed" in sys.modules) == before


def test_progress_is_updated_once_per_item():
    class Count:
        done = 0

        def update(self, n=1):
            self.done += n

    bar = Count()
    Executor().map(scaled, range(7), shared={"k": 1}, progress=bar)
    assert bar.done == 7


def test_split_covers_every_index_once_in_near_equal_ranges():
    for n in (0, 1, 5, 10, 101):
        for parts in (1, 2, 3, 8, 200):
            pieces = split(n, parts)
            assert [i for r in pieces for i in r] == list(range(n))
            sizes = [len(r) for r in pieces]
            assert all(sizes) and (not sizes or max(sizes) - min(sizes) <= 1)
            assert len(pieces) == min(parts, n)


def test_spawn_seeds_is_the_seed_sequence_spawn():
    # The rule stated by numpy: SeedSequence(seed).spawn(n); child k's state depends on (seed, k) only.
    ours = spawn_seeds(42, 4)
    ref = np.random.SeedSequence(42).spawn(4)
    assert [s.generate_state(4).tolist() for s in ours] == [s.generate_state(4).tolist() for s in ref]
    assert spawn_seeds(42, 2)[1].generate_state(2).tolist() == ref[1].generate_state(2).tolist()
    with pytest.raises(InvalidParameterError, match="'n' parameter of spawn_seeds"):
        spawn_seeds(1, -1)


def test_bad_arguments_are_named():
    with pytest.raises(InvalidParameterError, match="not both"):
        Executor(workers=2, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(InvalidParameterError, match="'workers' parameter of Executor must be an integer ≥ 1"):
        Executor(workers=0)
    with pytest.raises(InvalidParameterError, match="address of a Dask scheduler"):
        Executor(scheduler="")


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)      # `import distributed` raises ImportError
    for kwargs in ({"workers": 2}, {"scheduler": "tcp://127.0.0.1:8786"}):
        with pytest.raises(MissingDependencyError, match=r"pip install exposure\[distributed\]"):
            Executor(**kwargs)


# ------------------------------------------------------------------ on local clusters
def test_map_keeps_the_order_of_the_items_on_two_workers(cluster2):
    assert (cluster2.mode, cluster2.n_workers) == ("local-cluster", 2)
    out = cluster2.map(slow_scaled, range(24), shared={"k": 5})
    assert [x for x, _ in out] == [5 * i for i in range(24)]
    assert len({pid for _, pid in out}) == 2                       # both workers took items
    assert os.getpid() not in {pid for _, pid in out}
    assert len(cluster2.chunks(100)) == 2 * 4


def test_results_are_the_same_in_every_mode(cluster1, cluster2):
    seeds = spawn_seeds(2026, 6)
    expected = Executor().map(seeded_draws, range(6), shared=seeds)
    for ex in (cluster1, cluster2):
        got = ex.map(seeded_draws, range(6), shared=seeds)
        assert all(np.array_equal(a, b) for a, b in zip(expected, got))


def test_an_error_in_fn_propagates_with_its_message(cluster2):
    with pytest.raises(ValueError, match="item 3 is bad: secret"):
        cluster2.map(fails_on_three, range(8), shared="secret")
    assert cluster2.map(scaled, range(3), shared={"k": 2}) == [0, 2, 4]      # the executor is still usable


@pytest.mark.parametrize("fixture", ["cluster1", "cluster2"])
def test_a_worker_killed_mid_run_loses_and_double_counts_nothing(fixture, request, tmp_path):
    # With one worker the shared data die with it and the missing items are submitted again; with
    # two, the scheduler moves the dead worker's items to the other one.
    ex = request.getfixturevalue(fixture)
    marker = tmp_path / "killed"
    shared = {"k": 7, "victim": 5, "marker": os.fspath(marker)}
    out = ex.map(dies_once, range(12), shared=shared)
    assert marker.exists()                                      # a worker process did die
    killed = int(marker.read_text())
    assert [x for x, _ in out] == [7 * i for i in range(12)]    # every item once, in order
    assert out[5][1] != killed                                  # the victim's item ran again elsewhere
