"""Topics, shared steps and failure signalling used by both PSI roles.

See ``docs/protocols/psi.md`` for the message flow these topics carry.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from node.jobs.hooks import JobHooks
from node.psi.exceptions import (
    DuplicateIdsError,
    EmptySetError,
    InvalidIdsError,
    MalformedMessage,
    PsiAborted,
    PsiPolicyError,
    UnknownDatasetError,
)
from node.psi.hashing import SALT_BYTES
from node.psi.result import PsiResult
from node.psi.source import IdChunks
from node.psi.spec import POINT_BYTES
from node.psi.streaming import peer_left
from node.psi.wire import (
    REASONS,
    Kind,
    Status,
    decode_hello,
    decode_start,
    encode_hello,
    encode_start,
    encode_summary,
)
from node.transport.channel import ChannelError, PartyChannel

log = logging.getLogger("fedcredit.psi")

COORDINATOR: Final = "coordinator"
# follower -> leader
TOPIC_HELLO: Final = "psi/hello"
TOPIC_B: Final = "psi/b"  # the follower's set, blinded by the follower
TOPIC_AB: Final = "psi/ab"  # the leader's set, blinded by the leader then the follower
# leader -> follower: one ordered stream (START, leader's blinded set, RESULT, INDEX)
TOPIC_LEADER: Final = "psi/leader"
# first follower -> other followers (cardinality-only mode): the shared shuffle seed
TOPIC_SEED: Final = "psi/seed"
# every party -> coordinator: counts only
TOPIC_SUMMARY: Final = "psi/summary"

POINT_DTYPE: Final = np.dtype(f"S{POINT_BYTES}")
_ZERO: Final = bytes(POINT_BYTES)


def status_for(exc: BaseException) -> Status:
    """The status code a party announces instead of its own error's detail."""
    if isinstance(exc, EmptySetError):
        return Status.EMPTY
    if isinstance(exc, InvalidIdsError):
        return Status.INVALID_IDS
    if isinstance(exc, DuplicateIdsError):
        return Status.DUPLICATE_IDS
    if isinstance(exc, UnknownDatasetError):
        return Status.UNKNOWN_DATASET
    if isinstance(exc, PsiPolicyError):
        return Status.POLICY_DENIED
    return Status.FAILED


def aborted(status: Status, culprit: str) -> PsiAborted:
    """The error a party raises when ``culprit`` announced ``status`` instead of taking part."""
    return PsiAborted(culprit, REASONS.get(status, "it failed"))


def check_abort(payload: bytes, sender: str, topic: str) -> None:
    """Raise ``PsiAborted`` if ``payload`` is a failure notice instead of the expected message.

    Followers signal a failure on their point streams with a non-OK HELLO; the leader on its
    stream with a non-OK START naming the party that caused it.
    """
    if len(payload) < 3 or payload[2] == Status.OK:
        return
    if payload[1] == Kind.HELLO:
        status, _ = decode_hello(payload, sender, topic)
        raise aborted(status, sender)
    if payload[1] == Kind.START:
        status, _, _, culprit = decode_start(payload, sender, topic)
        raise aborted(status, culprit or sender)


def to_points(data: bytes, sender: str, topic: str) -> npt.NDArray[np.bytes_]:
    """View concatenated points as an array; a zero point means the sender sent a bad point."""
    points = np.frombuffer(data, dtype=POINT_DTYPE)
    if np.any(points == np.bytes_(_ZERO)):
        raise MalformedMessage(sender, topic, "a point has small order (not from this protocol)")
    return points


def notify_failure(
    channel: PartyChannel,
    recipients: list[str],
    topics: list[str],
    *,
    leader: bool,
    culprit: str,
    exc: BaseException,
) -> None:
    """Best effort: tell ``recipients`` on ``topics`` that the run ends, then the coordinator."""
    status = status_for(exc)
    if status == Status.OK:
        status = Status.FAILED
    notice = (
        encode_start(status, 0, bytes(SALT_BYTES), culprit) if leader else encode_hello(status, 0)
    )
    for recipient in recipients:
        for topic in topics:
            _try_send(channel, recipient, topic, notice)
    failure: dict[str, Any] = {
        "party": channel.party,
        "status": "failed",
        "reason": type(exc).__name__,
        "culprit": culprit,
    }
    _try_send(channel, COORDINATOR, TOPIC_SUMMARY, encode_summary(failure))
    log.warning("psi run ended at %s: %s", channel.party, type(exc).__name__)


def _try_send(channel: PartyChannel, recipient: str, topic: str, payload: bytes) -> None:
    # The recipient (or this party) may already have left; then there is nothing to tell.
    with contextlib.suppress(ChannelError):
        channel.send(recipient, topic, payload)


class RoleRun(Protocol):
    """One run of a PSI role: what ``run_recorded`` drives."""

    stage: str

    def execute(self, ids: Iterable[object] | IdChunks) -> PsiResult: ...

    def abort(self) -> None: ...


def run_recorded(
    run: RoleRun,
    ids: Iterable[object] | IdChunks,
    channel: PartyChannel,
    hooks: JobHooks,
    peers: Sequence[str],
    *,
    dataset: str,
    id_field: str,
    tell_peers: Callable[[str, BaseException], None],
    left_fallback: str,
) -> PsiResult:
    """Run a role, record the outcome in the access log (sizes only) either way, and on a
    failure clean up, tell the peers who was at fault, and name a party that left.

    ``tell_peers(culprit, exc)`` sends the role's failure notices; ``left_fallback`` is the
    party named when a channel error does not say who left.
    """
    names = {"dataset": dataset, "id_field": id_field, "peers": list(peers)}
    try:
        result = run.execute(ids)
    except BaseException as exc:
        run.abort()
        hooks.record(
            "psi_run",
            {"status": "failed", "error": type(exc).__name__, "stage": run.stage, **names},
        )
        culprit = getattr(exc, "party", None) or getattr(exc, "sender", None) or channel.party
        tell_peers(culprit, exc)
        if isinstance(exc, ChannelError):
            raise peer_left(exc, left_fallback, run.stage) from None
        raise
    hooks.record("psi_run", {**result.summary(), "status": "succeeded", **names})
    return result
