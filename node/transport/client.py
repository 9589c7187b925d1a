"""Open mTLS channels to the coordinator or a node as an operator, auditor or node."""

from __future__ import annotations

from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node.pki import load_identity_files
from node.transport.grpc_options import channel_credentials, secure_channel


def open_channel(
    address: str, cert_dir: Path | str, name: str, peer: str = "coordinator"
) -> grpc.Channel:
    """A channel to ``peer`` at ``address``, presenting the certificate ``<cert_dir>/<name>.crt``.

    The server must hold the certificate issued to ``peer`` (the coordinator by default, or a
    node id when talking to a node directly).
    """
    creds = load_identity_files(cert_dir, name)
    credentials = channel_credentials(creds.cert_pem, creds.key_pem, creds.ca_pem)
    return secure_channel(address, credentials, peer)


def health_status(channel: grpc.Channel, service: str = "", timeout: float = 5.0) -> str:
    """The standard gRPC health status of ``service`` (``""``: the whole server)."""
    stub = health_pb2_grpc.HealthStub(channel)
    response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))
