"""The bank's side of the sealed request/answer exchange with each holder.

One dispatcher thread per holder keeps the bank's requests moving over the node's one
coordinator connection: whatever callers queued while the previous envelope was being sent
goes out together in the next one, so at one request at a time each decision is one envelope
each way, and under load many decisions share an envelope (fewer seals, relay hops and
access-log entries), which also keeps the bank far below the coordinator's per-certificate
envelope rate at any load. Answers are matched by batch id; a caller waits at most its
deadline, and a late answer is dropped. An entry whose answer never comes is dropped after
``ANSWER_WAIT_S`` (longer than any decision policy's deadline), and at most
``MAX_WAITING`` entries are kept, oldest dropped first, so a silent holder cannot grow the
bank's memory.

A holder is looked up in the peer directory before its dispatcher starts, so a name no party
holds is refused at ``submit`` (``UnknownParty``) and never gets a thread. A failed delivery
(the holder or the coordinator offline, an envelope the coordinator refused, a holder that
left the directory since) is one log line and the gap ``offline`` for its callers at once;
nothing is resent here: each caller decides whether to try again (a decision goes on with
the gap, a monitoring refresh is tried again at the next check).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from node.scoring import wire
from node.scoring.answers import Answer, MalformedAnswer
from node.transport.relay_channel import (
    UNDELIVERED,
    EnvelopeRouter,
    Opened,
    undelivered_reason,
)

log = logging.getLogger("fedcredit.scoring.client")

MAX_BATCH = 5000
# Longer than the largest deadline a decision policy may set (60 s) and the records ack wait.
ANSWER_WAIT_S = 90.0
MAX_WAITING = 10_000


@dataclass
class Pending:
    """One caller's items for one holder; ``answers`` filled when the holder replied."""

    topic: str
    body: dict[str, Any]
    size: int
    done: threading.Event = field(default_factory=threading.Event)
    answer: Any = None  # an ``Answer`` for score requests, the JSON answer otherwise
    failure: str = ""  # "offline" when the envelope could not be delivered


class _Outbox:
    """Queue and sender thread of one holder."""

    def __init__(self, client: PartnerClient, holder: str) -> None:
        self.holder = holder
        self.ended = False  # the thread stopped on a defect: the client starts another
        self._client = client
        self._queue: deque[Pending] = deque()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"score-{holder}", daemon=True)
        self._thread.start()
        log.info("dispatcher for holder %s started", holder)

    def put(self, pending: Pending) -> bool:
        """Queue ``pending``; False (not queued) once this dispatcher has ended."""
        with self._cond:
            if self.ended:
                return False
            self._queue.append(pending)
            self._cond.notify()
            return True

    def _run(self) -> None:
        batch: list[Pending] = []
        handed: list[Pending] = []  # the items of ``batch`` already given to ``_deliver``
        try:
            while not self._client.closed:
                with self._cond:
                    while not self._queue and not self._client.closed:
                        self._cond.wait(0.5)
                    batch = []
                    handed = []
                    size = 0
                    while self._queue and (not batch or size + self._queue[0].size <= MAX_BATCH):
                        if batch and self._queue[0].topic != batch[0].topic:
                            break
                        item = self._queue.popleft()
                        batch.append(item)
                        size += item.size
                if batch:
                    self._client._send_batch(self.holder, batch, handed)
        except BaseException:
            # a defect, not a failed delivery (those are gaps, see ``_deliver``): its traceback
            # is logged, the callers it strands get the gap now rather than at their deadline,
            # and the holder's next request starts a new dispatcher. What was handed to
            # ``_deliver`` is settled there (sent and waiting for its answer, or failed).
            with self._cond:
                self.ended = True
                sent = {id(p) for p in handed}
                stranded = [*(p for p in batch if id(p) not in sent), *self._queue]
                self._queue.clear()
            self._client._fail(stranded, "offline")
            log.exception("dispatcher for holder %s stopped on a defect", self.holder)


