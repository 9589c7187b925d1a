"""What ``fedcredit diagnose`` measures over the network: the coordinator connection, clock
skew, round trips to the coordinator and through the relay to each peer, and the largest
message that passes. Every measurement is a sealed ping (``node.transport.probe``)."""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from typing import Final

import grpc

from node.crypto.exceptions import InvalidEnvelope
from node.diagnose.findings import Finding, Level
from node.pki import PeerVerifier
from node.pki.files import NodeCredentials
from node.pki.identity import Principal
from node.pki.roles import COORDINATOR
from node.runtime.link import diagnose_handshake
from node.transport.directory import PeerDirectory, UnknownParty
from node.transport.grpc_options import channel_credentials, secure_channel
from node.transport.limits import MAX_GRPC_MESSAGE_BYTES
from node.transport.probe import PING_TOPIC, PONG_TOPIC, PROBE_JOB
from node.transport.sealing import DirectorySealer
from protos.fedcredit.v1 import common_pb2, coordinator_pb2, coordinator_pb2_grpc

CALL_TIMEOUT_S: Final = 15.0
PINGS: Final = 5  # round trips per party; the median is reported
PING_BYTES: Final = 64
# Thresholds, each with its reason:
SLOW_RTT_S: Final = 0.5  # protocols exchange thousands of messages; slower links stretch jobs
SKEW_WARN_S: Final = 5.0  # NTP keeps servers well within a second; seconds mean no NTP
# Envelopes are refused beyond 300 s of the recipient's clock; a peer may be skewed the other
# way, so half of that is the most this node may be off.
SKEW_FAIL_S: Final = 150.0
SIZE_STEP: Final = 128 * 1024  # resolution of the message-size search
SMALL_LIMIT: Final = 8 * 1024 * 1024  # protocols batch payloads of a few MiB
MIB: Final = 1024 * 1024


class ProbeFailed(Exception):
    """A ping was not echoed, or the echo was not the ping's payload from its recipient."""


@dataclass
class Session:
    """A diagnostic session with the coordinator, under this node's own certificate."""

    me: str
    address: str
    channel: grpc.Channel
    stub: coordinator_pb2_grpc.CoordinatorStub
    directory: PeerDirectory
    sealer: DirectorySealer
    listed: tuple[str, ...]  # registered nodes, in the coordinator's directory
    online: frozenset[str]  # of those, the ones with an open stream

    def identity_of(self, party: str) -> Principal:
        """A registered party's verified identity (``UnknownParty`` if there is none)."""
        return self.directory.identity(party)

    def ping(
        self, recipient: str, size: int = PING_BYTES, wait_s: float = 10.0
    ) -> tuple[float, float]:
        """One sealed round trip: (seconds, the coordinator's clock minus ours).

        Raises
        ------
        ProbeFailed
            No echo, or a wrong one; the message says why.
        """
        payload = os.urandom(size)
        sealed = self.sealer.seal(recipient, PROBE_JOB, PING_TOPIC, payload)
        request = coordinator_pb2.ProbeRequest(
            ping=common_pb2.Envelope(sealed=sealed), timeout_s=wait_s
        )
        sent, began = time.time(), time.perf_counter()
        try:
            answer = self.stub.Probe(request, timeout=wait_s + CALL_TIMEOUT_S)
        except grpc.RpcError as exc:
            raise ProbeFailed(exc.details() or str(exc.code())) from None
        rtt = time.perf_counter() - began
        try:
            echo = self.sealer.open(answer.pong.sealed)
        except (InvalidEnvelope, UnknownParty) as exc:
            raise ProbeFailed(f"the echo does not open: {exc}") from None
        if echo.sender != recipient or echo.topic != PONG_TOPIC or echo.payload != payload:
            raise ProbeFailed("the echo is not what was sent")
        return rtt, answer.server_time - (sent + rtt / 2)

    def close(self) -> None:
        self.channel.close()


def connect(creds: NodeCredentials, address: str) -> tuple[Session | None, Finding]:
    """Open a session with the first configured coordinator and read its directory."""
    first = address.split(",")[0].strip()
    channel = secure_channel(
        first, channel_credentials(creds.cert_pem, creds.key_pem, creds.ca_pem), COORDINATOR
    )
    stub = coordinator_pb2_grpc.CoordinatorStub(channel)
    try:
        answer = stub.GetDirectory(coordinator_pb2.DirectoryRequest(), timeout=CALL_TIMEOUT_S)
    except grpc.RpcError as exc:
        channel.close()
        return None, _refusal(creds, first, exc)
    listed = [(e.node_id, e.certificate_pem) for e in answer.entries]
    directory = PeerDirectory(lambda: listed, PeerVerifier(creds.cert_dir))
    directory.refresh()
    session = Session(
        me=creds.identity.node_id,
        address=first,
        channel=channel,
        stub=stub,
        directory=directory,
        sealer=DirectorySealer(creds, directory),
        listed=tuple(n for n, _ in listed if n != COORDINATOR),
        online=frozenset(e.node_id for e in answer.entries if e.online),
    )
    registered = session.me in session.listed
    return session, Finding(
        "coordinator",
        Level.OK if registered else Level.WARN,
        f"{first} answers under mTLS"
        + ("" if registered else f"; {session.me} has not registered with it yet"),
        ""
        if registered
        else "start the node once: peers verify its envelopes by the certificate it registers",
    )


