"""Messaging for one party of a vertical job: topics, bounded waits, and clean aborts.

Every wait is bounded by the job's ``timeout_s``. While a party waits for one sender, it also
watches the others: a party that hits a failure sends ``vlr/abort`` naming the party that
failed (a party name only) to everyone, so every run ends with ``PartyFailed`` naming the
party that actually left — not whichever peer happened to be waited on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from node.training.vertical import wire
from node.training.vertical.exceptions import PartyFailed
from node.transport.channel import ChannelError, ChannelTimeout, PartyChannel, PartyUnavailable

log = logging.getLogger("fedcredit.training.vertical")

ABORT = "vlr/abort"
_SLICE_S = 0.25


def topic(*parts: object) -> str:
    """``vlr/<part>/<part>...`` e.g. ``topic("e3", "b7", "u")``."""
    return "/".join(["vlr", *(str(p) for p in parts)])


class Session:
    """One party's messaging for the job: sends, bounded receives, abort propagation."""

    def __init__(self, channel: PartyChannel, peers: Iterable[str], timeout_s: float) -> None:
        self.channel = channel
        self.me = channel.party
        self.peers = tuple(p for p in peers if p != channel.party)
        self.timeout_s = timeout_s
        self.bytes_sent = 0
        self.messages_sent = 0

    def send(self, recipient: str, name: str, payload: bytes, stage: str) -> None:
        """Send ``payload``; a recipient that is gone ends the run with ``PartyFailed``."""
        try:
            self.channel.send(recipient, name, payload)
        except PartyUnavailable as exc:
            self.abort(exc.party, stage)
            raise PartyFailed(exc.party, stage, "left the job") from None
        except ChannelError as exc:
            self.abort(recipient, stage)
            raise PartyFailed(recipient, stage, type(exc).__name__) from None
        self.bytes_sent += len(payload)
        self.messages_sent += 1

    def recv(self, sender: str, name: str, stage: str) -> bytes:
        """Wait for ``name`` from ``sender``, watching every other peer for an abort.

        Raises
        ------
        PartyFailed
            The sender left or stayed silent for ``timeout_s``, or another party reported a
            failure (the error then names the party that failed).
        """
        deadline = time.monotonic() + self.timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.abort(sender, stage)
                raise PartyFailed(sender, stage, f"no message for {self.timeout_s:g} s")
            try:
                return self.channel.recv(sender, name, timeout=min(_SLICE_S, remaining))
            except ChannelTimeout:
                pass
            except PartyUnavailable as exc:
                self.abort(exc.party, stage)
                raise PartyFailed(exc.party, stage, "left the job") from None
            self._check_aborts(stage)

    def _check_aborts(self, stage: str) -> None:
        for peer in self.peers:
            try:
                blob = self.channel.recv(peer, ABORT, timeout=0)
            except ChannelTimeout:
                continue
            except PartyUnavailable:
                self.abort(peer, stage)
                raise PartyFailed(peer, stage, "left the job") from None
            failed = peer
            try:
                obj = wire.decode_json(blob, peer, ABORT, {"failed"})
                if isinstance(obj["failed"], str) and obj["failed"]:
                    failed = obj["failed"]
            except Exception:  # an unreadable abort still means: stop now
                log.warning("unreadable abort notice from %s", peer)
            raise PartyFailed(failed, stage, f"reported by {peer}")

    def abort(self, failed: str, stage: str) -> None:
        """Tell every still-reachable peer that ``failed`` failed; never raises."""
        log.warning("vertical job %s: %s failed during %s", self.channel.job_id, failed, stage)
        payload = wire.encode_json({"failed": failed})
        for peer in self.peers:
            if peer == failed:
                continue
            try:
                self.channel.send(peer, ABORT, payload)
            except ChannelError:
                continue
