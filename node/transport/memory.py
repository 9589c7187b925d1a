"""In-process party channels for tests and single-machine simulation, with a traffic tap."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from node.transport.channel import PartyChannel, PartyUnavailable
from node.transport.inbox import Inbox

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
    party leaving: receivers waiting on it get ``PartyUnavailable`` and it can no longer send.
    """

    def __init__(self, job_id: str = "job-memory", timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.job_id = job_id
        self.timeout = timeout
        self.captured: list[Captured] = []
        self._inboxes: dict[str, Inbox] = {}
        self._gone: set[str] = set()
        self._lock = threading.Lock()

    def channel(self, party: str) -> MemoryChannel:
        """Return the channel through which ``party`` talks to the others."""
        return MemoryChannel(self, party)

    def drop(self, party: str) -> None:
        """Mark ``party`` as gone and wake everyone waiting on it."""
        with self._lock:
            self._gone.add(party)
            inboxes = list(self._inboxes.values())
        for inbox in inboxes:
            inbox.mark_gone(party, "dropped from the job")

    def _inbox(self, party: str) -> Inbox:
        with self._lock:
            inbox = self._inboxes.get(party)
            if inbox is None:
                inbox = self._inboxes[party] = Inbox(self.timeout)
                for gone in self._gone:
                    inbox.mark_gone(gone, "dropped from the job")
            return inbox

    def _put(self, sender: str, recipient: str, topic: str, payload: bytes) -> None:
        with self._lock:
            if sender in self._gone:
                raise PartyUnavailable(sender, "dropped from the job; it can no longer send")
            self.captured.append(Captured(sender, recipient, topic, bytes(payload)))
        self._inbox(recipient).put(sender, topic, bytes(payload))


class MemoryChannel(PartyChannel):
    """A party's end of a ``MemoryHub``."""

    def __init__(self, hub: MemoryHub, party: str) -> None:
        super().__init__(party, hub.job_id)
        self._hub = hub

    def send(self, recipient: str, topic: str, payload: bytes) -> None:
        self._hub._put(self.party, recipient, topic, payload)

    def recv(self, sender: str, topic: str, timeout: float | None = None) -> bytes:
        return self._hub._inbox(self.party).get(sender, topic, timeout)
