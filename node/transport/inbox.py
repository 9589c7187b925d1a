"""A party's incoming messages, queued per (sender, topic), with departures.

Both channel implementations (in-memory and relayed) deliver into an ``Inbox``; it is the one
place that implements the ``PartyChannel`` receive contract: FIFO per sender and topic,
``PartyUnavailable`` once the sender left, ``ChannelTimeout`` otherwise.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque

from node.transport.channel import ChannelTimeout, PartyUnavailable


class Inbox:
    """Thread-safe queues of payloads keyed by sender and topic."""

    def __init__(self, default_timeout: float) -> None:
        self.default_timeout = default_timeout
        self._queues: dict[tuple[str, str], deque[bytes]] = defaultdict(deque)
        self._gone: dict[str, str] = {}
        self._cond = threading.Condition()

    def put(self, sender: str, topic: str, payload: bytes) -> None:
        with self._cond:
            self._queues[(sender, topic)].append(payload)
            self._cond.notify_all()

    def mark_gone(self, party: str, reason: str) -> None:
        """Record that ``party`` left; waiting and future receives from it fail."""
        with self._cond:
            self._gone.setdefault(party, reason)
            self._cond.notify_all()

    def gone(self, party: str) -> str | None:
        """Why ``party`` left, or ``None`` while it is still in the job."""
        with self._cond:
            return self._gone.get(party)

    def get(self, sender: str, topic: str, timeout: float | None) -> bytes:
        """Next payload from ``sender`` under ``topic``; messages already queued still arrive."""
        wait = self.default_timeout if timeout is None else timeout
        key = (sender, topic)
        with self._cond:
            ready = self._cond.wait_for(lambda: self._queues[key] or sender in self._gone, wait)
            if self._queues[key]:
                return self._queues[key].popleft()
            if sender in self._gone:
                raise PartyUnavailable(sender, self._gone[sender])
            if not ready:
                raise ChannelTimeout(sender, topic, wait)
            raise AssertionError("unreachable: woken with neither a message nor a departure")
