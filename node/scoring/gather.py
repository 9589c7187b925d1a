"""Online decisions that arrive together are decided together.

Each decision costs the bank a fixed amount of work whatever its size: pseudonyms, an
envelope to each holder, an access-log entry, a decision record and the column arithmetic.
Under load, callers that arrive while earlier decisions are being decided join one group and
share that work. A caller arriving with fewer than ``in_flight`` groups running starts its
own group at once, so a lone decision never waits for another; a group's caller decides it
on its own thread (no hand-off to a worker) and hands the lead to the next waiting caller
when it is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Seat(Generic[Item, Result]):
    """One caller's place: its item, and its result or error once its group is done (or the
    group it is to decide, when it is made the next leader)."""

    __slots__ = ("done", "error", "group", "item", "result")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = threading.Event()
        self.group: list[_Seat[Item, Result]] | None = None
        self.result: Result | None = None
        self.error: BaseException | None = None


class Gathering(Generic[Item, Result]):
    """Runs ``run`` over groups of concurrently submitted items (``run`` returns one result
    per item, in order); an exception from ``run`` is raised to every caller of its group."""

    def __init__(
        self, run: Callable[[list[Item]], Sequence[Result]], *, in_flight: int = 2
    ) -> None:
        self._run = run
        self._in_flight = in_flight
        self._running = 0
        self._queue: list[_Seat[Item, Result]] = []
        self._lock = threading.Lock()

    def submit(self, item: Item) -> Result:
        seat: _Seat[Item, Result] = _Seat(item)
        group: list[_Seat[Item, Result]] | None = None
        with self._lock:
            self._queue.append(seat)
            if self._running < self._in_flight:
                self._running += 1
                group, self._queue = self._queue, []
        if group is None:
            seat.done.wait()  # set when its group is done, or when it is to lead the next
            group, seat.group = seat.group, None
        if group is not None:
            self._lead(group)
        if seat.error is not None:
            raise seat.error
        return seat.result  # type: ignore[return-value]  # set before done

    def _lead(self, group: list[_Seat[Item, Result]]) -> None:
        """Decide ``group`` on this thread, then hand whatever queued meanwhile to its first
        caller (or leave the slot free)."""
        try:
            results = self._run([s.item for s in group])
            if len(results) != len(group):
                raise RuntimeError("a group's run gave a result count unlike its items")
            for s, r in zip(group, results, strict=True):
                s.result = r
        except BaseException as exc:
            for s in group:
                s.error = exc
        with self._lock:
            following: list[_Seat[Item, Result]] | None = None
            if self._queue:
                following, self._queue = self._queue, []
            else:
                self._running -= 1
        for s in group:
            s.done.set()
        if following:
            following[0].group = following
            following[0].done.set()
