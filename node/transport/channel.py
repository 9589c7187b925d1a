"""The party-to-party channel every federated protocol is written against.

Protocols (PSI, vertical and horizontal training, scoring) never touch gRPC directly: they
send opaque payloads to a named party under a topic and receive from a named party by topic.
Two implementations exist: ``MemoryHub`` for in-process tests, and the relay channel that seals
each payload end to end and routes it through the coordinator. Because protocol code sees only
this interface, the same code runs in a unit test and across processes over mutual TLS.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class ChannelError(Exception):
    """Base class for failures of a party channel."""


class PartyUnavailable(ChannelError):
    """The named party left the job (disconnected, crashed or was dropped by the coordinator)."""

    def __init__(self, party: str, reason: str = "left the job") -> None:
        super().__init__(f"party {party!r} is unavailable: {reason}")
        self.party = party
        self.reason = reason


class ChannelTimeout(ChannelError):
    """No message arrived from ``sender`` under ``topic`` within the timeout."""

    def __init__(self, sender: str, topic: str, timeout: float) -> None:
        super().__init__(
            f"no message from {sender!r} on topic {topic!r} within {timeout:.1f}s; "
            "check that the party is running and connected to the coordinator"
        )
        self.sender = sender
        self.topic = topic
        self.timeout = timeout


class PartyChannel(ABC):
    """A job-scoped, authenticated and confidential message channel between named parties.

    Constraints every implementation keeps:

    - ``send`` MUST deliver ``payload`` only to ``recipient`` and MUST NOT let any relay read it.
    - Messages from one sender under one topic MUST be received in the order they were sent.
    - ``recv`` MUST raise ``PartyUnavailable`` promptly once the sender has left the job, and
      ``ChannelTimeout`` when ``timeout`` seconds pass with no message.
    - Topics are scoped to the job: two jobs never see each other's messages.
    """

    def __init__(self, party: str, job_id: str) -> None:
        self.party = party
        self.job_id = job_id

    @abstractmethod
    def send(self, recipient: str, topic: str, payload: bytes) -> None:
        """Send ``payload`` to ``recipient`` under ``topic``."""

    @abstractmethod
    def recv(self, sender: str, topic: str, timeout: float | None = None) -> bytes:
        """Return the next payload ``sender`` sent to this party under ``topic``.

        Raises
        ------
        PartyUnavailable
            The sender left the job.
        ChannelTimeout
            Nothing arrived within ``timeout`` seconds (``None`` waits for the channel default).
        """
