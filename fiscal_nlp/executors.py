"""Where the work runs: one `map_unordered` over a process pool or a dask cluster.

Extraction and the report build hand a pure, picklable function and a list of items to
`map_unordered`; it yields `(index, result)` as results arrive, or `(index, exception)` when
a task itself failed (a crashed or stopped worker, a lost dask worker), so the caller can record the
failure and go on; a dead local worker is replaced and the map goes on. At most `window` tasks are in flight, so memory stays flat however long
the list is. dask is only imported when asked for.
"""
from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
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
                  ordered: bool = False, limits: "Limits | None" = None,
                  resume: bool = False) -> Iterator[tuple[int, Any]]:
    """Apply `fn` to every item; yield `(index, result or exception)` in completion order, or in
    item order with `ordered=True` (results that finish early wait, and count against `window`,
    so memory stays bounded either way).

    executor="local": `jobs` worker processes (jobs=1 runs in this process, which is what
    a debugger or a profiler wants). executor="dask": dask.distributed on `scheduler`
    (tcp://host:port), or on a LocalCluster of `jobs` single-threaded worker processes.

    A local worker that dies (a crash in native code, `os._exit`, the OOM killer) or overruns
    `limits` (per part of a task, see `progress`) is replaced and its task comes back as a
    `WorkerLost`. With `resume=True` the task is run again instead, as `fn(item, lost={part:
    WorkerLost})`: `fn` then skips those parts and reports them itself, so one bad part costs
    only itself. On dask, `limits.memory_mb` bounds each LocalCluster worker (dask's nanny
    restarts it); the time limit applies to the local pool only.
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
    stream = (_process_pool(fn, items, jobs, window, held, limits, resume) if executor == "local"
              else _dask(fn, items, jobs, scheduler, window, held, limits))
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


@dataclass(frozen=True)
class Limits:
    """What one part of a task (a document) may cost a pool worker before the worker is stopped.

    `seconds`: wall-clock time from the part's start (see `progress`); `memory_mb`: the worker's
    resident memory. None means no bound. Enforced by the driver (it polls its workers), so a
    runaway in native code (a decompression bomb in a PDF library) is stopped too.
    """
    seconds: float | None = 120.0
    memory_mb: float | None = 4096.0

    @property
    def active(self) -> bool:
        return bool(self.seconds or self.memory_mb)


# Per document, on worker processes: 2 minutes (the largest real disclosures take a few seconds) and
# 4 GB resident (a worker idles at ~250 MB; 2 workers x 4 GB leave most of a 24 GB machine free).
DEFAULT_LIMITS = Limits(seconds=120.0, memory_mb=4096.0)

# A worker's death, by why the driver thinks it died: the `errors.kind` its files get.
LOST_KINDS = ("worker_crashed", "timeout", "resource_limit")


class WorkerLost(Exception):
    """A task whose worker died: it crashed (`worker_crashed`: a signal, `os._exit`, the kernel's
    OOM killer) or was stopped for running past `Limits` (`timeout`, `resource_limit`). `at` is
    the part of the task it was on (the last `progress` mark), None if it had not started."""

    def __init__(self, kind: str, message: str, at: int | None = None):
        super().__init__(message)
        self.kind, self.message, self.at = kind, message, at

    def __reduce__(self):
        return type(self), (self.kind, self.message, self.at)


_channel = None  # in a pool worker: (connection to the driver, current task id)


def progress(position: int) -> None:
    """Mark that the running task starts part `position` of its item (e.g. the k-th document of a
    chunk). A pool worker reports it to the driver, which then knows whom a crash or an overrun
    belongs to and times each part separately; anywhere else a no-op."""
    if _channel is not None:
        conn, task = _channel
        conn.send(("at", task, position))


_POLL_S = 0.2  # how often the driver looks at its workers' clocks and memory
_PREFETCH = 2  # tasks handed to a worker at once, so it never waits for the driver
_STARTUP_GRACE_S = 60.0  # a new worker's first part also pays for its imports (jieba's dictionary: seconds on a busy machine)
_MAX_RESUMES = 64  # a task re-run more often than this is given up (each re-run marks one more part lost)


def _process_pool(fn, items, jobs, window, held, limits: Limits | None, resume: bool):
    """Tasks on `jobs` worker processes of our own (not `ProcessPoolExecutor`, which is broken for
    good by one dead worker and cannot say which task killed it): a dead or stopped worker costs
    its running task (or, with `resume`, only the part it was on) and is replaced."""
    pool = _Pool(jobs, limits)
    try:
        todo = enumerate(items)
        exhausted = False
        ready: deque = deque()  # (index, item, lost) to (re)assign, ahead of new items
        tasks: dict[int, tuple] = {}  # index -> (item, lost) not yet yielded
        no_start: dict[int, int] = {}  # index -> times lost before it started
        while True:
            for worker in pool.idle():
                if ready:
                    i, item, lost = ready.popleft()
                elif not exhausted and len(tasks) + held() < window:
                    nxt = next(todo, None)
                    if nxt is None:
                        exhausted = True
                        break
                    (i, item), lost = nxt, {}
                    tasks[i] = (item, lost)
                else:
                    break
                worker.assign(i, fn, item, lost)
            if exhausted and not tasks:
                return
            for i, outcome in pool.wait():
                if not isinstance(outcome, WorkerLost):
                    del tasks[i]
                    yield i, outcome
                    continue
                item, lost = tasks[i]
                if outcome.at is None:  # died before the task began (unpickling it, or starting up): once more
                    no_start[i] = no_start.get(i, 0) + 1
                    if no_start[i] < 2:
                        ready.appendleft((i, item, lost))
                        continue
                elif resume and outcome.at not in lost and len(lost) < _MAX_RESUMES:
                    lost = {**lost, outcome.at: outcome}
                    tasks[i] = (item, lost)
                    ready.appendleft((i, item, lost))
                    continue
                del tasks[i]
                yield i, outcome
            for i, item, lost in pool.orphans():  # queued behind a lost task on its worker: not its fault
                ready.appendleft((i, item, lost))
    finally:
        pool.close()


class _Pool:
    def __init__(self, jobs: int, limits: Limits | None):
        self.ctx = mp.get_context("spawn")  # a clean interpreter per worker, the same on every OS
        self.limits = limits if limits is not None and limits.active else None
        _clear_stale_temp()
        self.tmp = tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-")
        self.workers = [_Worker(self.ctx, self.tmp) for _ in range(jobs)]
        self.requeue: list[tuple] = []
        self.startup_deaths = 0

    def idle(self) -> Iterator["_Worker"]:
        """Workers with room for another task, least loaded first, each offered up to `_PREFETCH` times."""
        for _ in range(_PREFETCH):
            for worker in sorted(self.workers, key=lambda w: len(w.assigned)):
                if len(worker.assigned) < _PREFETCH and worker.stopped_for is None and worker.proc.exitcode is None:
                    yield worker  # (a dying worker gets nothing: it is replaced once its end is seen)

    def orphans(self) -> list[tuple]:
        out, self.requeue = self.requeue, []
        return out

    def wait(self) -> list[tuple[int, Any]]:
        """Outcomes that arrived within `_POLL_S`: (index, result or exception or `WorkerLost`)."""
        by_handle = {}
        for w in self.workers:
            by_handle[w.results] = w
            by_handle[w.proc.sentinel] = w
        out: list[tuple[int, Any]] = []
        for handle in mpc.wait(list(by_handle), timeout=_POLL_S):
            worker = by_handle[handle]
            if worker not in self.workers:
                continue  # already replaced in this round
            if handle is worker.results:
                out.extend(worker.receive())
            else:  # its process ended
                out.extend(self._replace(worker))
        now = time.monotonic()
        for worker in self.workers:
            if self.limits is not None and worker.busy:
                worker.enforce(self.limits, now)
        return out

    def _replace(self, worker: "_Worker") -> list[tuple[int, Any]]:
        """A worker's process ended: drain what it sent, fail its running task, start another."""
        out = worker.receive()
        if worker.assigned:
            i, at = worker.assigned[0], worker.at if worker.started else None
            out.append((i, WorkerLost(*worker.why_lost(), at=at)))
            self.requeue.extend(worker.queued_behind())
            self.startup_deaths = 0
        elif not worker.ever_started:
            self.startup_deaths += 1
            if self.startup_deaths >= 3:
                raise RuntimeError(f"worker processes die as they start (exit code {worker.proc.exitcode})")
        worker.close()
        self.workers[self.workers.index(worker)] = _Worker(self.ctx, self.tmp)
        return out

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        for worker in self.workers:
            worker.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class _Worker:
    """One worker process: tasks go down one pipe, progress marks and results come up another."""

    def __init__(self, ctx, tmp_root: str):
        self.tmp = tempfile.mkdtemp(prefix="w-", dir=tmp_root)
        task_recv, self.tasks = ctx.Pipe(duplex=False)
        self.results, result_send = ctx.Pipe(duplex=False)
        die_with_thread = threading.current_thread() is threading.main_thread()
        self.proc = ctx.Process(target=_worker_main, args=(task_recv, result_send, os.getpid(), self.tmp,
                                                           die_with_thread), daemon=True, name="fiscal-nlp-worker")
        self.proc.start()
        task_recv.close()
        result_send.close()
        self.assigned: deque = deque()  # indices, running one first
        self.items: dict[int, tuple] = {}
        self.started = self.ever_started = False
        self.at: int | None = None
        self.since = time.monotonic()
        self.stopped_for: tuple[str, str] | None = None
        self.warm = False  # past its first part
        self.peak_mb = 0.0

    @property
    def busy(self) -> bool:
        return self.started and bool(self.assigned)

    def assign(self, i: int, fn, item, lost: dict) -> None:
        self.assigned.append(i)
        self.items[i] = (item, lost)
        try:
            self.tasks.send((i, fn, item, lost))
        except (BrokenPipeError, OSError):
            pass  # the worker is gone: its sentinel reports it, and the task with it

    def receive(self) -> list[tuple[int, Any]]:
        """Handle the messages that wait; the finished tasks' (index, outcome)."""
        out = []
        while True:
            try:
                if not self.results.poll():
                    return out
                msg = self.results.recv()
            except (EOFError, OSError):
                return out
            except Exception as exc:  # a result that does not unpickle here: that task's failure
                msg = ("done", self.assigned[0], exc)
            kind, i = msg[0], msg[1]
            if kind == "start":
                self.started = self.ever_started = True
                self.at, self.since = None, time.monotonic()
            elif kind == "at":
                self.at, self.since = msg[2], time.monotonic()
                self.warm = self.warm or msg[2] > 0
            else:
                self.warm = True
                self.assigned.popleft()
                self.items.pop(i, None)
                self.started, self.at = False, None
                out.append((i, msg[2]))

    def enforce(self, limits: Limits, now: float) -> None:
        if self.stopped_for is not None:
            return
        if limits.seconds and now - self.since > limits.seconds + (0 if self.warm else _STARTUP_GRACE_S):
            self._stop("timeout", f"ran longer than the {limits.seconds:g} s limit")
            return
        if limits.memory_mb:
            rss = _rss_mb(self.proc.pid)
            self.peak_mb = max(self.peak_mb, rss or 0.0)
            if rss is not None and rss > limits.memory_mb:
                self._stop("resource_limit", f"needed more than the {limits.memory_mb:g} MB memory limit "
                                             f"({rss:,.0f} MB)")

    def _stop(self, kind: str, message: str) -> None:
        self.stopped_for = (kind, message)
        self.proc.kill()

    def why_lost(self) -> tuple[str, str]:
        if self.stopped_for is not None:
            return self.stopped_for[0], f"{self.stopped_for[1]}; its worker was stopped"
        self.proc.join(1)
        code = self.proc.exitcode
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
            if -code == signal.SIGKILL:
                how += " (out of memory, or killed from outside)"
        else:
            how = f"exited with code {code}"
        return "worker_crashed", f"its worker process died ({how})"

    def queued_behind(self) -> list[tuple]:
        return [(i, *self.items[i]) for i in list(self.assigned)[1:]]

    def stop(self) -> None:
        try:
            self.tasks.send(None)
        except (BrokenPipeError, OSError):
            pass

    def close(self) -> None:
        self.proc.join(0.5 if self.proc.exitcode is None else 0)
        if self.proc.exitcode is None:
            self.proc.kill()
            self.proc.join()
        for conn in (self.tasks, self.results):
            conn.close()
        self.proc.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _rss_mb(pid: int) -> float | None:
    """Resident memory of `pid` in MB (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        return None


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_TMP_PREFIX = "fiscal-nlp-pool-"


def _clear_stale_temp() -> None:
    """Temporary folders of pools whose driver is gone (killed with SIGKILL: nothing ran its cleanup)."""
    for path in Path(tempfile.gettempdir()).glob(f"{_TMP_PREFIX}*"):
        pid = path.name[len(_TMP_PREFIX):].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _worker_main(tasks, results, parent: int, tmp: str, die_with_thread: bool) -> None:
    """A pool worker: run tasks until told to stop, or until the driver is gone."""
    global _channel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops us
    if die_with_thread:
        _die_with_parent()
    if os.getppid() != parent:  # the driver died before we got here
        os._exit(1)
    tempfile.tempdir = tmp  # what a killed task leaves (a PDF copy) is in a folder the driver removes
    os.environ["TMPDIR"] = tmp
    inbox: queue.SimpleQueue = queue.SimpleQueue()

    def read():  # a thread, so the driver can hand over the next task while this one runs
        while True:
            try:
                task = tasks.recv()
            except (EOFError, OSError):  # the driver closed the pipe, or died
                os._exit(0)
            inbox.put(task)
            if task is None:
                return

    threading.Thread(target=read, daemon=True).start()
    while (task := inbox.get()) is not None:
        i, fn, item, lost = task
        results.send(("start", i))
        _channel = (results, i)
        try:
            outcome = fn(item, lost=lost) if lost else fn(item)
        except BaseException as exc:
            outcome = exc
        _channel = None
        try:
            results.send(("done", i, outcome))
        except Exception as exc:  # a result or exception that does not pickle
            results.send(("done", i, RuntimeError(f"the task's result could not be sent back: {exc!r}")))


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when the driver dies, even by SIGKILL (PR_SET_PDEATHSIG);
    elsewhere the closed task pipe ends the worker once it is idle."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _dask(fn, items, jobs, scheduler, window, held, limits=None):
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a declared dependency
        raise RuntimeError(f"the dask executor needs dask[distributed]: {exc}") from exc
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        memory = f"{limits.memory_mb:g}MB" if limits is not None and limits.memory_mb else "auto"
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=":0",
                               memory_limit=memory)
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
