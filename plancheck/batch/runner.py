"""Running one function over many plans: in this process, in worker processes, or on Dask.

:func:`run_jobs` returns the results in the order of the jobs, whatever order
they finished in and however many workers ran them, so a batch's results do
not depend on its parallelism. The job function must be a module-level
function (or a :func:`functools.partial` of one) so that it pickles; it
should not raise, but if it does, or if a worker process dies (out of
memory, a crash in a native library), that job's result is made by
``on_lost`` and the other jobs go on:

* with worker processes, a pool whose worker died is replaced and its
  unfinished jobs are run again, each in a process of its own, so a job that
  kills its process fails alone;
* with Dask, the scheduler retries a job whose worker died and gives up after
  its ``allowed-failures`` setting (``KilledWorker``).

Stopping: when the batch is interrupted (Ctrl-C, or SIGTERM turned into
:class:`Terminated` by :func:`interrupt_on_signals`), every worker process is
terminated before the exception goes on, so none is left running. Workers
ignore SIGINT themselves (a terminal's Ctrl-C reaches the whole process group;
the main process decides), and on Linux they are told to stop when the main
process dies, even by SIGKILL (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Generic, TypeVar

from plancheck.errors import EXIT_USAGE, PlancheckError
from plancheck.report.extras import require

__all__ = [
    "LOCAL_SCHEDULER",
    "SchedulerError",
    "Terminated",
    "default_workers",
    "interrupt_on_signals",
    "run_jobs",
]

J = TypeVar("J")
R = TypeVar("R")
LOCAL_SCHEDULER = "local"
CONNECT_TIMEOUT_S = 20


class SchedulerError(PlancheckError):
    """The Dask scheduler cannot be reached or started (a usage error, exit 2)."""

    exit_code = EXIT_USAGE


class Terminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM); handled like Ctrl-C, exit status 143."""

    signal_number = int(signal.SIGTERM)


@contextlib.contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Turn SIGTERM (and SIGHUP) into :class:`Terminated` in the main thread, for clean stops."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        error = Terminated(f"stopped by signal {signum}")
        error.signal_number = signum
        raise error

    wanted = [signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    previous = {sig: signal.signal(sig, handler) for sig in wanted}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _worker_init() -> None:
    """In each worker: leave Ctrl-C to the main process, and die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM))
        except (OSError, AttributeError):
            return
        if os.getppid() == 1:  # the main process died before the request took effect
            os._exit(1)


def _stop_workers() -> None:
    """Terminate every worker process of this process, then make sure they are gone."""
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    for child in children:
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
            child.join(timeout=5)


def default_workers() -> int:
    """The number of cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


class _Collector(Generic[J, R]):
    def __init__(
        self,
        jobs: Sequence[J],
        on_result: Callable[[R], None] | None,
        on_lost: Callable[[J, str], R],
    ):
        self.jobs = jobs
        self.results: list[R | None] = [None] * len(jobs)
        self._on_result = on_result
        self._on_lost = on_lost

    def done(self, index: int, result: R) -> None:
        self.results[index] = result
        if self._on_result is not None:
            self._on_result(result)

    def lost(self, index: int, reason: str) -> None:
        self.done(index, self._on_lost(self.jobs[index], reason))

    def final(self) -> list[R]:
        missing = [i for i, r in enumerate(self.results) if r is None]
        for i in missing:
            self.lost(i, "the job did not return")
        return [r for r in self.results if r is not None]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _run_serial(func: Callable[[J], R], col: _Collector[J, R]) -> None:
    for i, job in enumerate(col.jobs):
        try:
            result = func(job)
        except Exception as exc:  # the job function's own guard failed: record, go on
            col.lost(i, _describe(exc))
        else:
            col.done(i, result)


def _context() -> Any:
    # spawn: no inherited threads or locks, the same on every platform
    return multiprocessing.get_context("spawn")


def _run_isolated(func: Callable[[J], R], job: J) -> R:
    with ProcessPoolExecutor(max_workers=1, mp_context=_context(), initializer=_worker_init) as pool:
        return pool.submit(func, job).result()


def _run_processes(
    func: Callable[[J], R],
    col: _Collector[J, R],
    workers: int,
    initializer: Callable[[], None] | None = None,
) -> None:
    try:
        _run_pool(func, col, workers, initializer)
    except BaseException:  # Ctrl-C, SIGTERM, or a bug: no worker may outlive the batch
        _stop_workers()
        raise


def _init_worker(initializer: Callable[[], None] | None) -> None:
    """In each worker: the signal set-up of :func:`_worker_init`, then the caller's warm-up."""
    _worker_init()
    if initializer is not None:
        initializer()


def _run_pool(
    func: Callable[[J], R],
    col: _Collector[J, R],
    workers: int,
    initializer: Callable[[], None] | None = None,
) -> None:
    broken: list[int] = []
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(col.jobs)),
        mp_context=_context(),
        initializer=functools.partial(_init_worker, initializer),
    )
    try:
        futures: dict[Future[R], int] = {pool.submit(func, job): i for i, job in enumerate(col.jobs)}
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                result = fut.result()
            except BrokenProcessPool:
                broken.append(i)
            except Exception as exc:  # raised by the job function or while pickling its result
                col.lost(i, _describe(exc))
            else:
                col.done(i, result)
    except BaseException:
        _stop_workers()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if not broken:
        return
    # a worker died and took the pool with it: run the unfinished jobs one process each
    with ThreadPoolExecutor(max_workers=workers) as threads:
        retries = {threads.submit(_run_isolated, func, col.jobs[i]): i for i in sorted(broken)}
        for fut in as_completed(retries):
            i = retries[fut]
            try:
                result = fut.result()
            except BrokenProcessPool:
                col.lost(i, "the worker process died (out of memory, or a crash in a native library)")
            except Exception as exc:
                col.lost(i, _describe(exc))
            else:
                col.done(i, result)


