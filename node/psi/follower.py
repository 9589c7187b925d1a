"""The follower role of multi-party ECDH-PSI (every party of the job except the leader).

A follower blinds its own set (in an order only it knows) for the leader, blinds the leader's
blinded set a second time, and receives its own row positions of the intersection in the
shared order. Message flow and what each party learns: ``docs/protocols/psi.md``.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable
from concurrent.futures import Executor, Future

import numpy as np
import numpy.typing as npt

from node.jobs.hooks import JobHooks
from node.psi.exceptions import EmptySetError, MalformedMessage, PsiSpecError
from node.psi.ids import PreparedIds, prepare_ids
from node.psi.protocol import (
    COORDINATOR,
    TOPIC_AB,
    TOPIC_B,
    TOPIC_HELLO,
    TOPIC_LEADER,
    TOPIC_SEED,
    TOPIC_SUMMARY,
    aborted,
    check_abort,
    notify_failure,
    run_recorded,
    to_points,
)
from node.psi.result import PsiResult
from node.psi.source import IdChunks
from node.psi.spec import PsiSpec
from node.psi.streaming import (
    OrderedSender,
    PendingTasks,
    batch_count,
    batch_sizes,
    receive,
)
from node.psi.wire import (
    Status,
    decode_index,
    decode_points,
    decode_result,
    decode_seed,
    decode_start,
    encode_hello,
    encode_points,
    encode_seed,
    encode_summary,
)
from node.psi.workers import InlineExecutor, blind_codes, reblind_points
from node.transport.channel import PartyChannel

log = logging.getLogger("fedcredit.psi.follower")


def run_psi_follower(
    channel: PartyChannel,
    hooks: JobHooks,
    spec: PsiSpec,
    ids: Iterable[object] | IdChunks,
    pool: Executor | None = None,
    *,
    dataset: str = "",
    id_field: str = "",
) -> PsiResult:
    """Run a follower's side of one PSI job and return its rows in the shared order.

    Parameters are those of ``run_psi_leader``; ``channel.party`` must be a follower.

    Raises
    ------
    PsiSpecError
        This channel's party is not a follower of the spec.
    InvalidIdsError, DuplicateIdsError, EmptySetError
        This party's own ids cannot be used (the leader is told, without detail).
    PsiAborted
        The leader, or another follower through it, could not take part.
    PsiPeerLeft
        The leader (or the follower that shares the shuffle seed) left or went silent.
    MalformedMessage
        The leader sent something outside the protocol.
    """
    if channel.party not in spec.followers:
        raise PsiSpecError(
            "job file",
            f"party {channel.party!r} is not a follower of this PSI job",
            key="parties",
            fix="start a follower's part only on a party of the job",
        )
    run = _FollowerRun(channel, hooks, spec, pool or InlineExecutor())

    def tell_leader(culprit: str, exc: BaseException) -> None:
        topics = [TOPIC_B, TOPIC_AB] if run.said_hello else [TOPIC_HELLO]
        notify_failure(channel, [spec.leader], topics, leader=False, culprit=culprit, exc=exc)

    return run_recorded(
        run,
        ids,
        channel,
        hooks,
        [spec.leader],
        dataset=dataset,
        id_field=id_field,
        tell_peers=tell_leader,
        left_fallback=spec.leader,
    )


class _FollowerRun:
    """State of one follower run, so that a failure at any stage can be cleaned up."""

    def __init__(
        self, channel: PartyChannel, hooks: JobHooks, spec: PsiSpec, executor: Executor
    ) -> None:
        self.channel = channel
        self.hooks = hooks
        self.spec = spec
        self.executor = executor
        self.stage = "prepare"
        self.said_hello = False
        self.senders: list[OrderedSender] = []
        self.pending = PendingTasks()

    def abort(self) -> None:
        for sender in self.senders:
            sender.abort()
        self.pending.cancel_all()

    def execute(self, ids: Iterable[object] | IdChunks) -> PsiResult:
        spec, channel, leader = self.spec, self.channel, self.spec.leader
        prepared = prepare_ids(ids, self.executor, strict=spec.strict, id_format=spec.id_format)
        if not len(prepared.codes):
            raise EmptySetError(channel.party)
        n_own = len(prepared.codes)
        channel.send(leader, TOPIC_HELLO, encode_hello(Status.OK, n_own))
        self.said_hello = True
        self.hooks.progress("psi/prepare", 1, 4, {"ids": float(prepared.total)})

        self.stage = "hello"
        start = self._from_leader()
        status, n_lead, salt, culprit = decode_start(start, leader, TOPIC_LEADER)
        if status != Status.OK:
            raise aborted(status, culprit or leader)
        if n_lead == 0:
            raise MalformedMessage(leader, TOPIC_LEADER, "START announces an empty leader set")
        beta = os.urandom(32)  # fresh per job, memory only

        self.stage = "exchange"
        # Our set goes out in an order only we know, so the leader learns nothing from where
        # a match sits in our stream; the index it returns is mapped back through ``order``.
        order = np.random.default_rng(secrets.randbits(128)).permutation(n_own)
        own_sender = OrderedSender("psi-follower-send-b")
        self.senders.append(own_sender)
        n_own_batches = batch_count(n_own, spec.batch_size)
        for i, begin in enumerate(range(0, n_own, spec.batch_size)):
            chunk = prepared.codes[order[begin : begin + spec.batch_size]]
            future = self.executor.submit(blind_codes, salt, beta, chunk)
            self.pending.track(future)
            own_sender.put(future, _Send(channel, leader, TOPIC_B, i, n_own_batches))
        shuffle = self._shuffle_seed() if spec.cardinality_only else None

        n_lead_batches = batch_count(n_lead, spec.batch_size)
        back_sender = OrderedSender("psi-follower-send-ab")
        self.senders.append(back_sender)
        doubled: list[Future[bytes]] = []
        for i, count in enumerate(batch_sizes(n_lead, spec.batch_size)):
            body = decode_points(
                self._from_leader(), leader, TOPIC_LEADER, i, n_lead_batches, count
            )
            future = self.executor.submit(reblind_points, beta, body)
            self.pending.track(future)
            self.hooks.progress("psi/stream", i + 1, n_lead_batches, {})
            if shuffle is None:
                back_sender.put(
                    future, _Checked(leader, _Send(channel, leader, TOPIC_AB, i, n_lead_batches))
                )
            else:
                doubled.append(future)
        if shuffle is not None:
            self._send_shuffled(doubled, shuffle, n_lead_batches)
        own_sender.join()
        back_sender.join()
        self.hooks.progress("psi/exchange", 2, 4, {})

        self.stage = "deliver"
        result = self._receive_result(prepared, order, n_lead)
        channel.send(COORDINATOR, TOPIC_SUMMARY, encode_summary(result.summary()))
        self.hooks.progress("psi/deliver", 4, 4, {"intersection": float(result.size)})
        log.info("psi follower %s: intersection of %d firms", channel.party, result.size)
        return result

    def _from_leader(self) -> bytes:
        payload = receive(
            self.channel, self.spec.leader, TOPIC_LEADER, self.spec.timeout_s, self.stage
        )
        check_abort(payload, self.spec.leader, TOPIC_LEADER)
        return payload

    def _shuffle_seed(self) -> bytes:
        """Cardinality mode: the followers' shared shuffle seed, which the leader never sees.

        The first follower draws it and sends it to the others (sealed end to end by the
        relay), so every follower returns the leader's doubly blinded set in the same
        shuffled order: the leader can still combine matches across followers, but cannot
        tell which of its rows matched.
        """
        first = self.spec.followers[0]
        if self.channel.party == first:
            seed = os.urandom(32)
            for other in self.spec.followers[1:]:
                self.channel.send(other, TOPIC_SEED, encode_seed(seed))
            return seed
        payload = receive(self.channel, first, TOPIC_SEED, self.spec.timeout_s, self.stage)
        return decode_seed(payload, first, TOPIC_SEED)

    def _send_shuffled(self, doubled: list[Future[bytes]], seed: bytes, batches: int) -> None:
        points = to_points(b"".join(f.result() for f in doubled), self.spec.leader, TOPIC_LEADER)
        rng = np.random.default_rng(int.from_bytes(seed, "big"))
        shuffled = points[rng.permutation(len(points))]
        size = self.spec.batch_size
        for i in range(batches):
            body = shuffled[i * size : (i + 1) * size].tobytes()
            self.channel.send(self.spec.leader, TOPIC_AB, encode_points(i, batches, body))

    def _receive_result(
        self, prepared: PreparedIds, order: npt.NDArray[np.int64], n_lead: int
    ) -> PsiResult:
        spec, leader = self.spec, self.spec.leader
        names = spec.sets_of(self.channel.party)
        header = decode_result(self._from_leader(), leader, TOPIC_LEADER, len(names))
        n_own = len(prepared.codes)
        sizes: dict[str, int] = {}
        rows: dict[str, npt.NDArray[np.int64] | None] = {}
        for name, (size, batches) in zip(names, header, strict=True):
            if size > min(n_own, n_lead):
                raise MalformedMessage(leader, TOPIC_LEADER, f"set {name!r} larger than a party")
            sizes[name] = size
            if spec.cardinality_only:
                if batches:
                    raise MalformedMessage(leader, TOPIC_LEADER, "index sent in cardinality mode")
                rows[name] = None
                continue
            if batches != batch_count(size, spec.batch_size):
                raise MalformedMessage(leader, TOPIC_LEADER, f"set {name!r} batch count")
            parts = [
                decode_index(self._from_leader(), leader, TOPIC_LEADER, b, batches, count, n_own)
                for b, count in enumerate(batch_sizes(size, spec.batch_size))
            ]
            positions = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
            if len(np.unique(positions)) != len(positions):
                raise MalformedMessage(leader, TOPIC_LEADER, f"set {name!r} repeats a row")
            local = prepared.rows[order[positions]]
            local.flags.writeable = False
            rows[name] = local
        subsets = [n for n in names if n != "required"]
        return PsiResult(
            party=self.channel.party,
            role="follower",
            cardinality_only=spec.cardinality_only,
            size=sizes.get("required", 0),
            rows=rows.get("required"),
            subsets={n: rows[n] for n in subsets},
            subset_sizes={n: sizes[n] for n in subsets},
            set_sizes={self.channel.party: n_own, leader: n_lead},
            n_input=prepared.total,
            invalid_rows=prepared.invalid,
        )


class _Send:
    """Sends one batch of points to one party under one topic."""

    def __init__(
        self, channel: PartyChannel, recipient: str, topic: str, batch: int, batches: int
    ) -> None:
        self.channel, self.recipient, self.topic = channel, recipient, topic
        self.batch, self.batches = batch, batches

    def __call__(self, points: bytes) -> None:
        self.channel.send(
            self.recipient, self.topic, encode_points(self.batch, self.batches, points)
        )


class _Checked:
    """Refuses to send back a batch in which a point from ``sender`` had small order."""

    def __init__(self, sender: str, then: _Send) -> None:
        self.sender, self.then = sender, then

    def __call__(self, points: bytes) -> None:
        to_points(points, self.sender, TOPIC_LEADER)
        self.then(points)
