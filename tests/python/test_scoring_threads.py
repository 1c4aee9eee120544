"""The thread pool that scores batches: order kept, memory bounded, settings checked."""

from __future__ import annotations

import threading
import time

import pytest

from custseg.pipeline import ordered_parallel_map, scoring_threads


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_results_come_back_in_input_order(workers):
    def slow_square(x):
        time.sleep(0.002 * (x % 3))      # later items often finish first
        return x * x

    assert list(ordered_parallel_map(slow_square, range(20), workers)) == [x * x for x in range(20)]


def test_at_most_workers_plus_one_items_are_in_flight():
    consumed = []
    lock = threading.Lock()

    def source():
        for i in range(30):
            with lock:
                consumed.append(i)
            yield i

    results = ordered_parallel_map(lambda x: x, source(), workers=2)
    for out in results:
        with lock:
            # items pulled from the source but not yet yielded: bounded, so a stream stays a stream
            assert len(consumed) - out <= 3


def test_errors_in_a_worker_reach_the_caller():
    def boom(x):
        if x == 5:
            raise ValueError("bad batch 5")
        return x

    with pytest.raises(ValueError, match="bad batch 5"):
        list(ordered_parallel_map(boom, range(10), workers=2))


def test_scoring_threads_setting(monkeypatch):
    monkeypatch.setenv("CUSTSEG_SCORE_THREADS", "3")
    assert scoring_threads() == 3
    monkeypatch.setenv("CUSTSEG_SCORE_THREADS", "zero")
    with pytest.raises(ValueError, match="CUSTSEG_SCORE_THREADS"):
        scoring_threads()
    monkeypatch.delenv("CUSTSEG_SCORE_THREADS")
    assert 1 <= scoring_threads() <= 4
