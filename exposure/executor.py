"""One executor for embarrassingly parallel work: in process, on a local Dask cluster, or on a Dask scheduler.

Monte Carlo draws, the seeds of a per-node ranking and the nodes of a reverse stress search are
independent of each other. They all run through :meth:`Executor.map`, which computes
``[fn(shared, item) for item in items]`` in one of three modes:

* **in process** (``Executor()``): a plain loop in this process; Dask is not imported;
* **local cluster** (``Executor(workers=N)``): a :class:`distributed.LocalCluster` of ``N``
  worker processes with one thread each (and one compiled-kernel thread each, so that ``N``
  workers use ``N`` cores);
* **scheduler** (``Executor(scheduler="tcp://host:8786")``): a client of a running
  ``dask.distributed`` scheduler, whose workers may sit on other machines.

The rules that make every mode give the same results:

* ``shared`` (the network, the options) is sent to the workers once per call, by
  ``client.scatter(shared, broadcast=True)``, never once per item; the items carry only what differs;
* the results are collected by item index, in the order of the items, whatever order they finish in;
* a worker that dies mid-run loses nothing and counts nothing twice: the scheduler runs its items
  again elsewhere, and if the shared data went with it, the items still missing are submitted again
  with the data scattered afresh; a result is stored once per index;
* randomness comes from the item, never from the worker: :func:`spawn_seeds` gives each chunk of
  work its own stream, derived from the seed and the chunk's index only.

Dask is an optional extra (``pip install exposure[distributed]``); asking for workers or a
scheduler without it is an error that says so.

Examples
--------
>>> def scaled(factor, x):
...     return factor * x
>>> with Executor() as ex:
...     ex.mode, ex.n_workers, ex.map(scaled, [1, 2, 3], shared=10)
('in-process', 1, [10, 20, 30])
>>> [r.start for r in split(10, 3)], [len(r) for r in split(10, 3)]
([0, 4, 7], [4, 3, 3])
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import CancelledError
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ._params import check_number
from .exceptions import ExposureError, InvalidParameterError, MissingDependencyError

__all__ = ["Executor", "executor_for", "spawn_seeds", "split", "CHUNKS_PER_WORKER", "DISTRIBUTED_HINT"]

#: What to install for ``workers`` or ``scheduler``.
DISTRIBUTED_HINT = "pip install exposure[distributed]"

#: Chunks of work per worker when a caller splits its items (:meth:`Executor.chunks`): several, so
#: that a slow chunk or a lost worker does not leave the other workers idle at the end.
CHUNKS_PER_WORKER = 4

#: Times the items still missing after the loss of the shared data are submitted again.
MAX_RESUBMITS = 3

#: Environment of the worker processes of a local cluster: one thread of compiled kernels and of
#: BLAS each, so that ``N`` workers use ``N`` cores and no more.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}

MODES = ("in-process", "local-cluster", "scheduler")


def spawn_seeds(seed: int | None, n: int) -> list[np.random.SeedSequence]:
    """The random streams of ``n`` chunks of work: ``SeedSequence(seed).spawn(n)``.

    Chunk ``k`` gets the ``k``-th child of the seed's sequence, whatever worker runs it and however
    many chunks run at once, so a result depends on the seed and the chunking alone. ``seed=None``
    draws fresh entropy (results then differ from run to run).

    >>> a = [np.random.default_rng(s).random() for s in spawn_seeds(7, 3)]
    >>> b = [np.random.default_rng(s).random() for s in spawn_seeds(7, 3)]
    >>> a == b, len(set(a))
    (True, 3)
    """
    n = check_number(n, "n", "spawn_seeds", lo=0, integer=True)
    if seed is not None:
        seed = check_number(seed, "seed", "spawn_seeds", lo=0, integer=True)
    return np.random.SeedSequence(seed).spawn(n)


def split(n: int, parts: int) -> list[range]:
    """``range(n)`` cut into at most ``parts`` consecutive ranges of sizes differing by at most one
    (the longer ones first); no empty range."""
    n = check_number(n, "n", "split", lo=0, integer=True)
    parts = max(1, min(check_number(parts, "parts", "split", lo=1, integer=True), n))
    size, extra = divmod(n, parts)
    out, start = [], 0
    for k in range(parts if n else 0):
        stop = start + size + (k < extra)
        out.append(range(start, stop))
        start = stop
    return out


def _call(fn: Callable, shared: Any, item: Any) -> Any:
    return fn(shared, item)


def _import_distributed():
    try:
        import distributed
    except ImportError as err:
        raise MissingDependencyError(
            f"Running on workers or a Dask scheduler needs dask.distributed, which is not installed "
            f"({err}). Install it with `{DISTRIBUTED_HINT}`.") from None
    return distributed


class Executor:
    """Runs independent pieces of work in process, on a local Dask cluster or on a Dask scheduler.

    Parameters
    ----------
    workers : int, optional
        Start a :class:`distributed.LocalCluster` with this many worker processes (one thread
        each, no dashboard, quiet logs), closed with the executor.
    scheduler : str, optional
        The address of a running ``dask.distributed`` scheduler (``tcp://host:8786``); its
        workers do the work, and it stays up when the executor closes.

    With neither, the work runs in this process and Dask is not imported. Giving both is an
    :class:`~exposure.exceptions.InvalidParameterError`; either without Dask installed is a
    :class:`~exposure.exceptions.MissingDependencyError` naming ``pip install exposure[distributed]``.

    Attributes
    ----------
    mode : str
        ``"in-process"``, ``"local-cluster"`` or ``"scheduler"``.
    n_workers : int
        Workers that share the work (1 in process; a scheduler's workers when it was reached).
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None):
        if workers is not None and scheduler is not None:
            raise InvalidParameterError(
                f"Give either workers (a local cluster) or scheduler (a running Dask scheduler), not both. "
                f"Got workers={workers!r} and scheduler={scheduler!r} instead.")
        self._client = None
        self._cluster = None
        if workers is not None:
            workers = check_number(workers, "workers", "Executor", lo=1, integer=True)
        if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
            raise InvalidParameterError(f"The 'scheduler' parameter of Executor must be the address of a Dask "
                                        f"scheduler, such as tcp://127.0.0.1:8786. Got {scheduler!r} instead.")
        self.workers, self.scheduler = workers, scheduler
        if workers is None and scheduler is None:
            self.mode, self.n_workers = "in-process", 1
            return
        distributed = _import_distributed()
        if workers is not None:
            self.mode, self.n_workers = "local-cluster", workers
            self._cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                silence_logs=logging.CRITICAL, env=dict(WORKER_ENV))
            self._client = distributed.Client(self._cluster, set_as_default=False)
        else:
            self.mode = "scheduler"
            try:
                self._client = distributed.Client(scheduler.strip(), timeout="10s", set_as_default=False)
            except (OSError, TimeoutError, ValueError) as err:
                raise ExposureError(f"Cannot reach the Dask scheduler at {scheduler!r}: {err}") from None
            self.n_workers = max(1, len(self._client.scheduler_info().get("workers", {})))

    # ------------------------------------------------------------------ lifetime
    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the client, and the local cluster if this executor started one (idempotent)."""
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def __repr__(self) -> str:
        where = {"in-process": "", "local-cluster": f", workers={self.n_workers}",
                 "scheduler": f", scheduler={self.scheduler!r}, workers={self.n_workers}"}[self.mode]
        return f"Executor(mode={self.mode!r}{where})"

    @property
    def client(self):
        """The ``distributed.Client`` (None in process)."""
        return self._client

    def chunks(self, n: int, per_worker: int = CHUNKS_PER_WORKER) -> list[range]:
        """``range(n)`` split for this executor: one range in process, else ``per_worker`` ranges
        per worker (fewer when there are fewer items); see :func:`split`."""
        return split(n, 1 if self._client is None else self.n_workers * per_worker)

    # ------------------------------------------------------------------ work
    def map(self, fn: Callable[[Any, Any], Any], items: Iterable[Any], *, shared: Any = None,
            progress=None) -> list:
        """``[fn(shared, item) for item in items]``, in the order of ``items``, in every mode.

        Parameters
        ----------
        fn : callable
            ``fn(shared, item)``; a module-level function (the workers unpickle it by name).
        items : iterable
            The pieces of work; each is pickled to the worker that runs it.
        shared : object, optional
            What every item needs (a network, options): sent to each worker once.
        progress : exposure._progress.Progress, optional
            Updated by 1 as each item finishes.

        Raises
        ------
        Exception
            The first error raised by ``fn``, as raised (with its message); the other items are
            cancelled.
        ExposureError
            When the work keeps killing its workers (Dask's ``KilledWorker``), or the shared data
            are lost more than :data:`MAX_RESUBMITS` times.
        """
        items = list(items)
        if self._client is None:
            out = []
            for item in items:
                out.append(fn(shared, item))
                if progress is not None:
                    progress.update(1)
            return out
        return self._map_cluster(fn, items, shared, progress)

    def _map_cluster(self, fn, items: Sequence, shared, progress) -> list:
        distributed = _import_distributed()
        client = self._client
        results: dict[int, Any] = {}
        name = getattr(fn, "__name__", "task")
        for attempt in range(MAX_RESUBMITS + 1):
            todo = [i for i in range(len(items)) if i not in results]
            if not todo:
                break
            [data] = client.scatter([shared], broadcast=True, hash=False)   # one object, even a dict
            token = uuid.uuid4().hex
            futures = {client.submit(_call, fn, data, items[i], key=f"{name}-{token}-{i}", pure=False): i
                       for i in todo}
            lost = False
            try:
                for future in distributed.as_completed(futures, loop=client.loop):
                    if future.status == "finished":
                        lost |= not self._collect(future, futures[future], results, progress)
                    elif future.status != "error":    # cancelled or lost with a worker
                        lost = True
                    else:
                        error = future.exception()
                        if isinstance(error, distributed.KilledWorker):
                            raise ExposureError(f"Item {futures[future]} of {name} killed every worker that "
                                                f"ran it ({error}).")
                        raise error
                    if lost:     # the shared data went with the last worker holding them: submit again
                        break
                if lost:         # keep what finished before the loss
                    for future, i in futures.items():
                        if future.status == "finished":
                            self._collect(future, i, results, progress)
            finally:
                client.cancel(list(futures), force=True)
                client.cancel([data], force=True)
            if not lost:
                break
        if len(results) < len(items):
            raise ExposureError(f"{len(items) - len(results)} items of {name} were lost with their workers "
                                f"{MAX_RESUBMITS + 1} times; the cluster is not keeping its data.")
        return [results[i] for i in range(len(items))]

    @staticmethod
    def _collect(future, i: int, results: dict, progress) -> bool:
        """Store the result of item ``i`` once; False when its data were lost before it could be fetched."""
        if i in results:
            return True
        try:
            results[i] = future.result()
        except CancelledError:
            return False
        if progress is not None:
            progress.update(1)
        return True



@contextmanager
def executor_for(executor: Executor | None = None, workers: int | None = None, scheduler: str | None = None,
                 *, owner: str = "executor_for"):
    """The executor a library function runs on, from its ``executor``, ``workers`` and ``scheduler``
    arguments: ``executor`` itself (left open: its owner closes it), else a new
    ``Executor(workers=..., scheduler=...)`` closed on leaving the block (in process when both are None).

    Raises
    ------
    InvalidParameterError
        ``executor`` together with ``workers`` or ``scheduler`` (named with ``owner``), or both
        of those (:class:`Executor`).

    >>> with executor_for(owner="f") as ex:
    ...     ex.mode
    'in-process'
    """
    if executor is not None:
        if workers is not None or scheduler is not None:
            raise InvalidParameterError(
                f"Give {owner} either an executor or workers/scheduler to start one, not both. Got "
                f"executor={executor!r}, workers={workers!r}, scheduler={scheduler!r} instead.")
        if not isinstance(executor, Executor):
            raise InvalidParameterError(f"The 'executor' parameter of {owner} must be an exposure.Executor. "
                                        f"Got {type(executor).__name__} instead.")
        yield executor
        return
    with Executor(workers=workers, scheduler=scheduler) as ex:
        yield ex
