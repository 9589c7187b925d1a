"""Feeds the monitor from the access log as entries become durable.

A background thread reads entries after the last one it saw (every ``POLL_S``), turns them
into events and hands them to ``AccessMonitor.observe``. At start it first replays the
entries of the baseline window (found by binary search on entry times) without alerting, so
a restarted node keeps every principal's baseline. Reading the log, rather than being called
from each RPC, means the monitor sees exactly what the log holds, whichever code path wrote it.

The door does not wait for the thread: before admitting a call, ``catch_up`` reads whatever
the log already holds (usually the caller's previous call, already durable because a result
leaves only after its entry is committed). Containment therefore acts on the very next call
after the one that raised an alert, however busy the machine; the thread only keeps the
baselines current while no call arrives.
"""

from __future__ import annotations

import logging
import threading
from typing import Final

from node.audit.entry import decode, peek_time
from node.audit.exceptions import InvalidEntry
from node.audit.log import format_time
from node.audit.reader import LogReader
from node.governance.monitor.events import event_from_entry
from node.governance.monitor.monitor import AccessMonitor

log = logging.getLogger("fedcredit.governance.follower")

POLL_S: Final = 0.2


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
        with self._polling:
            size = self._reader.size()
            if size <= self._next:
                return 0
            read = 0
            for index, data, _ in self._reader.store.iter_entries(self._next, size):
                try:
                    event = event_from_entry(index, decode(data), self._own)
                except InvalidEntry:
                    event = None  # verify reports it; the monitor skips what it cannot read
                if event is not None:
                    self._monitor.observe(event, replay=replay)
                read += 1
            self._next = size
            return read

    def catch_up(self) -> None:
        """Observe every entry the log holds now (called at the door, before admitting)."""
        self.poll()

    def start(self) -> None:
        """Follow the log until ``stop``."""
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self.poll()
            except Exception as exc:  # keep following: a bad poll must not end monitoring
                log.error("access monitor poll failed: %s", exc)

    def stop(self) -> None:
        """Stop following (the current poll finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
