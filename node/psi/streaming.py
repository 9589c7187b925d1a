"""Streaming helpers: batch arithmetic, receiving with named errors, ordered background sends.

Blinded sets are cut into batches of ``spec.batch_size`` points; each batch is one worker
task and one message. ``OrderedSender`` sends task results from a background thread in the
order the tasks were submitted, so a party keeps receiving (and the pool keeps working) while
earlier batches are still being computed and sent.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Final

from node.psi.exceptions import PsiPeerLeft
from node.transport.channel import ChannelError, ChannelTimeout, PartyChannel, PartyUnavailable

_STOP: Final = None


def batch_count(n: int, batch_size: int) -> int:
    """Number of batches needed for ``n`` items (0 for none)."""
    return -(-n // batch_size)


def batch_sizes(n: int, batch_size: int) -> list[int]:
    """Items in each batch of ``n`` items, in order."""
    return [min(batch_size, n - start) for start in range(0, n, batch_size)]


def peer_left(exc: ChannelError, fallback: str, stage: str) -> PsiPeerLeft:
    """Turn a channel failure into the PSI error naming the party that left."""
    if isinstance(exc, PartyUnavailable):
        return PsiPeerLeft(exc.party, stage, exc.reason)
    if isinstance(exc, ChannelTimeout):
        return PsiPeerLeft(exc.sender, stage, f"nothing received within {exc.timeout:.0f}s")
    return PsiPeerLeft(fallback, stage, type(exc).__name__)


def receive(channel: PartyChannel, sender: str, topic: str, timeout: float, stage: str) -> bytes:
    """``channel.recv`` that raises ``PsiPeerLeft`` when the sender left or went silent."""
    try:
        return channel.recv(sender, topic, timeout)
    except ChannelError as exc:
        raise peer_left(exc, sender, stage) from None


class PendingTasks:
    """The tasks of a run that have not finished, to cancel them if the run fails.

    A finished task leaves the set at once, so the set never keeps a result alive: a run
    over ten million ids holds its blinded batches only until they are sent.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: set[Future[bytes]] = set()

    def track(self, future: Future[bytes]) -> Future[bytes]:
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)
        return future

    def cancel_all(self) -> None:
        with self._lock:
            futures = list(self._futures)
        for future in futures:
            future.cancel()

    def _forget(self, future: Future[bytes]) -> None:
        with self._lock:
            self._futures.discard(future)


class OrderedSender:
    """Delivers the results of submitted tasks, in submission order, from a daemon thread.

    ``gate`` (optional) holds every delivery back until it is set: the leader computes its
    blinded set while it still waits for the followers' hellos, but sends nothing before all
    of them said they can take part.
    """

    def __init__(self, name: str, gate: threading.Event | None = None) -> None:
        self._queue: queue.SimpleQueue[tuple[Future[bytes], Callable[[bytes], None]] | None]
        self._queue = queue.SimpleQueue()
        self._gate = gate
        self._aborted = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, future: Future[bytes], deliver: Callable[[bytes], None]) -> None:
        """Deliver ``future``'s result with ``deliver`` after everything put before it."""
        self._queue.put((future, deliver))

    def join(self) -> None:
        """Wait until everything put so far was delivered; re-raise the first failure."""
        self._queue.put(_STOP)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        """Stop delivering: cancel pending tasks and let the thread end without raising."""
        self._aborted.set()
        if self._gate is not None:
            self._gate.set()
        self._queue.put(_STOP)

    def _run(self) -> None:
        if self._gate is not None:
            self._gate.wait()
        while (item := self._queue.get()) is not _STOP:
            future, deliver = item
            if self._aborted.is_set() or self._error is not None:
                future.cancel()
                continue
            try:
                deliver(future.result())
            except BaseException as exc:  # handed to join() in the owner's thread
                self._error = exc
