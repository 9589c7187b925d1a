"""The ``check`` job: a federation connectivity test over the sealed relay.

Every party sends a sealed ping to every other party and to the coordinator and waits for the
echoes, so a green ``check`` proves that certificates, the directory, sealing and routing all
work for each pair before any data-bearing job is submitted. Payloads are random bytes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from node.jobs.hooks import JobHooks
from node.transport.channel import PartyChannel

COORDINATOR = "coordinator"
PING_BYTES = 32
TIMEOUT_S = 30.0


def run_check_party(
    channel: PartyChannel, hooks: JobHooks, parties: Sequence[str]
) -> dict[str, Any]:
    """Ping every other party and the coordinator; answer their pings; report round trips."""
    peers = [p for p in parties if p != channel.party]
    sent = {peer: os.urandom(PING_BYTES) for peer in [*peers, COORDINATOR]}
    started = time.perf_counter()
    for peer, nonce in sent.items():
        channel.send(peer, "check/ping", nonce)
    for peer in peers:
        channel.send(peer, "check/pong", channel.recv(peer, "check/ping", TIMEOUT_S))
    rtt_ms: dict[str, float] = {}
    for peer, nonce in sent.items():
        if channel.recv(peer, "check/pong", TIMEOUT_S) != nonce:
            raise ValueError(f"echo from {peer!r} does not match what was sent")
        rtt_ms[peer] = round((time.perf_counter() - started) * 1000.0, 2)
    hooks.progress("check", len(sent), len(sent), {})
    hooks.record("admin", {"operation": "connectivity_check", "peers": sorted(sent)})
    return {"reached": sorted(sent), "rtt_ms": rtt_ms}


def run_check_coordinator(
    channel: PartyChannel, hooks: JobHooks, parties: Sequence[str]
) -> dict[str, Any]:
    """Echo each party's ping back to it."""
    for party in parties:
        channel.send(party, "check/pong", channel.recv(party, "check/ping", TIMEOUT_S))
    hooks.progress("check", len(parties), len(parties), {})
    return {"echoed": sorted(parties)}
