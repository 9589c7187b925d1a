"""gRPC server and channel construction with mutual TLS, shared by nodes and the coordinator."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from node.pki.identity import peer_dns_name
from node.transport.limits import MAX_GRPC_MESSAGE_BYTES
from node.transport.propagation import TraceContextClientInterceptor

CHANNEL_OPTIONS: Sequence[tuple[str, int | str]] = (
    ("grpc.max_send_message_length", MAX_GRPC_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_GRPC_MESSAGE_BYTES),
    # Keepalive pings let both ends notice a dead peer on an idle stream within ~30 s instead
    # of the OS TCP timeout (hours); the server below permits pings this frequent.
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
)

SERVER_OPTIONS: Sequence[tuple[str, int]] = (
    ("grpc.max_send_message_length", MAX_GRPC_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_GRPC_MESSAGE_BYTES),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 0),
)


def server_credentials(cert_pem: bytes, key_pem: bytes, ca_pem: bytes) -> grpc.ServerCredentials:
    """TLS credentials that demand and verify a client certificate from the federation CA."""
    return grpc.ssl_server_credentials(
        [(key_pem, cert_pem)],
        root_certificates=ca_pem,
        # Explicit although it is the point of the design: no client certificate, no call.
        require_client_auth=True,
    )


def channel_credentials(cert_pem: bytes, key_pem: bytes, ca_pem: bytes) -> grpc.ChannelCredentials:
    """TLS credentials presenting our certificate and trusting only the federation CA."""
    return grpc.ssl_channel_credentials(
        root_certificates=ca_pem, private_key=key_pem, certificate_chain=cert_pem
    )


def secure_channel(address: str, credentials: grpc.ChannelCredentials, peer: str) -> grpc.Channel:
    """A channel to ``address`` that only completes TLS with the certificate issued to ``peer``.

    TLS checks the server's certificate against ``peer_dns_name(peer)`` rather than the dialled
    address: every federation certificate comes from the same CA, so without this any member
    that can intercept traffic could pose as the coordinator or another node.
    Calls carry the caller's trace context (``node.transport.propagation``).
    """
    options = [*CHANNEL_OPTIONS, ("grpc.ssl_target_name_override", peer_dns_name(peer))]
    channel = grpc.secure_channel(address, credentials, options=options)
    return grpc.intercept_channel(channel, TraceContextClientInterceptor())


def create_server(
    credentials: grpc.ServerCredentials,
    address: str,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    max_workers: int = 32,
) -> tuple[grpc.Server, health.HealthServicer, int]:
    """Build an mTLS server with the standard health service; return it unstarted.

    ``max_workers`` bounds concurrent RPCs; every connected node holds one streaming call, so
    it must exceed the number of nodes plus headroom for unary calls.

    Returns the server, its health servicer (``NOT_SERVING`` until the caller flips it after
    start-up) and the bound port (useful with port 0).
    """
    server = grpc.server(
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        interceptors=list(interceptors),
        options=list(SERVER_OPTIONS),
    )
    health_servicer = health.HealthServicer()
    health_servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_secure_port(address, credentials)
    if port == 0:
        raise OSError(f"could not bind {address}; is the port in use?")
    return server, health_servicer, port


def set_serving(health_servicer: health.HealthServicer, services: Sequence[str], up: bool) -> None:
    """Flip the health status of the server and each named service together."""
    status = (
        health_pb2.HealthCheckResponse.SERVING if up else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in ("", *services):
        health_servicer.set(name, status)
