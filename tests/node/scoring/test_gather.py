"""Gathering: concurrent online decisions decided together, each caller given its own result."""

from __future__ import annotations

import threading
import time

import pytest

from node.scoring.gather import Gathering


def _wait_until(condition: object, what: str) -> None:
    for _ in range(2000):
        if callable(condition) and condition():
            return
        time.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


def test_callers_arriving_while_groups_run_share_the_next_group() -> None:
    # prepare: a run that holds its first two groups until released
    groups: list[list[int]] = []
    release = threading.Event()
    lock = threading.Lock()

    def run(items: list[int]) -> list[int]:
        with lock:
            groups.append(list(items))
            first_two = len(groups) <= 2
        if first_two:
            release.wait()
        if -1 in items:
            raise ValueError("bad group")
        return [i * 10 for i in items]

    gathering: Gathering[int, int] = Gathering(run, in_flight=2)
    results: dict[int, int] = {}

    def call(i: int) -> None:
        results[i] = gathering.submit(i)

    # execute: two callers lead at once; five more wait while both groups are held
    threads = [threading.Thread(target=call, args=(i,)) for i in range(7)]
    for t in threads[:2]:
        t.start()
    _wait_until(lambda: len(groups) == 2, "two groups running")
    for t in threads[2:]:
        t.start()
    _wait_until(lambda: len(gathering._queue) == 5, "five callers queued")
    release.set()
    for t in threads:
        t.join(10)
    # assert: the five were decided as one group, and everyone got their own result
    assert sorted(len(g) for g in groups) == [1, 1, 5]
    assert sorted(groups[2]) == [2, 3, 4, 5, 6]
    assert results == {i: i * 10 for i in range(7)}
    assert gathering._running == 0 and not gathering._queue


def test_a_failing_group_raises_to_its_callers_and_the_next_caller_runs_alone() -> None:
    gathering: Gathering[int, int] = Gathering(lambda items: [1 // i for i in items], in_flight=1)
    with pytest.raises(ZeroDivisionError):
        gathering.submit(0)
    assert gathering.submit(1) == 1
    assert gathering._running == 0
