"""A coordinator call verifies its caller's certificate once, however many layers ask who calls.

A real coordinator (the daemon's own ``CoordinatorServer``) runs in this process on loopback
mutual TLS; its certificate verifier is the real ``PeerVerifier`` with a counter around it, so
every verification still runs in full and is counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

import coordinator.runtime.server as server_module
from coordinator.local import LocalFederation
from coordinator.local.synthetic import synthetic_federation
from coordinator.runtime.config import load_coordinator_config
from coordinator.runtime.server import CoordinatorServer
from node.crypto.envelope import seal
from node.pki import PeerVerifier, identity_from_certificate, load_identity_files, revoke
from node.pki.identity import Identity
from node.transport.client import open_channel
from protos.fedcredit.v1 import common_pb2, coordinator_pb2, coordinator_pb2_grpc

SENDS = 5
PENDING_JOB = "type: check\nparties:\n  bank: {}\n  government: {}\n"


class CountingVerifier(PeerVerifier):
    """The real verifier, counting how often a peer certificate is verified."""

    calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Identity:
        CountingVerifier.calls += 1
        return super().__call__(*args, **kwargs)


@pytest.fixture
def coordinator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalFederation]:
    """The coordinator of a prepared federation, in this process (no node runs)."""
    fed = synthetic_federation(tmp_path, n_firms=30)
    monkeypatch.setattr(server_module, "PeerVerifier", CountingVerifier)
    server = CoordinatorServer(load_coordinator_config(tmp_path / "config" / "coordinator.yaml"))
    server.start()
    fed.coordinator_port = server.port
    try:
        yield fed
    finally:
        server.stop()


def _envelope(certs: Path, sender: str, recipient: str) -> bytes:
    keys = load_identity_files(certs, sender)
    to = identity_from_certificate((certs / f"{recipient}.crt").read_bytes())
    return seal(
        b"payload", sender=sender, sign_key=keys.sign_key, recipient=recipient,
        recipient_seal_public=to.seal_public, job="count#1", topic="t",
    )  # fmt: skip


def _register(fed: LocalFederation, *names: str) -> None:
    for name in names:
        with open_channel(fed.address, fed.certs, name) as channel:
            stub = coordinator_pb2_grpc.CoordinatorStub(channel)
            stub.Register(coordinator_pb2.RegisterRequest(), timeout=10)


def _assert_cut_for_revocation(stream: Iterator[object]) -> None:
    """Read ``stream`` to its end, which must be a refusal of the revoked certificate."""
    with pytest.raises(grpc.RpcError) as cut:
        for _ in stream:
            pass
    assert cut.value.code() is not grpc.StatusCode.DEADLINE_EXCEEDED
    assert "revoked" in str(cut.value.details())


def test_each_send_verifies_the_callers_certificate_once(coordinator: LocalFederation) -> None:
    certs, address = coordinator.certs, coordinator.address
    _register(coordinator, "bank", "government")
    envelope = common_pb2.Envelope(sealed=_envelope(certs, "bank", "government"))
    with open_channel(address, certs, "bank") as channel:
        stub = coordinator_pb2_grpc.CoordinatorStub(channel)
        before = CountingVerifier.calls
        for _ in range(SENDS):
            # through the door, the rate limiter and the signature check to the relay, which
            # finds the government offline (it registered but holds no stream)
            with pytest.raises(grpc.RpcError) as refused:
                stub.Send(envelope, timeout=10)
            assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
            assert "recipient offline" in str(refused.value.details())
        assert CountingVerifier.calls - before == SENDS


def test_a_stream_held_open_is_still_cut_when_its_certificate_is_revoked(
    coordinator: LocalFederation,
) -> None:
    certs = coordinator.certs
    with open_channel(coordinator.address, certs, "bank") as channel:
        stub = coordinator_pb2_grpc.CoordinatorStub(channel)
        stub.Register(coordinator_pb2.RegisterRequest(), timeout=10)
        stream = stub.Subscribe(coordinator_pb2.SubscribeRequest(), timeout=30)
        coordinator.wait_online(["bank"], timeout=20)  # the stream is open and verified
        revoke(certs, certs / "bank.crt")
        # the stream's caller was verified when it opened; it is checked again while it stays
        # open, and the revocation ends it (not the deadline)
        _assert_cut_for_revocation(stream)


def test_a_job_watch_held_open_is_cut_when_its_certificate_is_revoked(
    coordinator: LocalFederation,
) -> None:
    # prepare: a job that stays pending (no party holds a stream), watched by the auditor
    certs = coordinator.certs
    _register(coordinator, "bank", "government")
    job_id = coordinator.submit(PENDING_JOB, job_id="watched")
    with open_channel(coordinator.address, certs, "auditor") as channel:
        stub = coordinator_pb2_grpc.CoordinatorStub(channel)
        watch = stub.WatchJob(coordinator_pb2.GetJobRequest(job_id=job_id), timeout=30)
        assert next(watch).kind == "submitted"  # the watch is open and its caller verified
        # execute
        revoke(certs, certs / "auditor.crt")
        # assert: the revocation ends the watch, not the deadline or the job
        _assert_cut_for_revocation(watch)
