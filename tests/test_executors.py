"""fiscal_nlp.executors: one map for a process pool and for dask; failures come back as values."""
from __future__ import annotations

import operator

import pytest

from fiscal_nlp.executors import map_unordered


def _ok(items, **kw):
    return dict(map_unordered(operator.neg, items, **kw))


@pytest.mark.parametrize("jobs", [1, 2])
def test_local_results_are_indexed_by_item(jobs):
    assert _ok(range(25), jobs=jobs, window=3) == {i: -i for i in range(25)}


def _late_for_even(x):
    import time

    time.sleep(0.15 if x % 2 == 0 else 0.0)  # even items finish after the odd ones submitted with them
    return -x


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_ordered_results_come_in_item_order(executor):
    out = list(map_unordered(_late_for_even, range(12), executor=executor, jobs=2, window=3, ordered=True))
    assert out == [(i, -i) for i in range(12)]


def test_a_failing_item_is_returned_not_raised():
    out = dict(map_unordered(_invert, [1, 0, 2], jobs=2))
    assert out[0] == 1.0 and out[2] == 0.5 and isinstance(out[1], ZeroDivisionError)


def _invert(x):
    return 1 / x


def test_dask_local_cluster():
    out = dict(map_unordered(_invert, [1, 0, 4], executor="dask", jobs=2, window=2))
    assert out[0] == 1.0 and out[2] == 0.25 and isinstance(out[1], ZeroDivisionError)


def test_unknown_executor_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown executor 'spark'"):
        list(map_unordered(_invert, [1], executor="spark"))


# ---------------------------------------------------------------- workers die with their driver

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import faults

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def _children(pid: int) -> set[int]:
    """Live processes whose parent is `pid` (from /proc)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.add(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie is dead, only not yet reaped (by init, once orphaned)


def _wait_for(predicate, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@linux_only
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_their_driver(how):
    """A driver killed while its two workers are busy (SIGKILL: no cleanup code runs; SIGTERM's default
    is the same) leaves no worker behind."""
    script = ("import faults\nfrom fiscal_nlp.executors import map_unordered\n"
              "for i, r in map_unordered(faults.sleep_then_pid, [0.0] * 2 + [600.0] * 4, jobs=2): print(r, flush=True)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(faults.__file__).parent), *sys.path])}
    driver = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    try:
        driver.stdout.readline()  # a worker answered: the pool is running
        assert _wait_for(lambda: len(_children(driver.pid)) >= 2), "the workers did not start"
        workers = _children(driver.pid)
        driver.send_signal(how)
        driver.wait(30)
        assert _wait_for(lambda: not any(map(_alive, workers)), 10), "workers outlived their driver"
    finally:
        driver.kill()
        driver.wait()
