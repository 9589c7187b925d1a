"""In-process party channels for tests and single-machine simulation, with a traffic tap."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass

from node.transport.channel import ChannelTimeout, PartyChannel, PartyUnavailable

DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Captured:
    """One message as it crossed the hub: what a relay would route (before sealing)."""

    sender: str
    recipient: str
    topic: str
    payload: bytes


class MemoryHub:
    """Routes messages between the parties of one job inside one process.

    ``captured`` records every message so tests can assert what a party (for instance the
    coordinator acting as key holder or aggregator) was sent. ``drop(party)`` simulates a
    party leaving: its pending and future messages are discarded and receivers waiting on it
    get ``PartyUnavailable``.
    """

    def __init__(self, job_id: str = "job-memory", timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.job_id = job_id
        self.timeout = timeout
        self.captured: list[Captured] = []
        self._queues: dict[tuple[str, str, str], deque[bytes]] = defaultdict(deque)
        self._gone: set[str] = set()
        self._cond = threading.Condition()

    def channel(self, party: str) -> MemoryChannel:
        """Return the channel through which ``party`` talks to the others."""
        return MemoryChannel(self, party)

    def drop(self, party: str) -> None:
        """Mark ``party`` as gone and wake everyone waiting on it."""
        with self._cond:
            self._gone.add(party)
            self._cond.notify_all()

    def _put(self, sender: str, recipient: str, topic: str, payload: bytes) -> None:
        with self._cond:
            if sender in self._gone:
                raise PartyUnavailable(sender, "dropped from the job; it can no longer send")
            self.captured.append(Captured(sender, recipient, topic, bytes(payload)))
            self._queues[(sender, recipient, topic)].append(bytes(payload))
            self._cond.notify_all()

    def _get(self, sender: str, recipient: str, topic: str, timeout: float | None) -> bytes:
        wait = self.timeout if timeout is None else timeout
        key = (sender, recipient, topic)
        with self._cond:
            ok = self._cond.wait_for(lambda: self._queues[key] or sender in self._gone, wait)
            if self._queues[key]:
                return self._queues[key].popleft()
            if sender in self._gone:
                raise PartyUnavailable(sender)
            if not ok:
                raise ChannelTimeout(sender, topic, wait)
            raise AssertionError("unreachable: wait_for returned without a message")


class MemoryChannel(PartyChannel):
    """A party's end of a ``MemoryHub``."""

    def __init__(self, hub: MemoryHub, party: str) -> None:
        super().__init__(party, hub.job_id)
        self._hub = hub

    def send(self, recipient: str, topic: str, payload: bytes) -> None:
        self._hub._put(self.party, recipient, topic, payload)

    def recv(self, sender: str, topic: str, timeout: float | None = None) -> bytes:
        return self._hub._get(sender, self.party, topic, timeout)
