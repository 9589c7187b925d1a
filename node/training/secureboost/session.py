"""Messaging for one party of a SecureBoost job: topics, bounded waits, departures, rejoining.

Every wait is bounded by the job's ``timeout_s`` and watches the other parties for an abort
notice, so a failure anywhere stops everyone promptly. Two kinds of ending are told apart:

- a party **failed** (its code raised, or sent something malformed): it says so
  (``{"failed": party, "left": false}``) and the job fails, naming it;
- a party **left** (its process or connection died; the coordinator tells the others, or a peer
  passes it on with ``"left": true``): the attempt cannot go on, but the job is not lost. Every
  remaining party keeps its checkpoints and holds the attempt (``await_rejoin``) until the
  coordinator replaces it with a new one — which it does when the party reconnects — or gives
  up after ``rejoin_wait_s``, failing the job with a message naming the absent party.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import NoReturn, TypeVar

from node.training.secureboost.spec import COORDINATOR
from node.training.vertical import wire
from node.training.vertical.exceptions import MalformedMessage, PartyFailed
from node.transport.channel import ChannelError, ChannelTimeout, PartyChannel, PartyUnavailable

log = logging.getLogger("fedcredit.training.secureboost")

ABORT = "sb/abort"
_IDLE = "sb/idle"  # never sent: waiting on it only watches for departures
_SLICE_S = 0.25
_R = TypeVar("_R")


class PartyLeft(PartyFailed):
    """A data party disconnected mid-training; the attempt waits for it to come back."""

    def __init__(self, party: str, stage: str) -> None:
        super().__init__(party, stage, "left the job")


def topic(*parts: object) -> str:
    """``sb/<part>/<part>...`` e.g. ``topic("t3", "d2", "hist")``."""
    return "/".join(["sb", *(str(p) for p in parts)])


class Session:
    """One party's messaging: sends, bounded receives, abort and departure handling."""

    def __init__(self, channel: PartyChannel, peers: Iterable[str], timeout_s: float) -> None:
        self.channel = channel
        self.me = channel.party
        self.peers = tuple(p for p in peers if p != channel.party)
        self.timeout_s = timeout_s
        self.bytes_sent = 0
        self.messages_sent = 0

    def send(self, recipient: str, name: str, payload: bytes, stage: str) -> None:
        """Send ``payload``; a recipient that is gone ends the attempt (see the module doc)."""
        try:
            self.channel.send(recipient, name, payload)
        except PartyUnavailable as exc:
            self._departed(exc.party, stage)
        except ChannelError as exc:
            raise PartyFailed(recipient, stage, type(exc).__name__) from None
        self.bytes_sent += len(payload)
        self.messages_sent += 1

    def recv(self, sender: str, name: str, stage: str) -> bytes:
        """Wait for ``name`` from ``sender``, watching every other peer.

        Raises
        ------
        PartyLeft
            A data party disconnected (directly seen, or passed on by a peer).
        PartyFailed
            A party failed, the coordinator left, or ``sender`` stayed silent for
            ``timeout_s``.
        """
        deadline = time.monotonic() + self.timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.abort(sender, left=False)
                raise PartyFailed(sender, stage, f"no message for {self.timeout_s:g} s")
            try:
                return self.channel.recv(sender, name, timeout=min(_SLICE_S, remaining))
            except ChannelTimeout:
                pass
            except PartyUnavailable as exc:
                self._departed(exc.party, stage)
            self._check_aborts(stage)

    def _departed(self, party: str, stage: str) -> NoReturn:
        # a peer that failed says so before the coordinator reports it gone: prefer its word
        self._check_aborts(stage)
        if party == COORDINATOR:
            raise PartyFailed(party, stage, "left the job")
        self.abort(party, left=True)
        raise PartyLeft(party, stage)

    def _check_aborts(self, stage: str) -> None:
        for peer in self.peers:
            try:
                blob = self.channel.recv(peer, ABORT, timeout=0)
            except ChannelTimeout:
                continue
            except PartyUnavailable:
                if peer == COORDINATOR:
                    raise PartyFailed(peer, stage, "left the job") from None
                continue  # handled as a departure when it is waited on
            failed, left = peer, False
            try:
                obj = wire.decode_json(blob, peer, ABORT, {"failed", "left"})
                if isinstance(obj["failed"], str) and obj["failed"]:
                    failed, left = obj["failed"], obj["left"] is True
            except Exception:  # an unreadable notice still means: stop now
                log.warning("unreadable abort notice from %s", peer)
            if left and failed != COORDINATOR:
                raise PartyLeft(failed, stage)
            raise PartyFailed(failed, stage, f"reported by {peer}")

    def abort(self, failed: str, left: bool) -> None:
        """Tell every still-reachable peer that ``failed`` failed (or left); never raises.

        A party named as failed hears it too (it sent something malformed, say, and would
        otherwise wait for an answer until its timeout); one that left cannot.
        """
        log.warning(
            "secureboost job %s: %s %s", self.channel.job_id, failed, "left" if left else "failed"
        )
        payload = wire.encode_json({"failed": failed, "left": left})
        for peer in self.peers:
            if left and peer == failed:
                continue
            try:
                self.channel.send(peer, ABORT, payload)
            except ChannelError:
                continue

    def guard(self, body: Callable[[], _R], rejoin_wait_s: float) -> _R:
        """Run a role's ``body``: a departure holds the attempt (``await_rejoin``); any other
        failure is told to the others (naming the sender of a malformed message, else this
        party) and raised."""
        try:
            return body()
        except PartyLeft as gone:
            self.await_rejoin(gone, rejoin_wait_s)
        except PartyFailed:
            raise
        except MalformedMessage as exc:
            self.abort(exc.sender, left=False)
            raise
        except Exception:
            self.abort(self.me, left=False)
            raise

    def await_rejoin(self, gone: PartyLeft, rejoin_wait_s: float) -> NoReturn:
        """Hold the attempt until the coordinator replaces it, or ``rejoin_wait_s`` pass.

        Raises
        ------
        PartyFailed
            Always: "superseded" when a new attempt took over (the coordinator ignores the
            report of a replaced attempt), or naming the absent party when time ran out.
        """
        log.info(
            "secureboost job %s: holding the attempt for up to %g s until %s returns",
            self.channel.job_id,
            rejoin_wait_s,
            gone.party,
        )
        deadline = time.monotonic() + rejoin_wait_s
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                self.channel.recv(COORDINATOR, _IDLE, timeout=min(_SLICE_S, remaining))
            except ChannelTimeout:
                continue
            except PartyUnavailable:
                raise PartyFailed(gone.party, gone.stage, "attempt superseded") from None
        raise PartyFailed(
            gone.party, gone.stage, f"left and did not come back within {rejoin_wait_s:g} s"
        )
