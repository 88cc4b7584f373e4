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
                  scheduler: str | None = None, window: int | None = None,
                  ordered: bool = False) -> Iterator[tuple[int, Any]]:
    """Apply `fn` to every item; yield `(index, result or exception)` in completion order, or in
    item order with `ordered=True` (results that finish early wait, and count against `window`,
    so memory stays bounded either way).

    executor="local": `jobs` worker processes (jobs=1 runs in this process, which is what
    a debugger or a profiler wants). executor="dask": dask.distributed on `scheduler`
    (tcp://host:port), or on a LocalCluster of `jobs` single-threaded worker processes.
    """
    jobs = jobs or default_jobs()
    window = window or 4 * jobs
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}: choose one of {', '.join(EXECUTORS)}")
    if executor == "local" and jobs == 1:
        yield from _in_process(fn, items)  # in item order already
        return
    order = _InOrder()
    held = order.held if ordered else (lambda: 0)
    stream = (_process_pool(fn, items, jobs, window, held) if executor == "local"
              else _dask(fn, items, jobs, scheduler, window, held))
    yield from order(stream) if ordered else stream


class _InOrder:
    """Re-sequences an `(index, value)` stream; `held()` is how many values wait for an earlier one."""

    def __init__(self):
        self.ready: dict[int, Any] = {}
        self.next = 0

    def held(self) -> int:
        return len(self.ready)

    def __call__(self, stream: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
        for i, value in stream:
            self.ready[i] = value
            while self.next in self.ready:
                yield self.next, self.ready.pop(self.next)
                self.next += 1


def _in_process(fn, items):
    for i, item in enumerate(items):
        try:
            yield i, fn(item)
        except Exception as exc:
            yield i, exc


def _process_pool(fn, items, jobs, window, held):
    # spawn: a clean interpreter per worker, the same on Linux, macOS and Windows, and safe
    # next to the threads a progress bar or a Jupyter kernel runs.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        pending: dict = {}
        for i, item in enumerate(items):
            pending[pool.submit(fn, item)] = i
            while pending and len(pending) + held() >= window:
                yield from _drain(pending, wait(pending, return_when=FIRST_COMPLETED).done)
        while pending:
            yield from _drain(pending, wait(pending, return_when=FIRST_COMPLETED).done)


def _drain(pending: dict, done) -> Iterator[tuple[int, Any]]:
    for fut in done:
        i = pending.pop(fut)
        exc = fut.exception()
        yield i, exc if exc is not None else fut.result()


def _dask(fn, items, jobs, scheduler, window, held):
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
        todo = enumerate(items)

        def fill():  # submit while the window has room
            while len(index) + held() < window:
                nxt = next(todo, None)
                if nxt is None:
                    return
                fut = client.submit(fn, nxt[1], pure=False)
                index[fut.key] = nxt[0]
                stream.add(fut)

        fill()
        for fut in stream:
            i = index.pop(fut.key)
            try:
                yield i, fut.result()
            except Exception as exc:
                yield i, exc
            fut.release()
            fill()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
