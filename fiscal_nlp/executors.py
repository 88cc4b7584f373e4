"""Where the work runs: one `map_unordered` over a process pool or a dask cluster.

Extraction and the report build hand a pure, picklable function and a list of items to
`map_unordered`; it yields `(index, result)` as results arrive, or `(index, exception)` when
a task itself failed (a crashed worker, a lost dask worker), so the caller can record the
failure and go on. At most `window` tasks are in flight, so memory stays flat however long
the list is. dask is only imported when asked for.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

EXECUTORS = ("local", "dask")


def default_jobs() -> int:
    """The CPUs this process may use (cgroup/affinity aware where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def map_unordered(fn: Callable[[Any], Any], items: Iterable[Any], executor: str = "local", jobs: int | None = None,
                  scheduler: str | None = None, window: int | None = None) -> Iterator[tuple[int, Any]]:
    """Apply `fn` to every item; yield `(index, result or exception)` in completion order.

    executor="local": `jobs` worker processes (jobs=1 runs in this process, which is what
    a debugger or a profiler wants). executor="dask": dask.distributed on `scheduler`
    (tcp://host:port), or on a LocalCluster of `jobs` single-threaded worker processes.
    """
    jobs = jobs or default_jobs()
    window = window or 4 * jobs
    if executor == "local":
        if jobs == 1:
            yield from _in_process(fn, items)
        else:
            yield from _process_pool(fn, items, jobs, window)
    elif executor == "dask":
        yield from _dask(fn, items, jobs, scheduler, window)
    else:
        raise ValueError(f"unknown executor {executor!r}: choose one of {', '.join(EXECUTORS)}")


def _in_process(fn, items):
    for i, item in enumerate(items):
        try:
            yield i, fn(item)
        except Exception as exc:
            yield i, exc


def _process_pool(fn, items, jobs, window):
    # spawn: a clean interpreter per worker, the same on Linux, macOS and Windows, and safe
    # next to the threads a progress bar or a Jupyter kernel runs.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        pending: dict = {}
        for i, item in enumerate(items):
            pending[pool.submit(fn, item)] = i
            if len(pending) >= window:
                yield from _drain(pending, wait(pending, return_when=FIRST_COMPLETED).done)
        while pending:
            yield from _drain(pending, wait(pending, return_when=FIRST_COMPLETED).done)


def _drain(pending: dict, done) -> Iterator[tuple[int, Any]]:
    for fut in done:
        i = pending.pop(fut)
        exc = fut.exception()
        yield i, exc if exc is not None else fut.result()


def _dask(fn, items, jobs, scheduler, window):
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a declared dependency
        raise RuntimeError(f"the dask executor needs dask[distributed]: {exc}") from exc
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
    try:
        index: dict = {}
        stream = as_completed()
        it = enumerate(items)
        for i, item in it:
            fut = client.submit(fn, item, pure=False)
            index[fut.key] = i
            stream.add(fut)
            if len(index) >= window:
                break
        for fut in stream:
            i = index.pop(fut.key)
            try:
                yield i, fut.result()
            except Exception as exc:
                yield i, exc
            fut.release()
            for j, item in it:  # refill the window by one
                nxt = client.submit(fn, item, pure=False)
                index[nxt.key] = j
                stream.add(nxt)
                break
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
