"""A node's connection to its coordinator: register, heartbeat, one event stream, reconnect.

The link keeps trying while the coordinator is unreachable (it may be restarting), with a
capped back-off. It stops for good when the failure is the node's own certificate (expired,
revoked, from another CA): retrying cannot fix that, and the message says what will.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import grpc

from node.pki import PeerVerifier, PkiError
from node.pki.files import NodeCredentials
from node.pki.roles import COORDINATOR
from node.transport.grpc_options import channel_credentials, secure_channel
from node.transport.relay_channel import RecipientGone, RelayRefused
from protos.fedcredit.v1 import common_pb2, coordinator_pb2, coordinator_pb2_grpc

log = logging.getLogger("fedcredit.node.link")

BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 3.0)
RPC_TIMEOUT_S = 15.0


class CertificateRefused(Exception):
    """The coordinator refused this node's certificate; retrying will not help."""


def diagnose_handshake(creds: NodeCredentials) -> str | None:
    """Explain a failed TLS handshake from our side, or ``None`` if our certificate looks fine.

    A refused handshake carries no reason on the wire, so the node checks what the server
    checked: that its certificate is issued by the federation CA it was given and is valid.
    """
    try:
        PeerVerifier(creds.cert_dir)(creds.cert_pem)
    except PkiError as exc:
        return str(exc)
    return None


