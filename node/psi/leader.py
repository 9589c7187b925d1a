"""The leader (label holder) role of multi-party ECDH-PSI.

The leader aligns with every follower pairwise, combines the pairwise matches into the
"all required" intersection (and the optional subsets), shuffles it into the shared order and
delivers each follower its own row positions in that order. Message flow and what each
party learns: ``docs/protocols/psi.md``.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future

import numpy as np
import numpy.typing as npt

from node.jobs.hooks import JobHooks
from node.psi.exceptions import EmptySetError, MalformedMessage, PsiSpecError
from node.psi.hashing import SALT_BYTES
from node.psi.ids import PreparedIds, prepare_ids
from node.psi.protocol import (
    COORDINATOR,
    TOPIC_AB,
    TOPIC_B,
    TOPIC_HELLO,
    TOPIC_LEADER,
    TOPIC_SUMMARY,
    aborted,
    check_abort,
    notify_failure,
    run_recorded,
    to_points,
)
from node.psi.result import PsiResult
from node.psi.scalars import invertible_scalar
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
    decode_hello,
    decode_points,
    encode_index,
    encode_points,
    encode_result,
    encode_start,
    encode_summary,
)
from node.psi.workers import InlineExecutor, blind_codes, reblind_points, unblind_points
from node.transport.channel import PartyChannel

log = logging.getLogger("fedcredit.psi.leader")


def run_psi_leader(
    channel: PartyChannel,
    hooks: JobHooks,
    spec: PsiSpec,
    ids: Iterable[object] | IdChunks,
    pool: Executor | None = None,
    *,
    dataset: str = "",
    id_field: str = "",
) -> PsiResult:
    """Run the leader's side of one PSI job and return its rows in the shared order.

    Parameters
    ----------
    channel
        This party's channel; ``channel.party`` must be ``spec.leader``.
    hooks
        Progress and the ``psi_run`` access-log record (sizes only).
    spec
        The job's PSI settings, identical at every party.
    ids
        The dataset's id column, in row order (unified social credit codes), or
        ``IdChunks`` reading it lazily from a file (``node.psi.source``).
    pool
        Worker processes for the per-row crypto; ``None`` runs it in this thread.
    dataset, id_field
        Names only, for the access-log record.

    Raises
    ------
    PsiSpecError
        This channel's party is not the spec's leader.
    InvalidIdsError, DuplicateIdsError, EmptySetError
        This party's own ids cannot be used (the followers are told, without detail).
    PsiAborted
        A follower could not take part.
    PsiPeerLeft
        A follower left or went silent.
    MalformedMessage
        A follower sent something outside the protocol.
    """
    if channel.party != spec.leader:
        raise PsiSpecError(
            "job file",
            f"party {channel.party!r} runs the leader role but the leader is {spec.leader!r}",
            key="psi.leader",
            fix="start the leader's part on the leader",
        )
    run = _LeaderRun(channel, hooks, spec, pool or InlineExecutor())

    def tell_followers(culprit: str, exc: BaseException) -> None:
        followers = list(spec.followers)
        notify_failure(channel, followers, [TOPIC_LEADER], leader=True, culprit=culprit, exc=exc)

    return run_recorded(
        run,
        ids,
        channel,
        hooks,
        list(spec.followers),
        dataset=dataset,
        id_field=id_field,
        tell_peers=tell_followers,
        left_fallback=channel.party,
    )


class _LeaderRun:
    """State of one leader run, so that a failure at any stage can be cleaned up."""

    def __init__(
        self, channel: PartyChannel, hooks: JobHooks, spec: PsiSpec, executor: Executor
    ) -> None:
        self.channel = channel
        self.hooks = hooks
        self.spec = spec
        self.executor = executor
        self.stage = "prepare"
        self.sender: OrderedSender | None = None
        self.pending = PendingTasks()
        self.received = 0
        self.expected = 0

    def abort(self) -> None:
        if self.sender is not None:
            self.sender.abort()
        self.pending.cancel_all()

    def execute(self, ids: Iterable[object] | IdChunks) -> PsiResult:
        spec, channel = self.spec, self.channel
        prepared = prepare_ids(ids, self.executor, strict=spec.strict, id_format=spec.id_format)
        if not len(prepared.codes):
            raise EmptySetError(channel.party)
        n_lead = len(prepared.codes)
        # Fresh per job, memory only; the two inverses remove alpha again (see node.psi.scalars).
        salt = os.urandom(SALT_BYTES)
        alpha, curve_inverse, twist_inverse = invertible_scalar()
        self.hooks.progress("psi/prepare", 1, 4, {"ids": float(prepared.total)})

        # Blind our set while the followers prepare; send nothing before all said hello.
        gate = threading.Event()
        self.sender = OrderedSender("psi-leader-send", gate)
        n_batches = batch_count(n_lead, spec.batch_size)
        for i, start in enumerate(range(0, n_lead, spec.batch_size)):
            chunk = prepared.codes[start : start + spec.batch_size]
            future = self.executor.submit(blind_codes, salt, alpha, chunk)
            self.pending.track(future)
            self.sender.put(future, self._broadcaster(i, n_batches))

        self.stage = "hello"
        sizes = {channel.party: n_lead}
        for follower in spec.followers:
            payload = receive(channel, follower, TOPIC_HELLO, spec.timeout_s, self.stage)
            status, n_follow = decode_hello(payload, follower, TOPIC_HELLO)
            if status != Status.OK:
                raise aborted(status, follower)
            if n_follow == 0:
                raise MalformedMessage(follower, TOPIC_HELLO, "status OK with an empty set")
            sizes[follower] = n_follow
        for follower in spec.followers:
            channel.send(follower, TOPIC_LEADER, encode_start(Status.OK, n_lead, salt))
        gate.set()

        self.stage = "exchange"
        # Per follower, compare in whichever blinding is cheaper to reach: strip our scalar
        # from our doubly blinded set (one ladder per id of ours), or add it to theirs (one
        # per id of theirs). Either way the comparison is exact and we learn the same.
        strip = {f: sizes[f] > n_lead for f in spec.followers}
        self.expected = sum(sizes[f] + n_lead for f in spec.followers)
        theirs: dict[str, list[Future[bytes]]] = {}
        for follower in spec.followers:
            theirs[follower] = []
            for i, count in enumerate(batch_sizes(sizes[follower], spec.batch_size)):
                body = self._recv_points(follower, TOPIC_B, i, sizes[follower], count)
                if strip[follower]:
                    theirs[follower].append(_done(body))
                    continue
                future = self.executor.submit(reblind_points, alpha, body)
                self.pending.track(future)
                theirs[follower].append(future)
        ours: dict[str, list[Future[bytes]]] = {}
        for follower in spec.followers:
            ours[follower] = []
            for i, count in enumerate(batch_sizes(n_lead, spec.batch_size)):
                body = self._recv_points(follower, TOPIC_AB, i, n_lead, count)
                if strip[follower]:
                    future = self.executor.submit(
                        unblind_points, curve_inverse, twist_inverse, body
                    )
                    self.pending.track(future)
                else:
                    future = _done(body)
                ours[follower].append(future)
        self.sender.join()
        self.hooks.progress("psi/exchange", 2, 4, {})

        self.stage = "match"
        matches = {
            follower: _match(
                to_points(b"".join(f.result() for f in ours[follower]), follower, TOPIC_AB),
                (to_points(f.result(), follower, TOPIC_B) for f in _drain(theirs[follower])),
            )
            for follower in spec.followers
        }
        self.hooks.progress("psi/match", 3, 4, {})

        self.stage = "deliver"
        return self._deliver(prepared, sizes, matches)

    def _broadcaster(self, batch: int, batches: int) -> _Broadcast:
        return _Broadcast(self.channel, self.spec.followers, batch, batches)

    def _recv_points(self, sender: str, topic: str, batch: int, n: int, count: int) -> bytes:
        payload = receive(self.channel, sender, topic, self.spec.timeout_s, self.stage)
        check_abort(payload, sender, topic)
        body = decode_points(
            payload, sender, topic, batch, batch_count(n, self.spec.batch_size), count
        )
        self.received += count
        # Points received so far of all the followers' streams: a progress bar for long runs.
        self.hooks.progress("psi/stream", self.received, self.expected, {})
        return body

    def _deliver(
        self,
        prepared: PreparedIds,
        sizes: dict[str, int],
        matches: dict[str, npt.NDArray[np.int64]],
    ) -> PsiResult:
        spec, channel = self.spec, self.channel
        rng = np.random.default_rng(secrets.randbits(128))
        selected: dict[str, npt.NDArray[np.int64]] = {}
        for name in spec.set_names:
            hit = np.ones(len(prepared.codes), dtype=bool)
            for member in spec.set_members(name):
                hit &= matches[member] >= 0
            rows = np.flatnonzero(hit)
            # The shared order is a fresh random permutation: it reveals nothing about any
            # party's row order. In cardinality mode the positions are shuffled by the
            # followers and mean nothing to us; only the count is used.
            selected[name] = rows[rng.permutation(len(rows))]
        for follower in spec.followers:
            names = spec.sets_of(follower)
            counts = [len(selected[n]) for n in names]
            if spec.cardinality_only:
                channel.send(follower, TOPIC_LEADER, encode_result([(c, 0) for c in counts]))
                continue
            header = [(c, batch_count(c, spec.batch_size)) for c in counts]
            channel.send(follower, TOPIC_LEADER, encode_result(header))
            for name, (_, batches) in zip(names, header, strict=True):
                positions = matches[follower][selected[name]]
                for b in range(batches):
                    part = positions[b * spec.batch_size : (b + 1) * spec.batch_size]
                    channel.send(follower, TOPIC_LEADER, encode_index(b, batches, part))

        def local(name: str) -> npt.NDArray[np.int64] | None:
            if spec.cardinality_only:
                return None
            rows = prepared.rows[selected[name]]
            rows.flags.writeable = False
            return rows

        subsets = list(spec.subsets)
        result = PsiResult(
            party=channel.party,
            role="leader",
            cardinality_only=spec.cardinality_only,
            size=len(selected["required"]),
            rows=local("required"),
            subsets={n: local(n) for n in subsets},
            subset_sizes={n: len(selected[n]) for n in subsets},
            set_sizes=sizes,
            n_input=prepared.total,
            invalid_rows=prepared.invalid,
        )
        channel.send(COORDINATOR, TOPIC_SUMMARY, encode_summary(result.summary()))
        self.hooks.progress("psi/deliver", 4, 4, {"intersection": float(result.size)})
        log.info("psi leader %s: intersection of %d firms", channel.party, result.size)
        return result


class _Broadcast:
    """Sends one blinded batch of the leader's set to every follower."""

    def __init__(
        self, channel: PartyChannel, followers: tuple[str, ...], batch: int, batches: int
    ) -> None:
        self.channel, self.followers = channel, followers
        self.batch, self.batches = batch, batches

    def __call__(self, points: bytes) -> None:
        payload = encode_points(self.batch, self.batches, points)
        for follower in self.followers:
            self.channel.send(follower, TOPIC_LEADER, payload)


def _done(value: bytes) -> Future[bytes]:
    future: Future[bytes] = Future()
    future.set_result(value)
    return future


def _drain(futures: list[Future[bytes]]) -> Iterator[Future[bytes]]:
    """Yield the futures in order, dropping each from the list so its result can be freed."""
    for i, future in enumerate(futures):
        futures[i] = _done(b"")
        yield future


def _match(
    ours: npt.NDArray[np.bytes_], theirs: Iterable[npt.NDArray[np.bytes_]]
) -> npt.NDArray[np.int64]:
    """For each of our points, its position in the stream ``theirs`` (same blinding), or -1.

    Our points are sorted once and each batch of theirs is looked up as it comes, so the
    follower's (possibly much larger) set is never held sorted or in one piece.
    """
    positions = np.full(len(ours), -1, dtype=np.int64)
    order = np.argsort(ours)
    ranked = ours[order]
    offset = 0
    for batch in theirs:
        at = np.minimum(np.searchsorted(ranked, batch), len(ranked) - 1)
        hit = np.flatnonzero(ranked[at] == batch)
        positions[order[at[hit]]] = offset + hit
        offset += len(batch)
    return positions
