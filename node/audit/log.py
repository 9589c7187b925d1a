"""The access log every node and the coordinator write to: durable appends, signed checkpoints.

Appends use *group commit*: callers (many gRPC threads at once) stage entries under a lock,
which assigns each its position and updates the in-memory right edge of the Merkle tree; a
single committer thread writes everything staged so far in one SQLite transaction and fsyncs
once; every caller whose entries were in that transaction is then released. So ``append``
returns only once its entry is on disk, yet a busy node pays one fsync per batch, not per
entry. ``append_many`` stages a whole list and waits once (what batch jobs should use);
``append_deferred`` stages and returns at once, for callers that do their work while the
entry is committed and wait for it before their result leaves (docs/audit-log.md).

A failed write stops the log (every later append raises ``LogClosedError``): an access that
cannot be recorded must not be allowed to look recorded. The caller decides whether to deny
the access or restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time as _time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from node.audit.entry import AccessEntry, encode_at, peek_time
from node.audit.exceptions import LogClosedError, LogLockedError, OriginMismatch
from node.audit.merkle import fold_right, leaf_hash, node_hash, perfect_subtrees
from node.audit.reader import LogReader
from node.audit.store import EntryRow, LogStore, node_id

logger = logging.getLogger("fedcredit.node.audit.log")

LOCK_NAME: Final = "writer.lock"


def format_time(seconds: float) -> str:
    """Format a Unix time as the log's UTC timestamp ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Frontier:
    """The right edge of the tree: roots of the perfect subtrees that make up ``size`` leaves."""

    def __init__(self, size: int, parts: list[tuple[int, bytes]]) -> None:
        self.size = size
        self.parts = parts  # (level, hash), levels strictly decreasing

    def push(self, leaf: bytes, out: list[tuple[int, bytes]]) -> None:
        """Add the next leaf; append each perfect subtree it completes to ``out``."""
        seq = self.size
        level, h = 0, leaf
        parts = self.parts
        while parts and parts[-1][0] == level:
            h = node_hash(parts.pop()[1], h)
            level += 1
            out.append((node_id(level, seq >> level), h))
        parts.append((level, h))
        self.size = seq + 1

    def root(self) -> bytes:
        return fold_right([h for _, h in self.parts])


class Durable:
    """Entries staged by ``AccessLog.append_deferred``; ``wait`` until they are on disk."""

    def __init__(self, log: AccessLog, first: int, end: int, ops: int) -> None:
        self._log, self._first, self._end, self._ops = log, first, end, ops

    def wait(self) -> list[int]:
        """Return the entries' indexes once durable.

        Raises
        ------
        LogClosedError
            A write failed before they were committed; they cannot be relied on.
        """
        self._log._wait_staged(self._ops)
        return list(range(self._first, self._end))