class CoordinatorLink:
    """Owns the channel to the coordinator and dispatches what arrives on the node's stream.

    ``address`` may name several coordinators, comma-separated (an active one and its
    standbys on one database): when the one in use cannot be reached, the link moves on to
    the next at once, and waits (with back-off) only after trying them all.
    """

    def __init__(
        self,
        address: str,
        creds: NodeCredentials,
        register_request: Callable[[], coordinator_pb2.RegisterRequest],
        on_event: Callable[[coordinator_pb2.NodeEvent], None],
        on_disconnect: Callable[[str], None],
        on_registered: Callable[[coordinator_pb2.RegisterResponse], None],
        running_jobs: Callable[[], list[str]],
    ) -> None:
        self._addresses = [a.strip() for a in address.split(",") if a.strip()]
        self._at = 0
        self._creds = creds
        self._register_request = register_request
        self._on_event = on_event
        self._on_disconnect = on_disconnect
        self._on_registered = on_registered
        self._running_jobs = running_jobs
        self._channel, self.stub = self._open(self._addresses[0])
        self.connected = threading.Event()
        self.fatal: str | None = None
        self._stop = threading.Event()
        self._stream: Any = None
        self._thread = threading.Thread(target=self._run, name="coordinator-link", daemon=True)

    @property
    def _address(self) -> str:
        return self._addresses[self._at]

    def _open(self, address: str) -> tuple[grpc.Channel, coordinator_pb2_grpc.CoordinatorStub]:
        creds = self._creds
        channel = secure_channel(
            address,
            channel_credentials(creds.cert_pem, creds.key_pem, creds.ca_pem),
            COORDINATOR,
        )
        return channel, coordinator_pb2_grpc.CoordinatorStub(channel)

    def _next_coordinator(self) -> bool:
        """Switch to the next configured coordinator; False when every one was tried."""
        if len(self._addresses) < 2:
            return False
        self._at = (self._at + 1) % len(self._addresses)
        old = self._channel
        self._channel, self.stub = self._open(self._address)
        old.close()
        log.info("trying coordinator at %s", self._address)
        return self._at != 0

    # life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        stream = self._stream
        if stream is not None:
            stream.cancel()
        self._thread.join(5)
        self._channel.close()

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                self._session()
                attempt = 0
            except CertificateRefused as exc:
                self.fatal = str(exc)
                log.error("coordinator refused this node: %s", exc)
                return
            except grpc.RpcError as exc:
                code = exc.code() if hasattr(exc, "code") else None
                if code in (
                    grpc.StatusCode.UNAUTHENTICATED,
                    grpc.StatusCode.PERMISSION_DENIED,
                    # registered to another organization, or an identifier it refuses
                    grpc.StatusCode.ALREADY_EXISTS,
                    grpc.StatusCode.INVALID_ARGUMENT,
                ):
                    self.fatal = f"coordinator refused this node: {exc.details()}"
                    log.error("%s", self.fatal)
                    return
                if code is grpc.StatusCode.UNAVAILABLE and attempt == 0:
                    reason = diagnose_handshake(self._creds)
                    if reason is not None:
                        self.fatal = f"TLS handshake refused: {reason}"
                        log.error("%s", self.fatal)
                        return
                if not self._stop.is_set():
                    name = code.name if code is not None else "no status"
                    detail = exc.details() if hasattr(exc, "details") else ""
                    log.info("coordinator at %s: %s (%s); retrying", self._address, name, detail)
            finally:
                if self.connected.is_set():
                    self.connected.clear()
                    self._on_disconnect("connection to the coordinator was lost")
            if self._stop.is_set():
                break
            if self._next_coordinator():
                continue  # another coordinator to try before backing off
            self._stop.wait(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            attempt += 1

    def _session(self) -> None:
        response = self.stub.Register(self._register_request(), timeout=RPC_TIMEOUT_S)
        self._on_registered(response)
        stream = self.stub.Subscribe(coordinator_pb2.SubscribeRequest())
        self._stream = stream
        self.connected.set()
        beat = threading.Thread(
            target=self._heartbeat, args=(response.heartbeat_interval_s,), daemon=True
        )
        beat.start()
        log.info("registered with the coordinator as %s", response.node_id)
        try:
            for event in stream:
                self._on_event(event)
        except grpc.RpcError as exc:
            if exc.code() is not grpc.StatusCode.CANCELLED:
                raise

    def _heartbeat(self, interval: float) -> None:
        while self.connected.is_set() and not self._stop.wait(interval):
            try:
                self.stub.Heartbeat(
                    coordinator_pb2.HeartbeatRequest(running_jobs=self._running_jobs()),
                    timeout=RPC_TIMEOUT_S,
                )
            except grpc.RpcError:
                return

    # calls -----------------------------------------------------------------------------

    def send_sealed(self, sealed: bytes) -> None:
        """Hand an envelope to the relay; an offline recipient raises ``RecipientGone``."""
        try:
            self.stub.Send(common_pb2.Envelope(sealed=sealed), timeout=RPC_TIMEOUT_S)
        except grpc.RpcError as exc:
            code = exc.code()
            if code is grpc.StatusCode.FAILED_PRECONDITION:
                raise RecipientGone("recipient", exc.details() or "is offline") from None
            if code is grpc.StatusCode.UNAVAILABLE:
                raise RecipientGone("coordinator", "is unreachable") from None
            raise RelayRefused(code.name, exc.details() or "no reason given") from None

    def directory(self) -> list[tuple[str, bytes]]:
        response = self.stub.GetDirectory(coordinator_pb2.DirectoryRequest(), timeout=RPC_TIMEOUT_S)
        return [(e.node_id, e.certificate_pem) for e in response.entries]

    def report(
        self,
        job_id: str,
        attempt: int,
        kind: str,
        stage: str,
        step: int,
        total: int,
        metrics: Mapping[str, Any],
        error: str,
    ) -> bool:
        kinds = {
            "progress": coordinator_pb2.TaskReport.PROGRESS,
            "succeeded": coordinator_pb2.TaskReport.SUCCEEDED,
            "failed": coordinator_pb2.TaskReport.FAILED,
        }
        ack = self.stub.ReportTask(
            coordinator_pb2.TaskReport(
                job_id=job_id,
                attempt=attempt,
                kind=kinds[kind],
                stage=stage,
                step=step,
                total=total,
                metrics_json=json.dumps(metrics, default=float),
                error=error,
            ),
            timeout=RPC_TIMEOUT_S,
        )
        return bool(ack.keep_going)

    def publish_checkpoint(self, checkpoint: bytes, proof: list[bytes]) -> int:
        response = self.stub.PublishCheckpoint(
            coordinator_pb2.PublishCheckpointRequest(
                checkpoint=checkpoint, consistency_proof=proof
            ),
            timeout=RPC_TIMEOUT_S,
        )
        return int(response.accepted_size)