def _local_cluster(distributed: Any, workers: int) -> Any:
    """A local cluster of ``workers`` single-threaded worker processes on the loopback interface.

    Dask's nannies set ``MALLOC_TRIM_THRESHOLD_=65536`` in their workers, which
    turns off glibc's adaptive mmap threshold: every large numpy array is then
    mapped and unmapped afresh, and plan evaluation runs about twice as slowly.
    The local cluster leaves that variable out (start remote workers without it too).
    """
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # loopback, any free port: never clashes
            silence_logs=logging.ERROR,
        )


def _run_dask(func: Callable[[J], R], col: _Collector[J, R], scheduler: str, workers: int) -> None:
    distributed = require("distributed", "dask", "Running a batch on Dask (--scheduler)")
    cluster = None
    try:
        if scheduler == LOCAL_SCHEDULER:
            cluster = _local_cluster(distributed, workers)
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {scheduler!r} ({_describe(exc)})",
            hint="Give the address of a running scheduler (tcp://host:8786), or 'local' to start one here.",
        ) from exc
    try:
        futures = client.map(func, list(col.jobs), pure=False)
        index = {fut.key: i for i, fut in enumerate(futures)}
        for fut in distributed.as_completed(futures):
            i = index[fut.key]
            try:
                result = fut.result()
            except Exception as exc:  # KilledWorker, a lost connection, or the job function raised
                col.lost(i, _describe(exc))
            else:
                col.done(i, result)
            fut.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_jobs(
    jobs: Sequence[J],
    func: Callable[[J], R],
    *,
    on_lost: Callable[[J, str], R],
    workers: int | None = None,
    scheduler: str | None = None,
    on_result: Callable[[R], None] | None = None,
    initializer: Callable[[], None] | None = None,
) -> list[R]:
    """``[func(job) for job in jobs]``, in parallel.

    Parameters
    ----------
    jobs : sequence
        Picklable job descriptions.
    func : callable
        A module-level function (or partial of one) taking one job.
    on_lost : callable
        Makes the result of a job that raised or whose worker died, from the job and a reason.
    workers : int, optional
        Worker processes (default: the number of usable cores); 1 runs in this process.
        With ``scheduler="local"``, the number of Dask workers.
    scheduler : str, optional
        A Dask scheduler address, or ``"local"`` to start a local cluster (extra ``plancheck[dask]``).
    on_result : callable, optional
        Called in this process with each result as it arrives (progress).
    initializer : callable, optional
        Run once in each worker process as it starts (a module-level function), e.g. to
        import what the jobs need while the pool is filled, instead of on the first job.

    Returns
    -------
    list
        One result per job, in the order of ``jobs``.
    """
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise ValueError("workers must be at least 1")
    col: _Collector[J, R] = _Collector(jobs, on_result, on_lost)
    if not jobs:
        return []
    if scheduler is not None:
        _run_dask(func, col, scheduler, workers)
    elif workers == 1 or len(jobs) == 1:
        _run_serial(func, col)
    else:
        _run_processes(func, col, workers, initializer)
    return col.final()
