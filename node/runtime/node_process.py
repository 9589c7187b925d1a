"""Assemble and run a node: datasets, policy, access log, its own server, the coordinator link."""

from __future__ import annotations

import logging
import threading
from importlib.metadata import version
from typing import TYPE_CHECKING

from node.audit import AccessLog, Actor
from node.audit.sink import AuditSink
from node.compute import compute_executor
from node.console.config import ConsoleConfig
from node.crypto.replay import PersistentReplayGuard
from node.data.datasets import NodeDatasets, UnknownDataset
from node.governance.evidence import remember_witnessed
from node.governance.offline import NodeFiles
from node.governance.service import NodeGovernance
from node.jobs.context import FieldGate
from node.monitoring.exceptions import MonitoringError
from node.monitoring.node import Monitoring
from node.pki import PeerVerifier, PkiError, load_identity_files
from node.policy import Decision, PolicyEngine
from node.runtime.config import ConfigError, NodeConfig
from node.runtime.gate import PolicyGate
from node.runtime.link import CoordinatorLink
from node.runtime.secrets import node_secret
from node.runtime.state_lock import StateLock
from node.runtime.tasks import Assignment, TaskRunner
from node.scoring.config import parse_scoring_config
from node.scoring.lending import Lending
from node.servicer.access import NODE_ACCESS
from node.servicer.node_servicer import NodeServicer, dataset_infos
from node.state import InvalidIdentifier, check_identifier, private_dir, restrict_new_files
from node.telemetry import TracingInterceptor
from node.transport.auth import PeerAuthInterceptor, peer_certificate
from node.transport.directory import PeerDirectory
from node.transport.grpc_options import create_server, server_credentials, set_serving
from node.transport.probe import EchoService
from node.transport.relay_channel import EnvelopeRouter
from node.transport.sealing import DirectorySealer
from protos.fedcredit.v1 import coordinator_pb2, node_pb2_grpc

if TYPE_CHECKING:
    from node.console.server import ConsoleServer

log = logging.getLogger("fedcredit.node")

SERVICE_NAME = "fedcredit.v1.Node"


