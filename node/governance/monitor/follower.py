"""Feeds the monitor from the access log as entries become durable.

A background thread reads entries after the last one it saw, turns them into events and hands
them to ``AccessMonitor.observe``. At start it first replays the entries of the baseline
window (found by binary search on entry times) without alerting, so a restarted node keeps
every principal's baseline. Reading the log, rather than being called from each RPC, means the
monitor sees exactly what the log holds, whichever code path wrote it.

Containment must act on the very next call after the one that raised an alert, however busy
the machine, so the door (``catch_up``) admits a call only once every entry the log holds has
been observed. It does not do that work itself unless it has to: while calls arrive the
thread polls every few milliseconds (``BUSY_POLL_S``; ``POLL_S`` after a failed poll, and once
no call has come in and no caller's entry has been read for ``BUSY_FOR_S``: the node's own
entries do not count), so a call's entries are usually read while its answer travels to the
client and the next call comes back. The door then only compares two counters; when the
thread is behind, the door waits for it or reads the rest itself (``poll``: one reader at a
time, no entry observed twice).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Final

from node.audit.entry import decode, peek_time
from node.audit.exceptions import InvalidEntry
from node.audit.log import format_time
from node.audit.reader import LogReader
from node.governance.monitor.events import event_from_entry
from node.governance.monitor.monitor import AccessMonitor

log = logging.getLogger("fedcredit.governance.follower")

POLL_S: Final = 0.2  # while the log is quiet
BUSY_POLL_S: Final = 0.005  # while calls come in or callers' entries are read
BUSY_FOR_S: Final = 1.0  # how long after the last call or caller's entry the log counts as busy


def first_index_since(reader: LogReader, since: str) -> int:
    """The first entry index whose time is at or after ``since`` (log time format)."""
    lo, hi = 0, reader.size()
    while lo < hi:
        mid = (lo + hi) // 2
        if (peek_time(reader.entry_bytes(mid)) or "") < since:
            lo = mid + 1
        else:
            hi = mid
    return lo


class LogFollower:
    """Reads new access-log entries into the monitor on a background thread.

    Parameters
    ----------
    reader
        The node's access log (the writer's own reader works).
    monitor
        Receives each event.
    own
        This node's actor label; its own entries are not principal actions.
    """

    def __init__(self, reader: LogReader, monitor: AccessMonitor, own: str) -> None:
        self._reader = reader
        self._monitor = monitor
        self._own = own
        self._next = 0
        self._polling = threading.Lock()
        self._stop = threading.Event()
        self._busy = threading.Event()  # a call came in: its entries are on their way
        self._thread = threading.Thread(
            target=self._run, name="fedcredit-access-monitor", daemon=True
        )

    def replay(self, since_unix: float) -> int:
        """Build baselines from entries since ``since_unix`` without alerting; return how many."""
        start = first_index_since(self._reader, format_time(since_unix))
        self._next = start
        return self.poll(replay=True)

    def poll(self, replay: bool = False) -> int:
        """Feed every entry not yet seen; return how many were read.

        Safe from any thread: one poll at a time, so no entry is observed twice.
        """
        return self._feed(replay)[0]

    def _feed(self, replay: bool = False) -> tuple[int, int]:
        """``poll``, also returning how many of the entries read were events (not the node's
        own entries, which say nothing about callers)."""
        with self._polling:
            size = self._reader.size()
            if size <= self._next:
                return 0, 0
            read = observed = 0
            for index, data, _ in self._reader.store.iter_entries(self._next, size):
                try:
                    event = event_from_entry(index, decode(data), self._own)
                except InvalidEntry:
                    event = None  # verify reports it; the monitor skips what it cannot read
                if event is not None:
                    self._monitor.observe(event, replay=replay)
                    observed += 1
                read += 1
            self._next = size
            return read, observed

    def catch_up(self) -> None:
        """Return once every entry the log holds now is observed (at the door, before admitting).

        Free when the thread has read them already; otherwise waits for its poll to finish and
        reads whatever is left. Either way the call is judged on everything logged before it.
        """
        self._busy.set()
        if self._next < self._reader.size():
            self.poll()

    def start(self) -> None:
        """Follow the log until ``stop``."""
        self._thread.start()

    def _run(self) -> None:
        # monotonic time of the last call, or of the last read that held a caller's entries:
        # the node's own entries (logged whatever callers do) do not keep the fast pace
        active = 0.0
        while True:
            quiet = time.monotonic() - active > BUSY_FOR_S
            if self._busy.wait(POLL_S if quiet else BUSY_POLL_S):
                self._busy.clear()
                active = time.monotonic()
            if self._stop.is_set():  # ``stop`` wakes the wait: no poll after it
                return
            try:
                if self._feed()[1]:
                    active = time.monotonic()
            except Exception as exc:  # keep following: a bad poll must not end monitoring
                log.error("access monitor poll failed: %s", exc)
                active = 0.0  # retry at the quiet pace, not every few milliseconds

    def stop(self) -> None:
        """Stop following (the current poll finishes first)."""
        self._stop.set()
        self._busy.set()
        if self._thread.is_alive():
            self._thread.join()
