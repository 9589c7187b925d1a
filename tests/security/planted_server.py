"""A real mTLS Node server whose handlers fail inside pandas on the caller's input.

Run as ``python -m tests.security.planted_server CERT_DIR NAME TRACES``: it serves the Node
service with the interceptors every fedcredit server installs (tracing, authentication and
the error catalog) and the daemon's span exporter, prints ``listening on port N`` and stops
on SIGTERM, flushing its spans. ``Release`` runs ``pandas.to_numeric`` on the request's
filter and ``AuditExport`` streams one chunk first, so a value planted in the input ends up
in a genuine pandas exception message (unary and streaming calls).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pandas as pd

from node.pki import PeerVerifier, load_identity_files
from node.servicer.access import NODE_ACCESS
from node.telemetry import TracingInterceptor
from node.telemetry.setup import configure_telemetry
from node.transport.auth import PeerAuthInterceptor
from node.transport.grpc_options import create_server, server_credentials
from protos.fedcredit.v1 import node_pb2, node_pb2_grpc


class FailingNode(node_pb2_grpc.NodeServicer):
    """Handlers with the kind of bug the catalog must contain."""

    def Release(
        self, request: node_pb2.ReleaseRequest, context: grpc.ServicerContext
    ) -> node_pb2.ReleaseResponse:
        pd.to_numeric(pd.Series([request.filter]))  # ValueError quoting the value
        return node_pb2.ReleaseResponse()

    def AuditExport(
        self, request: node_pb2.AuditExportRequest, context: grpc.ServicerContext
    ) -> Iterator[node_pb2.AuditExportChunk]:
        yield node_pb2.AuditExportChunk(data=b"header")
        pd.Series(["x"]).astype(float)
        yield node_pb2.AuditExportChunk(data=b"never")


def main(cert_dir: str, name: str, traces: str) -> None:
    provider = configure_telemetry("planted", Path(traces))
    creds = load_identity_files(cert_dir, name)
    verifier = PeerVerifier(cert_dir)
    server, _, port = create_server(
        server_credentials(creds.cert_pem, creds.key_pem, creds.ca_pem),
        "127.0.0.1:0",
        [TracingInterceptor(), PeerAuthInterceptor(verifier, NODE_ACCESS)],
    )
    node_pb2_grpc.add_NodeServicer_to_server(FailingNode(), server)
    server.start()
    print(f"listening on port {port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop(1).wait(2)
    provider.shutdown()


if __name__ == "__main__":
    main(*sys.argv[1:4])
