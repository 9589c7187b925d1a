"""Trace context and RPC metrics over a real mutual-TLS gRPC call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from node.pki import PeerVerifier, create_ca, issue_certificate, load_identity_files
from node.servicer.access import NODE_ACCESS
from node.telemetry import TracingInterceptor, tracer
from node.telemetry.prometheus import render
from node.telemetry.setup import Telemetry
from node.transport.auth import PeerAuthInterceptor
from node.transport.client import health_status, open_channel
from node.transport.grpc_options import create_server, server_credentials, set_serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    certs = tmp_path_factory.mktemp("certs")
    create_ca(certs)
    issue_certificate(certs, "bank", role="bank", organization="bank-a")
    issue_certificate(certs, "operator", role="operator", organization="ops")
    creds = load_identity_files(certs, "bank")
    grpc_server, health, port = create_server(
        server_credentials(creds.cert_pem, creds.key_pem, creds.ca_pem),
        "127.0.0.1:0",
        [TracingInterceptor(), PeerAuthInterceptor(PeerVerifier(certs), NODE_ACCESS)],
    )
    grpc_server.start()
    set_serving(health, [], True)
    try:
        yield certs, port
    finally:
        grpc_server.stop(0).wait()


def test_server_span_continues_the_callers_trace(
    telemetry: Telemetry,
    finished_spans: Callable[[], list[dict[str, Any]]],
    server: tuple[Path, int],
) -> None:
    # prepare
    certs, port = server
    # execute: a call made inside a span of the caller
    with (
        tracer.start_as_current_span("caller") as caller,
        open_channel(f"127.0.0.1:{port}", certs, "operator", peer="bank") as channel,
    ):
        assert health_status(channel) == "SERVING"
    # assert: the server's span is in the caller's trace, as the caller's child
    ctx = caller.get_span_context()
    served = [s for s in finished_spans() if s["name"] == "grpc.health.v1.Health/Check"]
    mine = [s for s in served if s["context"]["trace_id"] == f"0x{ctx.trace_id:032x}"]
    assert len(mine) == 1
    assert mine[0]["parent_id"] == f"0x{ctx.span_id:016x}"
    assert mine[0]["kind"] == "SpanKind.SERVER"


def test_a_call_outside_any_span_starts_its_own_trace(
    telemetry: Telemetry,
    finished_spans: Callable[[], list[dict[str, Any]]],
    server: tuple[Path, int],
) -> None:
    # execute
    certs, port = server
    before = len(finished_spans())
    with open_channel(f"127.0.0.1:{port}", certs, "operator", peer="bank") as channel:
        health_status(channel)
    # assert: a root server span (no parent)
    new = [s for s in finished_spans()[before:] if s["name"] == "grpc.health.v1.Health/Check"]
    assert [s["parent_id"] for s in new] == [None]


def test_rpc_latency_is_scraped_in_prometheus_format(
    telemetry: Telemetry, server: tuple[Path, int]
) -> None:
    # prepare: one allowed and one refused call (the operator may not export an audit log)
    certs, port = server
    with open_channel(f"127.0.0.1:{port}", certs, "operator", peer="bank") as channel:
        health_status(channel)
    # execute
    text = render(telemetry.reader).decode()
    # assert: a histogram per method and status, with buckets, count and sum
    lines = [line for line in text.splitlines() if line.startswith("fedcredit_rpc_server")]
    assert any(
        line.startswith("fedcredit_rpc_server_duration_seconds_count{")
        and 'rpc_method="Check"' in line
        and 'rpc_grpc_status_code="OK"' in line
        for line in lines
    )
    assert any('le="+Inf"' in line for line in lines)
    assert "# TYPE fedcredit_rpc_server_duration_seconds histogram" in text
