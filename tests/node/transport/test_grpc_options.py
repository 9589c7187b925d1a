"""mTLS channels complete only with the certificate issued to the expected party."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from node.pki import create_ca, issue_certificate, load_identity_files
from node.transport.client import health_status, open_channel
from node.transport.grpc_options import create_server, server_credentials, set_serving


@pytest.fixture
def bank_server(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    # prepare: one CA; a server on loopback presenting the *bank's* certificate
    certs = tmp_path / "certs"
    create_ca(certs)
    for name, role in (("coordinator", "coordinator"), ("bank", "bank"), ("ops", "operator")):
        issue_certificate(certs, name, role=role, organization="org")
    bank = load_identity_files(certs, "bank")
    server, health, port = create_server(
        server_credentials(bank.cert_pem, bank.key_pem, bank.ca_pem), "127.0.0.1:0"
    )
    server.start()
    set_serving(health, [], True)
    try:
        yield certs, port
    finally:
        server.stop(None).wait(5)


def test_client_reaches_the_party_it_expects(bank_server: tuple[Path, int]) -> None:
    certs, port = bank_server
    with open_channel(f"127.0.0.1:{port}", certs, "ops", peer="bank") as channel:
        assert health_status(channel) == "SERVING"


def test_another_member_cannot_pose_as_the_coordinator(bank_server: tuple[Path, int]) -> None:
    # the bank's certificate is from the federation CA, but it is not the coordinator's
    certs, port = bank_server
    with (
        open_channel(f"127.0.0.1:{port}", certs, "ops", peer="coordinator") as channel,
        pytest.raises(grpc.RpcError) as err,
    ):
        health_status(channel, timeout=5)
    assert err.value.code() is grpc.StatusCode.UNAVAILABLE