def _refusal(creds: NodeCredentials, address: str, exc: grpc.RpcError) -> Finding:
    code = exc.code()
    if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        return Finding(
            "coordinator",
            Level.FAIL,
            f"{address} refused this node: {exc.details()}",
            "ask the federation operator (revoked, or the node id belongs to another organization)",
        )
    own = diagnose_handshake(creds)
    if own is not None:
        return Finding(
            "coordinator",
            Level.FAIL,
            f"{address}: TLS handshake refused: {own}",
            "request a new certificate (fedcredit certs request), have it signed, restart",
        )
    return Finding(
        "coordinator",
        Level.FAIL,
        f"{address} unreachable ({code.name if code else 'error'})",
        "check that the coordinator runs and that this host may reach that address and port",
    )


def coordinator_findings(session: Session) -> list[Finding]:
    """Round trip to the coordinator and clock skew, from ``PINGS`` sealed pings."""
    try:
        trips = [session.ping(COORDINATOR) for _ in range(PINGS)]
    except ProbeFailed as exc:
        return [
            Finding(
                "rtt",
                Level.FAIL,
                f"coordinator: no sealed echo: {exc}",
                "check this node's certificate and clock (envelopes carry a timestamp)",
            ),
            Finding("clock", Level.FAIL, "not measured (no sealed echo from the coordinator)"),
        ]
    return [_rtt("rtt", "coordinator", [r for r, _ in trips]), _skew(trips)]


def _rtt(check: str, party: str, rtts: list[float]) -> Finding:
    median = statistics.median(rtts)
    text = f"{party}: {median * 1000:.1f} ms median of {len(rtts)} sealed round trips"
    if median > SLOW_RTT_S:
        return Finding(
            check,
            Level.WARN,
            text + " (slow)",
            "jobs exchange many messages; find the slow hop (proxy, VPN, load)",
        )
    return Finding(check, Level.OK, text)


def _skew(trips: list[tuple[float, float]]) -> Finding:
    rtt, skew = min(trips)  # the quickest round trip bounds the error best
    text = f"{skew:+.3f} s against the coordinator (± {rtt / 2 * 1000:.1f} ms)"
    fix = "synchronise this host's clock (NTP, e.g. chrony or systemd-timesyncd)"
    if abs(skew) > SKEW_FAIL_S:
        return Finding("clock", Level.FAIL, text + "; envelopes would be refused", fix)
    if abs(skew) > SKEW_WARN_S:
        return Finding("clock", Level.WARN, text, fix)
    return Finding("clock", Level.OK, text)


def peer_findings(session: Session) -> list[Finding]:
    """A round trip through the relay to every other registered node, one line each."""
    if session.me not in session.listed:
        return [
            Finding(
                "peers",
                Level.WARN,
                "not measured: peers cannot verify this node before it registers",
                "start the node, then run diagnose again",
            )
        ]
    peers = [p for p in session.listed if p != session.me]
    if not peers:
        return [Finding("peers", Level.WARN, "no other node has registered with the coordinator")]
    findings = []
    for peer in peers:
        check = f"peer {peer}"
        if peer not in session.online:
            findings.append(
                Finding(
                    check,
                    Level.WARN,
                    "offline (no open stream to the coordinator)",
                    f"jobs with {peer} wait for it; ask its operator",
                )
            )
            continue
        try:
            rtts = [session.ping(peer)[0] for _ in range(PINGS)]
        except ProbeFailed as exc:
            findings.append(
                Finding(
                    check,
                    Level.FAIL,
                    f"no sealed echo through the relay: {exc}",
                    f"run diagnose on {peer} too; compare certificates and clocks",
                )
            )
            continue
        findings.append(_rtt(check, f"{peer} through the relay", rtts))
    return findings


def message_finding(session: Session, limit: int = MAX_GRPC_MESSAGE_BYTES) -> Finding:
    """The largest sealed payload the coordinator echoes, by binary search up to ``limit``."""

    def passes(size: int) -> bool:
        try:
            session.ping(COORDINATOR, size, wait_s=60.0)
        except ProbeFailed:
            return False
        return True

    if passes(limit):
        return Finding("message", Level.OK, f"a {limit / MIB:.1f} MiB payload passes both ways")
    low, high = 1024, limit  # low passed (the round trips above), high did not
    if not passes(low):
        return Finding(
            "message",
            Level.FAIL,
            "even a 1 KiB sealed payload does not pass",
            "check proxies between this node and the coordinator",
        )
    while high - low > SIZE_STEP:
        middle = (low + high) // 2
        low, high = (middle, high) if passes(middle) else (low, middle)
    text = (
        f"largest sealed payload that passes both ways: {low / MIB:.2f} MiB "
        f"(limit {limit / MIB:.0f} MiB; the envelope and framing take the rest)"
    )
    if low < SMALL_LIMIT:
        return Finding(
            "message", Level.WARN, text, "a proxy caps messages; raise its limit to at least 32 MiB"
        )
    return Finding("message", Level.OK, text)
