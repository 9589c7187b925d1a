"""Assemble and run the coordinator: store, relay, job runner, witness, access log, mTLS server."""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from coordinator.jobs import JobRunner
from coordinator.runtime.config import CoordinatorConfig
from coordinator.servicer import serde
from coordinator.servicer.access import COORDINATOR_ACCESS
from coordinator.servicer.caller import CallerIdentities
from coordinator.servicer.coordinator_servicer import CoordinatorServicer
from coordinator.servicer.limits import CallerLimits, LimitInterceptor, RefusalLog
from coordinator.servicer.relay import RecipientOffline, Relay
from coordinator.state import CoordinatorStore, JobRecord
from coordinator.state.database import open_database
from coordinator.state.sealing import SecretBox
from coordinator.witness import CheckpointWitness
from coordinator.witness.quarantine import Quarantine
from node.audit import AccessLog, Actor
from node.audit.sink import AuditSink
from node.console.config import ConsoleConfig
from node.crypto.envelope import ReplayGuard
from node.crypto.replay import PersistentReplayGuard
from node.pki import PeerVerifier, load_identity_files
from node.pki.identity import Identity, Principal
from node.state import private_dir, private_file, restrict_new_files
from node.telemetry import TracingInterceptor
from node.telemetry.metrics import record_relay
from node.transport.auth import PeerAuthInterceptor
from node.transport.directory import PeerDirectory
from node.transport.grpc_options import create_server, server_credentials, set_serving
from node.transport.probe import echo_envelope
from node.transport.relay_channel import EnvelopeRouter, RecipientGone
from node.transport.sealing import DirectorySealer, peek_route
from protos.fedcredit.v1 import common_pb2, coordinator_pb2, coordinator_pb2_grpc

if TYPE_CHECKING:
    from node.console.server import ConsoleServer

log = logging.getLogger("fedcredit.coordinator")

SERVICE_NAME = "fedcredit.v1.Coordinator"


class WitnessEdge:
    """Connects the witness to authenticated callers: their checkpoint key is in their cert."""

    def __init__(self, witness: CheckpointWitness) -> None:
        self.witness = witness

    def accept(self, who: Identity, checkpoint: bytes, proof: list[bytes]) -> int:
        key = Ed25519PublicKey.from_public_bytes(who.sign_public)
        return self.witness.publish(who.node_id, key, checkpoint, proof)

    def held_size(self, node_id: str) -> int:
        size = self.witness.accepted_size(node_id)
        return -1 if size is None else size


