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
