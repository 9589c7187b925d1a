"""Sealed pings outside any job: what ``fedcredit diagnose`` measures round trips with.

The diagnosing node seals a ping (job ``diagnose``, topic ``diagnose/ping``, random payload)
to a peer or to the coordinator and hands it to the coordinator's ``Probe`` RPC, which needs
no open stream, so diagnostics run beside a running node (or before it first starts). For a
peer, the coordinator pushes the ping down the peer's stream and waits; the peer's
``EchoService`` opens it (signature, freshness), seals the same payload back to the sender
(topic ``diagnose/pong``) and sends it through the relay, where the coordinator hands it to
the waiting ``Probe`` call instead of any stream. A ping to the coordinator is answered by
``echo_envelope`` at once. The payloads are random bytes: nothing is logged or stored, and
the coordinator reads only the routing header, as for every envelope.
"""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Final

from node.crypto.envelope import ReplayGuard, open_from, seal_to
from node.crypto.exceptions import InvalidEnvelope
from node.pki.files import NodeCredentials
from node.pki.identity import Identity
from node.transport.relay_channel import EnvelopeRouter, Opened

PROBE_JOB: Final = "diagnose"
PING_TOPIC: Final = "diagnose/ping"
PONG_TOPIC: Final = "diagnose/pong"


class EchoService:
    """A node's answer to diagnostic pings: the payload, sealed back to whoever sent it.

    Echoes are sent from a small pool, not on the thread that reads the node's stream,
    because a large ping (the message-size search) takes a moment to seal and send. The
    pool is the service's own unless ``executor`` is given (a test keeps its futures).
    """

    def __init__(
        self, router: EnvelopeRouter, workers: int = 2, executor: Executor | None = None
    ) -> None:
        self._router = router
        self._pool = executor or ThreadPoolExecutor(workers, thread_name_prefix="diagnose-echo")
        router.serve(PROBE_JOB, self.handle)

    def handle(self, msg: Opened) -> None:
        """The router's handler for the ``diagnose`` job (on the stream thread)."""
        if msg.topic == PING_TOPIC:
            self._pool.submit(self._echo, msg)

    def _echo(self, msg: Opened) -> None:
        # the prober sees a missing echo; the router logs why in one line (a defect with its
        # traceback), never quoting the failure's own text
        self._router.answer(PROBE_JOB, msg.sender, PONG_TOPIC, msg.payload)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def echo_envelope(
    sealed: bytes, caller: Identity, *, creds: NodeCredentials, guard: ReplayGuard
) -> bytes:
    """The coordinator's echo of a ping addressed to itself, sealed back to ``caller``.

    The ping is checked against ``caller``, the identity of the mTLS connection it came on,
    so a node that has never registered can be diagnosed too.

    Raises
    ------
    InvalidEnvelope
        The ping does not open (not for us, bad signature, stale or replayed) or is not a
        diagnostic ping.
    """
    opened = open_from(sealed, recipient=creds, sender=caller, replay_guard=guard)
    if opened.header.job != PROBE_JOB or opened.header.topic != PING_TOPIC:
        raise InvalidEnvelope("not a diagnostic ping")
    return seal_to(opened.payload, sender=creds, recipient=caller, job=PROBE_JOB, topic=PONG_TOPIC)
