"""Assemble a process's console from its live parts and serve it beside the gRPC server."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography import x509

from node.audit.sink import AuditSink
from node.console.app import Console, Page
from node.console.config import PORT_FILE, ConsoleConfig
from node.console.metrics_page import metrics_page
from node.console.server import ConsoleServer
from node.console.views import NodeViews
from node.data.datasets import NodeDatasets
from node.governance.offline import NodeFiles
from node.governance.service import NodeGovernance
from node.monitoring.service import MonitoringService
from node.pki.files import NodeCredentials
from node.pki.identity import Identity
from node.policy import PolicyEngine
from node.scoring.records import DecisionRecords

log = logging.getLogger("fedcredit.console")


def serve_console(
    config: ConsoleConfig,
    *,
    title: str,
    organization: str,
    cert_dir: Path,
    cert_name: str,
    state_dir: Path,
    verify: Callable[[x509.Certificate], Identity],
    sink: AuditSink,
    pages: Sequence[Page],
    template_dirs: Sequence[Path] = (),
) -> ConsoleServer:
    """Build the app for ``pages`` (plus ``/metrics``) and start serving it; return the server.

    ``organization`` is the process's own: pages marked ``own_organization`` require it.
    """
    console = Console(
        title=title,
        organization=organization,
        verify=verify,
        on_decision=sink.decision_recorder(log_allowed=True),  # every page view is logged
        pages=[*pages, metrics_page()],
        template_dirs=template_dirs,
    )
    server = ConsoleServer(console.app(), config.listen, cert_dir, cert_name)
    server.start()
    (state_dir / PORT_FILE).write_text(f"{server.port}\n")
    log.info("console on https://%s:%d", config.listen.rpartition(":")[0], server.port)
    return server


def node_pages(
    creds: NodeCredentials,
    log_dir: Path,
    engine: PolicyEngine,
    datasets: NodeDatasets,
    records: DecisionRecords | None,
    monitoring: Callable[[], MonitoringService | None],
    governance: NodeGovernance | None = None,
    node_files: Callable[[], NodeFiles] | None = None,
) -> list[Page]:
    """The node's own pages (see ``node.console.views``); ``node_files`` opens the node's
    governance files read-only for tracing a leaked file."""
    ends = x509.load_pem_x509_certificate(creds.cert_pem).not_valid_after_utc
    return NodeViews(
        creds.identity, log_dir, engine, datasets, records, monitoring, ends, governance,
        node_files,
    ).pages()  # fmt: skip