class PartnerClient:
    """Sends scoring and records messages to holders and hands answers back."""

    def __init__(
        self,
        router: EnvelopeRouter,
        resolve: Callable[[str], object],
        *,
        wait_s: float = ANSWER_WAIT_S,
        max_waiting: int = MAX_WAITING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._router = router
        self._resolve = resolve  # the peer directory's lookup: raises UnknownParty
        self._outboxes: dict[str, _Outbox] = {}
        # message id -> (items, offsets, expiry), oldest first
        self._waiting: OrderedDict[str, tuple[list[Pending], list[int], float]] = OrderedDict()
        self._wait_s = wait_s
        self._max_waiting = max_waiting
        self._clock = clock
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._prefix = uuid.uuid4().hex[:8]
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def check(self, holders: Iterable[str]) -> None:
        """Refuse ``holders`` unless each is one this client sends to already or one the peer
        directory knows, so a caller refuses a bogus name before it files anything.

        A holder sent to before stays accepted after it left the directory: its sends fail
        as ``offline``, as they did (a revocation still reaches the bank's own store).

        Raises
        ------
        node.transport.directory.UnknownParty
            The first holder that is neither.
        """
        for holder in holders:
            with self._lock:
                known = holder in self._outboxes
            if not known:
                self._resolve(holder)  # outside the lock: a miss may wait for a refresh

    def _outbox(self, holder: str) -> _Outbox:
        self.check([holder])
        with self._lock:
            box = self._outboxes.get(holder)
            if box is None or box.ended:
                box = self._outboxes[holder] = _Outbox(self, holder)
            return box

    def submit(self, holder: str, topic: str, body: dict[str, Any], size: int) -> Pending:
        """Queue ``body`` (a score request's model/job/refs/firms, or records) for ``holder``.

        Raises
        ------
        node.transport.directory.UnknownParty
            ``holder`` is not a party (see ``check``); nothing is queued.
        """
        pending = Pending(topic, body, size)
        while not self._outbox(holder).put(pending):
            pass  # its dispatcher ended on a defect just now: the next lookup starts another
        return pending

    def _send_batch(self, holder: str, batch: Sequence[Pending], handed: list[Pending]) -> None:
        """Send ``batch`` in as few envelopes as its topic allows; each envelope's items are
        added to ``handed`` as they go to ``_deliver``, so a defect partway through fails
        only what was not sent."""
        batch_id = f"{self._prefix}-{next(self._ids)}"
        first = batch[0]
        if first.topic == wire.SCORE:
            groups: dict[tuple[str, str], list[Pending]] = {}
            for p in batch:
                groups.setdefault((p.body["model"], p.body["job"]), []).append(p)
            for n, ((model, job), items) in enumerate(groups.items()):
                message = {
                    "id": f"{batch_id}.{n}",
                    "model": model,
                    "job": job,
                    "refs": [r for p in items for r in p.body["refs"]],
                    "firms": [f for p in items for f in p.body["firms"]],
                }
                handed.extend(items)
                self._deliver(holder, wire.SCORE, message, items)
        else:
            for n, p in enumerate(batch):
                handed.append(p)
                self._deliver(holder, first.topic, {"id": f"{batch_id}.{n}", **p.body}, [p])

    def _deliver(
        self, holder: str, topic: str, message: dict[str, Any], items: list[Pending]
    ) -> None:
        """Send one envelope; ``items`` wait for its answer, or get the gap ``offline`` now.

        Raises
        ------
        BaseException
            A defect in sending (anything but a failed delivery), after its items got the
            gap and its entry was dropped, so nothing waits on an envelope never sent.
        """
        offsets = list(itertools.accumulate((p.size for p in items), initial=0))
        now = self._clock()
        with self._lock:
            self._purge(now)
            self._waiting[message["id"]] = (items, offsets, now + self._wait_s)
        try:
            self._router.send(wire.JOB_KEY, holder, topic, wire.encode(message))
        except UNDELIVERED as exc:
            # what delivery meets: the holder or the coordinator offline, a refused envelope,
            # a holder that left the directory, or the directory's refresh failing
            self._withdraw(message["id"])
            log.info("%s not sent to %s: %s", topic, holder, undelivered_reason(exc))
        except BaseException:
            self._withdraw(message["id"])
            raise

    def _withdraw(self, message_id: str) -> None:
        """Drop the entry of an envelope not sent; its items get the gap ``offline`` unless
        it was answered or dropped already."""
        with self._lock:
            entry = self._waiting.pop(message_id, None)
            if entry is not None:
                self._settle(entry[0], "offline")

    def _fail(self, items: Iterable[Pending], failure: str) -> None:
        """Give ``failure`` to the items still unanswered."""
        with self._lock:
            self._settle(items, failure)

    @staticmethod
    def _settle(items: Iterable[Pending], failure: str) -> None:
        """``_fail`` for a caller that holds the lock: an item's outcome is only ever set
        under it, so an answer and a failure never overwrite each other."""
        for p in items:
            if not p.done.is_set():
                p.failure = failure
                p.done.set()

    def _purge(self, now: float) -> None:
        """Drop entries past their expiry or beyond ``max_waiting`` (caller holds the lock).

        Their callers gave up long ago (a deadline is shorter than the expiry); anyone still
        waiting on a dropped entry sees the gap ``deadline``.
        """
        while self._waiting:
            key, (items, _, expiry) = next(iter(self._waiting.items()))
            if expiry > now and len(self._waiting) < self._max_waiting:
                return
            del self._waiting[key]
            self._settle(items, "deadline")

    def waiting(self) -> int:
        """Messages sent whose answer has not come (bounded by ``max_waiting``)."""
        with self._lock:
            self._purge(self._clock())
            return len(self._waiting)

    def handle(self, msg: Opened) -> None:
        """The router's handler for answers (on the stream thread: cheap work only).

        A score answer (columns, ``node.scoring.answers``) is split back by rows to the
        callers whose requests shared its envelope; other answers (JSON) go whole to theirs.
        """
        answer: Answer | dict[str, Any]
        try:
            if msg.topic == wire.SCORED:
                answer = Answer.from_bytes(msg.payload)
                answer_id = str(answer.header.get("id", ""))
            else:
                answer = wire.decode(msg.payload, ("id",))
                answer_id = str(answer["id"])
        except (wire.MalformedMessage, MalformedAnswer) as exc:
            log.warning("malformed answer from %s: %s", msg.sender, exc)
            return
        with self._lock:
            waiting = self._waiting.pop(answer_id, None)
            if waiting is None:
                return  # late (the caller gave up) or unknown
            items, offsets, _ = waiting
            if isinstance(answer, Answer) and not answer.error and len(answer) != offsets[-1]:
                log.warning("answer from %s does not fit its request; dropped", msg.sender)
                answer = Answer.failed(answer_id, "malformed: answer does not fit its request")
            for p, start, end in zip(items, offsets, offsets[1:], strict=False):
                if not p.done.is_set():
                    p.answer = answer.rows(start, end) if isinstance(answer, Answer) else answer
                    p.done.set()

    @staticmethod
    def wait(pending: Pending, deadline: float) -> str:
        """Wait until ``deadline`` (monotonic); return "" when answered, else the gap kind."""
        if pending.done.wait(max(0.0, deadline - time.monotonic())):
            return pending.failure
        return "deadline"
