"""Party channels whose messages are sealed end to end and routed through the coordinator.

One ``EnvelopeRouter`` per process (a node, or the coordinator acting as a party) seals
outgoing payloads for their recipient, hands the sealed bytes to whatever carries them (a
node's ``Send`` RPC, or the coordinator's relay directly), and opens incoming envelopes:
signature, recipient and replay are checked before a payload reaches any protocol code.
Envelopes for a job whose channel does not exist yet are held briefly, because parties start
their roles at slightly different moments and the first message can outrun the task.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

import grpc

from node.transport.channel import PartyChannel, PartyUnavailable
from node.transport.directory import UnknownParty
from node.transport.inbox import Inbox

log = logging.getLogger("fedcredit.transport.relay")

DEFAULT_TIMEOUT_S = 120.0
EARLY_HOLD_S = 60.0
EARLY_HOLD_MAX = 4096


@dataclass(frozen=True)
class Opened:
    """A verified incoming message."""

    sender: str
    job_key: str
    topic: str
    payload: bytes


class Sealer(Protocol):
    """Seals for and opens from named parties (see ``node.transport.sealing``)."""

    def seal(self, recipient: str, job_key: str, topic: str, payload: bytes) -> bytes: ...

    def open(self, sealed: bytes) -> Opened: ...


class RecipientGone(Exception):
    """The carrier could not deliver: the recipient is offline."""

    def __init__(self, recipient: str, reason: str) -> None:
        super().__init__(f"{recipient!r} {reason}")
        self.recipient = recipient
        self.reason = reason


class RelayRefused(Exception):
    """The coordinator did not take an envelope for a reason other than an offline recipient
    or coordinator (``RecipientGone``): a rate limit, a stale certificate after re-issued keys
    ...; its reason is the coordinator's own value-free message."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"the coordinator refused an envelope ({code}): {reason}")
        self.code = code
        self.reason = reason


# What ``EnvelopeRouter.send`` raises when a message was not delivered for a reason outside
# this process (an operator's line, not a traceback); anything else it raises is a defect.
UNDELIVERED: Final = (PartyUnavailable, RelayRefused, UnknownParty, grpc.RpcError)


def undelivered_reason(exc: Exception) -> str:
    """Why a message was not delivered, on one line (a gRPC error by its status only)."""
    if isinstance(exc, grpc.RpcError):
        code = exc.code().name if hasattr(exc, "code") else "UNKNOWN"
        return f"the coordinator's directory did not answer ({code})"
    return str(exc)


class EnvelopeRouter:
    """Creates relayed channels for jobs and dispatches incoming sealed envelopes to them."""

    def __init__(
        self,
        party: str,
        sealer: Sealer,
        send_sealed: Callable[[bytes], None],
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.party = party
        self._sealer = sealer
        self._send_sealed = send_sealed
        self._timeout = timeout
        self._channels: dict[str, RelayChannel] = {}
        self._services: dict[str, Callable[[Opened], None]] = {}
        self._early: deque[tuple[float, Opened]] = deque()
        self._lock = threading.Lock()

    def channel(self, job_key: str) -> RelayChannel:
        """The channel for ``job_key`` (``"<job id>#<attempt>"``), created on first use."""
        with self._lock:
            channel = self._channels.get(job_key)
            if channel is None:
                channel = self._channels[job_key] = RelayChannel(self, job_key)
                kept: deque[tuple[float, Opened]] = deque()
                for held_at, msg in self._early:
                    if msg.job_key == job_key:
                        channel.inbox.put(msg.sender, msg.topic, msg.payload)
                    else:
                        kept.append((held_at, msg))
                self._early = kept
            return channel

    def serve(self, job_key: str, handler: Callable[[Opened], None]) -> None:
        """Hand every envelope of ``job_key`` to ``handler`` (on the receiving thread).

        For standing services such as scoring, whose requests do not belong to a job
        attempt; ``handler`` must return quickly (queue the work, do not do it).
        """
        with self._lock:
            self._services[job_key] = handler

    def send(self, job_key: str, recipient: str, topic: str, payload: bytes) -> None:
        """Seal and send outside any channel (a service's request or answer).

        Returns once the relay accepted the envelope, which is not yet its delivery.

        Raises
        ------
        node.transport.directory.UnknownParty
            Sealing found no valid certificate for ``recipient`` in the peer directory.
        grpc.RpcError
            The peer directory's refresh, made to seal for a party it did not know yet,
            failed (a node's directory asks the coordinator).
        PartyUnavailable
            The recipient (or the coordinator) is offline.
        RelayRefused
            The coordinator refused the envelope (a rate limit, a stale sender certificate).

        These are ``UNDELIVERED``; anything else raised is a defect.
        """
        self._send(job_key, recipient, topic, payload)

    def answer(self, job_key: str, recipient: str, topic: str, payload: bytes) -> None:
        """``send`` for a standing service's answer, from a worker that has nobody to raise
        to: a failure is logged here, one line when ``UNDELIVERED`` and with its traceback
        for a defect, rather than lost in a pool's future (the asker sees its deadline)."""
        try:
            self._send(job_key, recipient, topic, payload)
        except UNDELIVERED as exc:
            reason = undelivered_reason(exc)
            log.warning("answer %r to %r not delivered: %s", topic, recipient, reason)
        except Exception:
            log.exception("answer %r to %r not delivered", topic, recipient)

    def close_channel(self, job_key: str) -> None:
        with self._lock:
            self._channels.pop(job_key, None)

    def deliver(self, sealed: bytes) -> None:
        """Open an incoming envelope and queue its payload for the job's channel.

        Raises the sealer's error (invalid or replayed envelope) without queuing anything.
        """
        msg = self._sealer.open(sealed)
        with self._lock:
            service = self._services.get(msg.job_key)
            channel = self._channels.get(msg.job_key)
            if service is None and channel is None:
                now = time.monotonic()
                while self._early and (
                    now - self._early[0][0] > EARLY_HOLD_S or len(self._early) >= EARLY_HOLD_MAX
                ):
                    self._early.popleft()
                self._early.append((now, msg))
                return
        if service is not None:
            service(msg)
            return
        assert channel is not None
        channel.inbox.put(msg.sender, msg.topic, msg.payload)

    def party_left(self, job_key: str, party: str, reason: str) -> None:
        with self._lock:
            channel = self._channels.get(job_key)
        if channel is not None:
            channel.inbox.mark_gone(party, reason)

    def fail_all(self, party: str, reason: str) -> None:
        """Mark ``party`` gone in every open channel (e.g. the coordinator connection broke)."""
        with self._lock:
            channels = list(self._channels.values())
        for channel in channels:
            channel.inbox.mark_gone(party, reason)

    def _send(self, job_key: str, recipient: str, topic: str, payload: bytes) -> None:
        sealed = self._sealer.seal(recipient, job_key, topic, payload)
        try:
            self._send_sealed(sealed)
        except RecipientGone as exc:
            raise PartyUnavailable(recipient, exc.reason) from None


class RelayChannel(PartyChannel):
    """A party's channel for one job attempt over the sealed relay."""

    def __init__(self, router: EnvelopeRouter, job_key: str) -> None:
        super().__init__(router.party, job_key)
        self._router = router
        self.inbox = Inbox(router._timeout)

    def send(self, recipient: str, topic: str, payload: bytes) -> None:
        reason = self.inbox.gone(recipient)
        if reason is not None:
            raise PartyUnavailable(recipient, reason)
        self._router._send(self.job_id, recipient, topic, payload)

    def recv(self, sender: str, topic: str, timeout: float | None = None) -> bytes:
        return self.inbox.get(sender, topic, timeout)
