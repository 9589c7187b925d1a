"""Federation certificates over real gRPC mutual TLS on loopback.

TLS itself refuses a peer from another CA or an expired one; a revoked certificate passes
the handshake (gRPC has no CRL hook) and is refused by ``PeerVerifier`` on the call, which
is how the coordinator's interceptor uses it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from node.pki import (
    PeerVerifier,
    PkiError,
    create_ca,
    issue_certificate,
    load_identity_files,
    revoke,
)

_METHOD = "/fedcredit.test.Who/Am"


def _who_am_i(verify: PeerVerifier) -> grpc.GenericRpcHandler:
    def handler(request: bytes, context: grpc.ServicerContext) -> bytes:
        pem = context.auth_context()["x509_pem_cert"][0]
        try:
            identity = verify(pem)
        except PkiError as exc:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
        return f"{identity.node_id}/{identity.role}".encode()

    return grpc.method_handlers_generic_handler(
        "fedcredit.test.Who",
        {"Am": grpc.unary_unary_rpc_method_handler(handler)},
    )


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A CA, a coordinator serving mTLS on loopback, and a bank certificate."""
    certs = tmp_path / "certs"
    create_ca(certs)
    issue_certificate(certs, "coordinator", role="coordinator", organization="Operator")
    issue_certificate(certs, "bank-a", role="bank", organization="Bank A")
    creds = load_identity_files(certs, "coordinator")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers([_who_am_i(PeerVerifier(certs))])
    port = server.add_secure_port(
        "localhost:0",
        grpc.ssl_server_credentials(
            [(creds.key_pem, creds.cert_pem)],
            root_certificates=creds.ca_pem,
            require_client_auth=True,
        ),
    )
    server.start()
    try:
        yield certs, port
    finally:
        server.stop(None)


def _call(certs: Path, name: str, port: int, ca_dir: Path | None = None) -> bytes:
    creds = load_identity_files(certs, name)
    ca_pem = (ca_dir or certs).joinpath("ca.crt").read_bytes()
    channel_creds = grpc.ssl_channel_credentials(ca_pem, creds.key_pem, creds.cert_pem)
    with grpc.secure_channel(f"localhost:{port}", channel_creds) as channel:
        return channel.unary_unary(_METHOD)(b"", timeout=5)


def test_valid_client_is_identified(federation: tuple[Path, int]) -> None:
    certs, port = federation
    assert _call(certs, "bank-a", port) == b"bank-a/bank"


def test_client_from_foreign_ca_refused_by_handshake(
    federation: tuple[Path, int], tmp_path: Path
) -> None:
    # prepare: same names, other CA; the client trusts the real CA for the server
    certs, port = federation
    rogue = tmp_path / "rogue"
    create_ca(rogue)
    issue_certificate(rogue, "bank-a", role="bank", organization="Bank A")
    # execute / assert
    with pytest.raises(grpc.RpcError) as err:
        _call(rogue, "bank-a", port, ca_dir=certs)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_expired_client_refused_by_handshake(federation: tuple[Path, int]) -> None:
    certs, port = federation
    issue_certificate(
        certs,
        "old",
        role="bank",
        organization="Bank",
        not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=20),
        days=10,
    )
    with pytest.raises(grpc.RpcError) as err:
        _call(certs, "old", port)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_revoked_client_refused_on_the_call(federation: tuple[Path, int]) -> None:
    # prepare
    certs, port = federation
    assert _call(certs, "bank-a", port) == b"bank-a/bank"
    revoke(certs, certs / "bank-a.crt")
    # execute / assert: no server restart
    with pytest.raises(grpc.RpcError) as err:
        _call(certs, "bank-a", port)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "was revoked" in (err.value.details() or "")


def test_server_from_foreign_ca_refused_by_client(
    federation: tuple[Path, int], tmp_path: Path
) -> None:
    # prepare: the client trusts another CA only
    certs, port = federation
    rogue = tmp_path / "rogue"
    create_ca(rogue)
    # execute / assert
    with pytest.raises(grpc.RpcError) as err:
        _call(certs, "bank-a", port, ca_dir=rogue)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