class CoordinatorServer:
    """A running coordinator. ``start`` binds and serves; ``stop`` drains and closes."""

    def __init__(self, config: CoordinatorConfig) -> None:
        self.config = config
        creds = load_identity_files(config.cert_dir, config.cert_name)
        self.identity = creds.identity
        verifier = PeerVerifier(config.cert_dir)
        restrict_new_files()
        state = private_dir(config.state_dir)
        local = None if config.state_url else private_file(config.database)
        database = open_database(config.state_url, local or config.database)
        self.store = CoordinatorStore(database, SecretBox.for_coordinator(creds.sign_key))
        self.relay = Relay()
        self.access_log = AccessLog.open(
            private_dir(state / "audit"), creds.sign_key, "coordinator", checkpoint_interval=30.0
        )
        actor = Actor(creds.identity.organization, "coordinator", "coordinator")
        self.sink = AuditSink(self.access_log, actor)
        # The witness shares a configured database (a standby takes it over); the embedded
        # default keeps it in its own SQLite file, as it always was.
        witness_db = database if config.state_url else private_file(state / "witness.sqlite")
        self.witness = WitnessEdge(CheckpointWitness(witness_db))
        self.quarantine = Quarantine(
            self.store, lambda op, details: self.sink.record("admin", {"operation": op, **details})
        )
        directory = PeerDirectory(
            lambda: [(n.node_id, n.certificate_pem) for n in self.store.nodes()], verifier
        )
        self.router = EnvelopeRouter(
            "coordinator",
            DirectorySealer(creds, directory, PersistentReplayGuard(config.state_dir)),
            self._push_sealed,
        )
        self.runner = JobRunner(
            self.store,
            assign=self._assign,
            notify_left=self._notify_left,
            router=self.router,
            is_online=self.relay.online,
            audit=self.sink.record,
            on_job_event=self.sink.job,
            on_attempt_end=self._log_relayed,
            party_wait_s=config.party_wait_s,
            capabilities=self._capabilities,
            party_problem=self._party_problem,
            auto_resume_window_s=config.auto_resume_window_s,
        )
        self.relay.on_offline(self.runner.party_offline)
        self.relay.on_online(self.runner.party_online)
        self._verifier = verifier
        refusals = RefusalLog(self._refusal_burst)

        # every layer of a call asks who calls; the certificate is verified once per call
        identify = CallerIdentities(verifier)
        servicer = CoordinatorServicer(
            store=self.store,
            relay=self.relay,
            runner=self.runner,
            router=self.router,
            identify=identify,
            recheck=identify.again,
            own_certificate=creds.cert_pem,
            limits=config.limits,
            refusals=refusals,
            admin_log=self._admin_log,
            quarantine=self.quarantine,
            on_new_certificate=lambda node_id: directory.refresh(),
            witness=self.witness,
            # diagnostic pings carry random bytes: an in-memory replay guard is enough
            echo=functools.partial(echo_envelope, creds=creds, guard=ReplayGuard()),
        )
        self.servicer = servicer
        interceptor = PeerAuthInterceptor(
            verifier,
            COORDINATOR_ACCESS,
            self.sink.decision_recorder(log_allowed=False),
            identify=identify,
        )
        limiter = LimitInterceptor(CallerLimits(config.limits, refusals), identify)
        self.server, self.health, self.port = create_server(
            server_credentials(creds.cert_pem, creds.key_pem, creds.ca_pem),
            config.listen,
            [TracingInterceptor(), interceptor, limiter],
            max_workers=config.server_threads,
        )
        coordinator_pb2_grpc.add_CoordinatorServicer_to_server(servicer, self.server)
        self._own_certificate = creds.cert_pem
        self.console: ConsoleServer | None = None
        self._stopped = threading.Event()

    def _capabilities(self, node_id: str) -> dict[str, dict[str, list[str]]] | None:
        """Per dataset and field, the purposes the node's policy offers (as it registered)."""
        node = self.store.node(node_id)
        if node is None:
            return None
        return {
            d["name"]: {f["name"]: list(f["purposes"]) for f in d.get("fields", [])}
            for d in json.loads(node.datasets_json)
        }

    def _party_problem(self, node_id: str) -> str | None:
        """Why a job may not name ``node_id`` now: never registered, or quarantined."""
        if self.store.node(node_id) is None:
            return "no node of that id has ever registered with this coordinator"
        reason = self.quarantine.reason(node_id)
        if reason is not None:
            return f"quarantined ({reason}); an operator must release it first"
        return None

    def _admin_log(self, who: Principal, operation: str, details: Mapping[str, object]) -> None:
        """An allowed administrative call, in the access log under its caller."""
        caller = Actor(who.organization, who.node_id, who.role)
        self.sink.record("admin", {"operation": operation, **details}, actor=caller)

    def _refusal_burst(self, caller: str, what: str, count: int) -> None:
        """Refused calls, written once per burst (``RefusalLog``), never once per call."""
        self.sink.record(
            "denial",
            {"operation": "calls_refused", "caller": caller, "reason": what, "count": count},
        )

    def _log_relayed(self, job_key: str, job_id: str) -> None:
        """One access-log entry per (sender, recipient) of a finished attempt: envelopes, bytes."""
        for (sender, recipient), (envelopes, size) in sorted(
            self.relay.take_counts(job_key).items()
        ):
            self.sink.relayed(job_id, sender, recipient, envelopes, size)

    def _push_sealed(self, sealed: bytes) -> None:
        sender, recipient, job_key = peek_route(sealed)
        try:
            self.relay.push(
                recipient, coordinator_pb2.NodeEvent(envelope=common_pb2.Envelope(sealed=sealed))
            )
        except RecipientOffline as exc:
            raise RecipientGone(recipient, str(exc)) from None
        self.relay.count(job_key, sender, recipient, len(sealed))
        record_relay(len(sealed))

    def _assign(self, party: str, job: JobRecord, attempt: int) -> None:
        self.relay.push(party, serde.task_to_proto(job, attempt))

    def _notify_left(self, party: str, job_id: str, attempt: int, gone: str, reason: str) -> None:
        self.relay.push(party, serde.party_left_to_proto(job_id, attempt, gone, reason))

    def _serve_console(self, config: ConsoleConfig) -> ConsoleServer:
        # imported here: a coordinator without a console skips its web stack, a third of a
        # second at every start
        from coordinator.console.views import TEMPLATES as CONSOLE_TEMPLATES
        from coordinator.console.views import CoordinatorViews
        from node.console.serve import serve_console

        views = CoordinatorViews(
            self.store, self.runner, self.witness.witness, self.relay.online,
            self._own_certificate,
            lambda node_id: self.servicer.software_versions.get(node_id, ""),
        )  # fmt: skip
        return serve_console(
            config, title="coordinator", organization=self.identity.organization,
            cert_dir=self.config.cert_dir, cert_name=self.config.cert_name,
            state_dir=self.config.state_dir, verify=self._verifier, sink=self.sink,
            pages=views.pages(), template_dirs=[CONSOLE_TEMPLATES],
        )  # fmt: skip

    def start(self) -> None:
        self.server.start()
        set_serving(self.health, [SERVICE_NAME], True)
        if self.config.console is not None:
            self.console = self._serve_console(self.config.console)
        resumed = self.runner.resume_unfinished()
        self.sink.record(
            "admin", {"operation": "coordinator_started", "resumed_jobs": len(resumed)}
        )
        log.info("coordinator serving on port %d; resumed %d job(s)", self.port, len(resumed))

    def stop(self, grace: float = 3.0) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        set_serving(self.health, [SERVICE_NAME], False)
        if self.console is not None:
            self.console.stop(grace)
        self.runner.stop()
        self.relay.close_all()
        self.server.stop(grace).wait(grace + 1)
        self.sink.record("admin", {"operation": "coordinator_stopped"})
        self.access_log.checkpoint()  # the whole history is signed before the process ends
        self.access_log.close()
        self.witness.witness.close()
        self.store.close()
