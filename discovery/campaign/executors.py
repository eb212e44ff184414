"""Where units run: a local process pool (all cores) or a Dask cluster, both
behind the ``concurrent.futures.Executor`` interface.

* :func:`local_pool` -- ``concurrent.futures.ProcessPoolExecutor`` with the
  ``forkserver`` start method (no state shared with the coordinator; the
  engines are imported once, in the server), workers that ignore Ctrl-C,
  and one BLAS/OpenMP thread each (the workers are the parallelism);
* :func:`dask_pool` -- ``distributed.Client(address).get_executor()``, on an
  existing cluster (``dask-scheduler`` / ``dask-worker``, a
  ``LocalCluster``, a job-queue cluster, ...).  Dask is the optional extra
  ``bilinear-discovery[dask]``.  Workers save what they find into the
  catalog when they share its filesystem; the coordinator saves whatever
  they return otherwise.

Both yield ``(executor, slots, stop)``: ``slots`` is how many units to keep
in flight, ``stop()`` ends the workers at once (after Ctrl-C).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Callable, Iterator, Optional

from discovery.campaign.worker_init import init_worker
from discovery.core.errors import InvalidInputError

__all__ = ["local_pool", "dask_pool", "default_workers"]

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Children started inside this block get one thread per library (unless the user set one)."""
    saved = {v: os.environ.get(v) for v in _THREAD_VARS}
    for v in _THREAD_VARS:
        os.environ.setdefault(v, "1")
    try:
        yield
    finally:
        for v, old in saved.items():
            if old is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = old


def _context():
    """``forkserver`` where available: a clean server process imports the
    engines once (preload) and forks each worker from it, so workers start
    in milliseconds instead of re-importing torch; ``spawn`` elsewhere."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["discovery.campaign.worker_init", "discovery.campaign.worker"])
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - Windows, macOS fallback


@contextlib.contextmanager
def local_pool(workers: Optional[int] = None) -> Iterator[tuple[Executor, int, Callable[[], None]]]:
    """A process pool of ``workers`` processes (default: all cores)."""
    n = default_workers() if workers is None else int(workers)
    if n < 1:
        raise InvalidInputError(f"workers must be a positive integer, got {workers!r}")
    ctx = _context()
    with _single_threaded_children():
        pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=init_worker)

        def stop() -> None:
            # ProcessPoolExecutor has no public "kill the workers" before Python 3.14
            procs = list(getattr(pool, "_processes", {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
            for proc in procs:
                proc.join(5)

        try:
            yield pool, n, stop
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def dask_pool(address: str, timeout: float = 30.0) -> Iterator[tuple[Executor, int, Callable[[], None]]]:
    """The executor of a Dask cluster at ``address`` (e.g. ``tcp://host:8786``)."""
    try:
        import distributed  # optional extra: bilinear-discovery[dask]
    except ImportError:
        raise InvalidInputError("--scheduler needs Dask: pip install 'bilinear-discovery[dask]'") from None
    try:
        client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InvalidInputError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        threads = sum(client.nthreads().values()) or 1
        executor = client.get_executor(pure=False)

        def stop() -> None:
            executor.shutdown(wait=False)

        yield executor, max(1, threads), stop
    finally:
        client.close()
