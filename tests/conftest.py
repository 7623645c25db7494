"""Shared test configuration.

Hypothesis runs derandomized under CI (``CI=true``) so a green run is repeatable;
``EXPOSURE_HYPOTHESIS_PROFILE=dev`` gives random exploration locally.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("EXPOSURE_HYPOTHESIS_PROFILE", "ci"))


# ------------------------------------------------------------------ Dask clusters
# One local cluster of each size for the whole run (starting one takes about a second). The
# cluster tests skip where dask.distributed is not installed (the leg without optional extras).
import pytest  # noqa: E402


def _cluster(workers):
    pytest.importorskip("distributed", reason="dask.distributed is an optional extra (exposure[distributed])")
    from exposure.executor import Executor
    ex = Executor(workers=workers)
    yield ex
    ex.close()


@pytest.fixture(scope="session")
def cluster1():
    """An executor on a local Dask cluster of one worker process."""
    yield from _cluster(1)


@pytest.fixture(scope="session")
def cluster2():
    """An executor on a local Dask cluster of two worker processes."""
    yield from _cluster(2)
