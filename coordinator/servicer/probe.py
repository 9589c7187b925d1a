"""Diagnostic probes waiting for their echo (``Probe``; see ``node.transport.probe``).

A probe names who it waits for: only an envelope from that peer, addressed to the probing
node under the diagnostic job, completes it. An echo that arrives after its probe gave up is
dropped, never pushed down a stream, so diagnostics cannot reach a node's job channels.
One probe per node at a time: a second diagnosis of the same node waits its turn.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class ProbeBoard:
    """Waiting probes, by probing node."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._turns: dict[str, threading.Lock] = {}
        self._waiting: dict[str, tuple[str, queue.Queue[bytes]]] = {}

    @contextmanager
    def expect(self, prober: str, peer: str) -> Iterator[Callable[[float], bytes | None]]:
        """Wait for ``peer``'s echo to ``prober``: yields ``wait(timeout)``, the sealed echo
        or ``None`` after ``timeout`` seconds. Register before sending the ping."""
        with self._lock:
            turn = self._turns.setdefault(prober, threading.Lock())
        with turn:
            box: queue.Queue[bytes] = queue.Queue(1)
            with self._lock:
                self._waiting[prober] = (peer, box)

            def wait(timeout: float) -> bytes | None:
                try:
                    return box.get(timeout=timeout)
                except queue.Empty:
                    return None

            try:
                yield wait
            finally:
                with self._lock:
                    self._waiting.pop(prober, None)

    def offer(self, sender: str, recipient: str, sealed: bytes) -> bool:
        """Hand an echo to the probe waiting for it; False (and dropped) if none waits."""
        with self._lock:
            waiting = self._waiting.get(recipient)
        if waiting is None or waiting[0] != sender:
            return False
        try:
            waiting[1].put_nowait(sealed)
        except queue.Full:
            return False
        return True