class AccessLog(LogReader):
    """The writable access log of one node (or of the coordinator). Thread-safe.

    Open with ``AccessLog.open``; close with ``close`` or use it as a context manager. Exactly
    one process may have a log open for writing (an exclusive file lock enforces it).
    """

    def __init__(
        self,
        store: LogStore,
        signing_key: Ed25519PrivateKey,
        origin: str,
        lock_fd: int,
        *,
        checkpoint_interval: float | None,
        on_checkpoint: Callable[[SignedCheckpoint], None] | None,
        clock: Callable[[], float],
    ) -> None:
        if checkpoint_interval is not None and checkpoint_interval <= 0:
            raise ValueError("checkpoint_interval must be positive seconds, or None")
        super().__init__(store)
        self._key = signing_key
        self._origin = origin
        self._lock_fd = lock_fd
        self._clock = clock
        self._on_checkpoint = on_checkpoint
        size = store.size(check_gaps=True)
        parts = perfect_subtrees(0, size) if size else []
        hashes = store.subtree_hashes(parts)
        edge = [(level, h) for (level, _), h in zip(parts, hashes, strict=True)]
        self._frontier = _Frontier(size, edge)
        last = store.entry(size - 1) if size else None
        self._last_time = (peek_time(last) if last else None) or ""
        self._cond = threading.Condition()
        self._durable_size = size
        self._staged_ops = 0
        self._durable_ops = 0
        self._entries: list[EntryRow] = []
        self._subjects: list[tuple[str, int]] = []
        self._nodes: list[tuple[int, bytes]] = []
        self._cps: list[tuple[int, bytes]] = []
        self._failure: str | None = None
        self._closing = False
        self._last_checkpoint = self.latest_checkpoint()
        self._committer = threading.Thread(
            target=self._commit_loop, name="fedcredit-audit-committer", daemon=True
        )
        self._committer.start()
        self._stop_ticker = threading.Event()
        self._ticker: threading.Thread | None = None
        if checkpoint_interval is not None:
            self._ticker = threading.Thread(
                target=self._tick_loop,
                args=(checkpoint_interval,),
                name="fedcredit-audit-checkpointer",
                daemon=True,
            )
            self._ticker.start()

    @classmethod
    def open(  # type: ignore[override]
        cls,
        directory: Path | str,
        signing_key: Ed25519PrivateKey,
        node_id: str,
        *,
        checkpoint_interval: float | None = None,
        on_checkpoint: Callable[[SignedCheckpoint], None] | None = None,
        clock: Callable[[], float] = _time.time,
    ) -> AccessLog:
        """Open (creating if needed) the log in ``directory`` for appending.

        Parameters
        ----------
        directory
            The log directory (one per node).
        signing_key
            The node's Ed25519 private key; checkpoints are signed with it.
        node_id
            The log's origin, written into every checkpoint; fixed at creation.
        checkpoint_interval
            Seconds between automatic checkpoints (only when entries were added since the
            last one); ``None`` signs only when ``checkpoint`` is called.
        on_checkpoint
            Called with each automatic checkpoint, e.g. to publish it to the coordinator's
            witness; its exceptions are logged and do not stop the log.
        clock
            Unix time source for entry and checkpoint times (tests inject one).

        Raises
        ------
        LogLockedError
            Another process has the log open for writing.
        OriginMismatch
            The log was created for another node id.
        LogCorruptError
            The stored entries or tree nodes are incomplete; run ``verify``.
        InvalidCheckpoint
            ``node_id`` cannot be a checkpoint origin (use ``[A-Za-z0-9._:@-]``).
        ValueError
            ``checkpoint_interval`` is not positive.
        """
        # Validate arguments before anything is stored (the Checkpoint constructor checks the
        # origin's characters).
        if checkpoint_interval is not None and checkpoint_interval <= 0:
            raise ValueError("checkpoint_interval must be positive seconds, or None")
        Checkpoint(node_id, 0, bytes(32), format_time(0))
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LogLockedError(path) from None
        store: LogStore | None = None
        try:
            store = LogStore(path)
            found = store.get_meta("origin")
            if found is None:
                store.set_meta("origin", node_id)
            elif found != node_id:
                raise OriginMismatch(node_id, found)
            return cls(
                store,
                signing_key,
                node_id,
                fd,
                checkpoint_interval=checkpoint_interval,
                on_checkpoint=on_checkpoint,
                clock=clock,
            )
        except BaseException:
            if store is not None:
                store.close()
            os.close(fd)
            raise

    @property
    def origin(self) -> str:
        """The node id this log's checkpoints name."""
        return self._origin

    def size(self) -> int:
        """Return the number of durable (acknowledged) entries."""
        with self._cond:
            return self._durable_size

    # -- appending ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._failure is not None:
            raise LogClosedError(self._failure)
        if self._closing:
            raise LogClosedError("close() was called")

    def _now(self) -> str:
        stamp = format_time(self._clock())
        # Never let time run backwards inside the log (a clock step would break time search).
        if stamp < self._last_time:
            stamp = self._last_time
        self._last_time = stamp
        return stamp

    def _stage(self, entries: Sequence[AccessEntry]) -> tuple[int, int, int]:
        first = self._frontier.size
        for e in entries:
            if not isinstance(e, AccessEntry):
                raise TypeError(f"expected AccessEntry, got {type(e).__name__}")
        stamp = self._now()
        frontier, nodes = self._frontier, self._nodes
        for e in entries:
            seq = frontier.size
            data = encode_at(e, seq, stamp)
            leaf = leaf_hash(data)
            frontier.push(leaf, nodes)
            self._entries.append(
                (seq, data, leaf, stamp, e.actor.label(), e.action.value, e.job_id, e.dataset)
            )
            self._subjects.extend((t, seq) for t in e.subjects)
        self._staged_ops += 1
        self._cond.notify_all()
        return first, frontier.size, self._staged_ops

    def _wait_durable(self, ops: int) -> None:
        while self._durable_ops < ops and self._failure is None:
            self._cond.wait()
        if self._durable_ops < ops:
            raise LogClosedError(self._failure or "the committer stopped")

    def append(self, entry: AccessEntry) -> int:
        """Append one entry; return its index once it is durable.

        Raises
        ------
        LogClosedError
            The log is closed or a previous write failed; the entry was not recorded.
        TypeError
            ``entry`` is not an ``AccessEntry``.
        """
        return self.append_many([entry])[0]

    def append_many(self, entries: Sequence[AccessEntry]) -> list[int]:
        """Append entries in order; return their indexes once all are durable.

        Raises
        ------
        LogClosedError
            The log is closed or a write failed; none of these entries can be relied on.
        TypeError
            An item is not an ``AccessEntry`` (then nothing is appended).
        """
        if not entries:
            return []
        with self._cond:
            self._check_open()
            first, end, ops = self._stage(entries)
            self._wait_durable(ops)
        return list(range(first, end))

    def append_deferred(self, entries: Sequence[AccessEntry]) -> Durable:
        """Stage entries now (their order and indexes are fixed) and return at once; the
        returned handle's ``wait`` returns their indexes once they are durable.

        For work that may proceed while its entry is committed, but whose result must not
        leave before it is: stage, do the work, ``wait``, then answer. Entries are committed
        in staging order, so waiting for a later entry also covers every earlier one.

        Raises
        ------
        LogClosedError
            The log is closed or a write failed; nothing was staged.
        TypeError
            An item is not an ``AccessEntry`` (then nothing is staged).
        """
        with self._cond:
            self._check_open()
            first, end, ops = self._stage(entries) if entries else (0, 0, self._staged_ops)
        return Durable(self, first, end, ops)

    def _wait_staged(self, ops: int) -> None:
        with self._cond:
            self._wait_durable(ops)

    def _commit_loop(self) -> None:
        while True:
            with self._cond:
                while not self._entries and not self._cps and not self._closing:
                    self._cond.wait()
                if not self._entries and not self._cps:
                    return
                batch = (self._entries, self._subjects, self._nodes, self._cps)
                self._entries, self._subjects, self._nodes, self._cps = [], [], [], []
                size, ops = self._frontier.size, self._staged_ops
            try:
                self._store.write_batch(*batch)
            except Exception as exc:  # any write failure stops the log, see module doc
                logger.error("access log write failed, log stopped: %s", type(exc).__name__)
                with self._cond:
                    self._failure = f"a write failed ({type(exc).__name__})"
                    self._cond.notify_all()
                return
            with self._cond:
                self._durable_size = size
                self._durable_ops = ops
                self._cond.notify_all()

    # -- checkpoints ----------------------------------------------------------------------

    def checkpoint(self) -> SignedCheckpoint:
        """Sign, store and return a checkpoint over every entry appended so far.

        Raises
        ------
        LogClosedError
            The log is closed or a write failed.
        """
        with self._cond:
            self._check_open()
            size, root = self._frontier.size, self._frontier.root()
            signed = sign_checkpoint(Checkpoint(self._origin, size, root, self._now()), self._key)
            self._cps.append((size, signed.to_bytes()))
            self._staged_ops += 1
            ops = self._staged_ops
            self._cond.notify_all()
            self._wait_durable(ops)
            self._last_checkpoint = signed
        logger.info("access log checkpoint signed at size %d", size)
        return signed

    def last_checkpoint(self) -> SignedCheckpoint | None:
        """Return the newest checkpoint this log signed (stored durably), or ``None``."""
        with self._cond:
            return self._last_checkpoint

    def publication(self, previous_size: int | None) -> tuple[SignedCheckpoint, list[bytes]]:
        """Return what to publish to the witness: a current checkpoint and the proof from
        the size the witness last accepted (``None`` when it holds none yet).

        Signs a new checkpoint only when entries were added since the last one.

        Raises
        ------
        ProofRangeError
            ``previous_size`` is larger than this log: the witness holds a checkpoint of a
            longer history than this node has (the log was truncated or replaced).
        """
        cp = self.last_checkpoint()
        if cp is None or cp.size != self.size():
            cp = self.checkpoint()
        proof = [] if previous_size is None else self.consistency_proof(previous_size, cp.size)
        return cp, proof

    def _tick_loop(self, interval: float) -> None:
        while not self._stop_ticker.wait(interval):
            cp = self.last_checkpoint()
            if cp is not None and cp.size == self.size():
                continue
            try:
                signed = self.checkpoint()
            except LogClosedError:
                return
            if self._on_checkpoint is not None:
                try:
                    self._on_checkpoint(signed)
                except Exception as exc:  # publishing is best effort; the next tick retries
                    logger.warning("publishing checkpoint failed: %s", type(exc).__name__)

    # -- closing --------------------------------------------------------------------------

    def close(self) -> None:
        """Commit what is staged, stop the background threads, release the files."""
        self._stop_ticker.set()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join()
        with self._cond:
            if self._closing and not self._committer.is_alive():
                return
            self._closing = True
            self._cond.notify_all()
        self._committer.join()
        self._store.close()
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)

    def __enter__(self) -> AccessLog:
        return self