class NodeProcess:
    """A running node. Construction validates everything (certificates, data, policy) first,
    so a misconfigured node refuses to start with a message naming what is wrong."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        creds = load_identity_files(config.cert_dir, config.cert_name)
        if creds.identity.node_id != config.node_id:
            raise ConfigError(
                str(config.cert_dir),
                f"config says {config.node_id!r} but the certificate names "
                f"{creds.identity.node_id!r}",
                key="node_id",
                fix="use the certificate issued for this node",
            )
        verifier = PeerVerifier(config.cert_dir)
        reason = None
        try:
            verifier(creds.cert_pem)
        except PkiError as exc:
            reason = str(exc)
        if reason is not None:
            raise PkiError(f"this node's own certificate is unusable: {reason}")
        self.identity = creds.identity
        restrict_new_files()
        private_dir(config.state_dir)
        self._state_lock = StateLock.acquire(config.state_dir)
        secret = node_secret(config.state_dir)
        self.datasets = NodeDatasets(config.datasets)
        if config.policy is None:
            raise ConfigError(
                str(config.cert_dir),
                "a node needs a policy file",
                key="policy",
                fix="name one (a policy with no rules denies everything)",
            )
        self.access_log = AccessLog.open(
            private_dir(config.state_dir / "audit"), creds.sign_key, config.node_id
        )
        actor = Actor(creds.identity.organization, creds.identity.node_id, creds.identity.role)
        self.sink = AuditSink(self.access_log, actor, lambda: self.engine.version)
        self.engine = PolicyEngine.load(config.policy, secret, on_decision=self._record_decision)
        self.sink.record(
            "policy_change", {"operation": "policy_loaded", "policy_version": self.engine.version}
        )
        self.governance = NodeGovernance(
            config.governance,
            config.state_dir,
            secret,
            self.access_log,
            self.sink.record,
            actor.label(),
        )
        self.link = CoordinatorLink(
            config.coordinator,
            creds,
            register_request=self._register_request,
            on_event=self._on_event,
            on_disconnect=self._on_disconnect,
            on_registered=self._on_registered,
            running_jobs=lambda: self.tasks.running_jobs(),
        )
        self.directory = PeerDirectory(self.link.directory, verifier)
        scoring = parse_scoring_config(config.scoring, creds.identity.role)
        self.router = EnvelopeRouter(
            config.node_id,
            DirectorySealer(creds, self.directory, PersistentReplayGuard(config.state_dir)),
            self.link.send_sealed,
        )
        self.echo = EchoService(self.router)  # answers `fedcredit diagnose` pings
        self.lending = Lending(
            creds=creds, config=scoring, state_dir=config.state_dir, secret=secret,
            datasets=self.datasets, engine=self.engine, sink=self.sink, router=self.router,
            directory=self.directory,
        )  # fmt: skip
        try:
            self.monitoring = Monitoring(
                section=config.monitoring, state_dir=config.state_dir, lending=self.lending,
                scoring=scoring, datasets=self.datasets, engine=self.engine, sink=self.sink,
                router=self.router,
            )  # fmt: skip
        except (MonitoringError, UnknownDataset) as exc:
            raise ConfigError(str(config.state_dir), str(exc), key="monitoring") from None
        self.pool = compute_executor(config.compute)
        self.tasks = TaskRunner(
            config.node_id,
            self.router,
            self.datasets,
            self._gate_for,
            config.state_dir,
            report=self.link.report,
            record=self.sink.record,
            pool=self.pool,
        )
        servicer = NodeServicer(
            identity=creds.identity,
            datasets=self.datasets,
            engine=self.engine,
            sink=self.sink,
            identify=lambda ctx: verifier(peer_certificate(ctx)),
            lending=self.lending,
            monitoring=self.monitoring.service,
            governance=self.governance,
        )
        interceptor = PeerAuthInterceptor(
            verifier,
            NODE_ACCESS,
            self.sink.decision_recorder(log_allowed=True),
            admit=self.governance.admit,
        )
        self.server, self.health, self.port = create_server(
            server_credentials(creds.cert_pem, creds.key_pem, creds.ca_pem),
            config.listen,
            [TracingInterceptor(), interceptor],
        )
        node_pb2_grpc.add_NodeServicer_to_server(servicer, self.server)
        self._console_parts = (creds, verifier)
        self.console: ConsoleServer | None = None
        self._witnessed = -1
        self._stop = threading.Event()
        self._publisher = threading.Thread(target=self._publish_loop, daemon=True)

    # wiring ----------------------------------------------------------------------------

    def _record_decision(self, decision: Decision) -> None:
        """Every policy decision, allowed or denied, becomes an access-log entry."""
        actor = Actor(decision.organization, decision.node_id, decision.role)
        self.sink.record(
            "read" if decision.allowed else "denial",
            {
                "purpose": decision.purpose,
                "result": "allowed" if decision.allowed else decision.code,
                "dataset": decision.dataset or "",
                "fields": list(decision.requested),
                "policy_version": decision.version,
                "decision_id": decision.decision_id,
                "missing_rules": len(decision.missing),
            },
            actor=actor,
        )

    def _gate_for(self, parties: tuple[str, ...]) -> FieldGate:
        return PolicyGate(
            self.engine, self.identity, parties, self.directory.identity, self.lending.training
        )

    def _register_request(self) -> coordinator_pb2.RegisterRequest:
        host = self.config.listen.rsplit(":", 1)[0]
        return coordinator_pb2.RegisterRequest(
            datasets=dataset_infos(self.datasets, self.engine),
            node_address=f"{host}:{self.port}",
            policy_version=self.engine.version,
            software_version=version("fedcredit"),
        )

    def _on_registered(self, response: coordinator_pb2.RegisterResponse) -> None:
        self._witnessed = response.witnessed_log_size
        self.directory.refresh()
        self.sink.record("admin", {"operation": "registered_with_coordinator"})

    def _on_event(self, event: coordinator_pb2.NodeEvent) -> None:
        kind = event.WhichOneof("event")
        if kind == "envelope":
            try:
                self.router.deliver(event.envelope.sealed)
            except Exception as exc:  # a refused envelope must not end the stream
                log.warning("refused an envelope: %s", exc)
                self.sink.record("denial", {"operation": "envelope_refused", "reason": str(exc)})
        elif kind == "task":
            t = event.task
            try:  # ids name files here (checkpoints, alignments, models): check them first
                for kind_, value in (("job id", t.job_id), *(("party", p) for p in t.parties)):
                    check_identifier(kind_, value)
            except InvalidIdentifier as exc:
                log.warning("refused a task assignment: %s", exc)
                self.sink.record("denial", {"operation": "task_refused", "reason": str(exc)})
                return
            self.directory.refresh()
            self.tasks.assign(
                Assignment(t.job_id, t.job_type, t.spec_yaml, t.attempt, tuple(t.parties))
            )
        elif kind == "party_left":
            p = event.party_left
            self.tasks.party_left(p.job_id, p.attempt, p.party, p.reason)
        elif kind == "cancelled":
            log.info("job %s cancelled: %s", event.cancelled.job_id, event.cancelled.reason)

    def _on_disconnect(self, reason: str) -> None:
        self.router.fail_all("coordinator", reason)

    def _serve_console(self, config: ConsoleConfig) -> ConsoleServer:
        # imported here: most nodes run no console, and its web stack costs a third of a
        # second at every start
        from node.console.serve import node_pages, serve_console

        creds, verifier = self._console_parts
        return serve_console(
            config, title=f"node {self.config.node_id}",
            organization=creds.identity.organization, cert_dir=self.config.cert_dir,
            cert_name=self.config.cert_name, state_dir=self.config.state_dir, verify=verifier,
            sink=self.sink,
            pages=node_pages(
                creds, self.config.state_dir / "audit", self.engine, self.datasets,
                self.lending.records, lambda: self.monitoring.service, self.governance,
                self._node_files,
            ),
        )  # fmt: skip

    def _node_files(self) -> NodeFiles:
        """The node's governance files, read-only, as ``fedcredit trace`` opens them."""
        c = self.config
        return NodeFiles.open(c.node_id, c.state_dir, c.cert_dir / f"{c.cert_name}.crt")

    def publish_checkpoint(self) -> int:
        """Sign a checkpoint and have the coordinator's witness accept it; return its size."""
        previous = self._witnessed if self._witnessed >= 0 else None
        checkpoint, proof = self.access_log.publication(previous)
        self._witnessed = self.link.publish_checkpoint(checkpoint.to_bytes(), proof)
        if self._witnessed == checkpoint.size:  # evidence for trace and incident reports
            remember_witnessed(self.governance.directory, checkpoint)
        return self._witnessed

    def _publish_loop(self) -> None:
        while not self._stop.wait(self.config.checkpoint_interval_s):
            if not self.link.connected.is_set():
                continue
            try:
                self.publish_checkpoint()
            except Exception as exc:
                log.warning("checkpoint not published: %s", exc)

    # life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.server.start()
        set_serving(self.health, [SERVICE_NAME], True)
        self.link.start()
        self._publisher.start()
        self.governance.start()
        if self.config.console is not None:
            self.console = self._serve_console(self.config.console)
        self.sink.record("admin", {"operation": "node_started"})
        log.info("node %s serving on port %d", self.config.node_id, self.port)

    def stop(self, grace: float = 3.0) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        set_serving(self.health, [SERVICE_NAME], False)
        if self.link.connected.is_set():
            try:
                self.publish_checkpoint()
            except Exception as exc:
                log.warning("final checkpoint not published: %s", exc)
        if self.console is not None:
            self.console.stop(grace)
        self.link.stop()
        self.router.fail_all("coordinator", "this node is shutting down")
        self.tasks.join(grace)
        self.server.stop(grace).wait(grace + 1)
        self.pool.shutdown(cancel_futures=True)
        self.monitoring.close()
        self.lending.close()
        self.echo.close()
        self.governance.stop()
        self.sink.record("admin", {"operation": "node_stopped"})
        self.access_log.checkpoint()  # the whole history is signed before the process ends
        self.access_log.close()
        self._state_lock.release()
