"""Per-node downstream queues: the relay the coordinator routes sealed envelopes through.

Each node holds one ``Subscribe`` stream; everything addressed to it (sealed envelopes, task
assignments, departures of other parties) is queued here and drained by that stream. A node
with no open stream is offline: sending to it fails at once, so the sender's protocol sees the
departure instead of waiting on a message that will never be read.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable

from protos.fedcredit.v1 import coordinator_pb2 as pb

log = logging.getLogger("fedcredit.coordinator.relay")

# Bounded so a node that stops reading cannot make the coordinator buffer without limit.
MAX_QUEUED_EVENTS = 10_000


class RecipientOffline(Exception):
    """The recipient has no open stream (never connected, disconnected, or fell too far behind)."""

    def __init__(self, node_id: str, reason: str = "is not connected") -> None:
        super().__init__(f"node {node_id!r} {reason}")
        self.node_id = node_id


class Subscription:
    """One open ``Subscribe`` stream of a node."""

    _CLOSED = object()

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self._queue: queue.Queue[object] = queue.Queue(MAX_QUEUED_EVENTS)
        self.closed = threading.Event()

    def put(self, event: pb.NodeEvent) -> None:
        if self.closed.is_set():
            raise RecipientOffline(self.node_id)
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            raise RecipientOffline(self.node_id, "is not reading its stream") from None

    def get(self, timeout: float) -> pb.NodeEvent | None:
        """The next event, or ``None`` after ``timeout`` seconds or once closed."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        return None if item is self._CLOSED else item  # type: ignore[return-value]

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(self._CLOSED)


class Relay:
    """Routes events to nodes' streams and tells listeners when a node goes offline."""

    def __init__(self) -> None:
        self._subs: dict[str, Subscription] = {}
        self._lock = threading.Lock()
        # Held across a stream change and its callbacks, so listeners hear a node's comings
        # and goings in the order they happened: an old stream's end noticed while the node
        # reconnects must reach them as offline-then-online, never the other way round (the
        # job runner resumes a job only on a return after the departure).
        self._presence = threading.RLock()
        self._on_offline: list[Callable[[str], None]] = []
        self._on_online: list[Callable[[str], None]] = []
        # per job attempt: (sender, recipient) -> [envelopes, bytes]; logged when it ends
        self._tallies: dict[str, dict[tuple[str, str], list[int]]] = {}

    def on_offline(self, callback: Callable[[str], None]) -> None:
        self._on_offline.append(callback)

    def on_online(self, callback: Callable[[str], None]) -> None:
        self._on_online.append(callback)

    def subscribe(self, node_id: str) -> Subscription:
        """Open a node's stream, replacing (and closing) any older one it left behind."""
        sub = Subscription(node_id)
        with self._presence:
            with self._lock:
                old = self._subs.get(node_id)
                self._subs[node_id] = sub
            if old is not None:
                # The node came back before its old stream was noticed dead (a restart):
                # treat it as gone and back, so jobs it was in learn that it left.
                old.close()
                for callback in self._on_offline:
                    callback(node_id)
            for callback in self._on_online:
                callback(node_id)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Close ``sub``; if it was the node's current stream, the node is now offline."""
        sub.close()
        with self._presence:
            with self._lock:
                current = self._subs.get(sub.node_id) is sub
                if current:
                    del self._subs[sub.node_id]
            if current:
                log.info("node %s went offline", sub.node_id)
                for callback in self._on_offline:
                    callback(sub.node_id)

    def online(self, node_id: str) -> bool:
        with self._lock:
            return node_id in self._subs

    def online_nodes(self) -> set[str]:
        with self._lock:
            return set(self._subs)

    def push(self, node_id: str, event: pb.NodeEvent) -> None:
        """Queue ``event`` for ``node_id``.

        Raises
        ------
        RecipientOffline
            The node has no open stream or is not draining it.
        """
        with self._lock:
            sub = self._subs.get(node_id)
        if sub is None:
            raise RecipientOffline(node_id)
        sub.put(event)

    def count(self, job_key: str, sender: str, recipient: str, size: int) -> None:
        """Add one relayed envelope of ``size`` bytes to the job attempt's tally."""
        with self._lock:
            tally = self._tallies.setdefault(job_key, {}).setdefault((sender, recipient), [0, 0])
            tally[0] += 1
            tally[1] += size

    def take_counts(self, job_key: str) -> dict[tuple[str, str], tuple[int, int]]:
        """(sender, recipient) -> (envelopes, bytes) relayed for an attempt, then forget it."""
        with self._lock:
            tallies = self._tallies.pop(job_key, {})
        return {pair: (n, size) for pair, (n, size) in tallies.items()}

    def close_all(self) -> None:
        with self._lock:
            subs = list(self._subs.values())
            self._subs.clear()
        for sub in subs:
            sub.close()
