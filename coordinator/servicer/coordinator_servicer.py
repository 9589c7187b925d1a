"""The Coordinator gRPC service: unpack, call the registry/relay/job runner, pack, map errors."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from coordinator.jobs import JobRunner
from coordinator.servicer import serde
from coordinator.servicer.probe import ProbeBoard
from coordinator.servicer.relay import RecipientOffline, Relay
from coordinator.state import CoordinatorStore, NodeRecord
from coordinator.witness.exceptions import CheckpointRefused
from node.crypto.exceptions import InvalidEnvelope
from node.diagnose.probe import PROBE_JOB
from node.jobs.exceptions import DuplicateJobId, JobSpecError
from node.pki.identity import Identity, Principal
from node.transport.auth import peer_certificate
from node.transport.errors import ServiceError, classify
from node.transport.relay_channel import EnvelopeRouter
from protos.fedcredit.v1 import common_pb2, coordinator_pb2, coordinator_pb2_grpc

log = logging.getLogger("fedcredit.coordinator.servicer")

COORDINATOR = "coordinator"
HEARTBEAT_INTERVAL_S = 5.0
STREAM_POLL_S = 0.5
# How often an open stream re-checks its peer's certificate (revocation while connected).
RECHECK_S = 2.0
# The longest a diagnostic probe waits for a peer's echo (a 32 MiB ping on a slow link).
PROBE_WAIT_MAX_S = 60.0


class CoordinatorServicer(coordinator_pb2_grpc.CoordinatorServicer):
    """Thin edge over the coordinator's domain objects."""

    def __init__(
        self,
        *,
        store: CoordinatorStore,
        relay: Relay,
        runner: JobRunner,
        router: EnvelopeRouter,
        identify: Callable[[grpc.ServicerContext], Principal],
        peek_route: Callable[[bytes], tuple[str, str, str]],
        own_certificate: bytes,
        witness: Any = None,
        echo: Callable[[bytes, Identity], bytes] | None = None,
    ) -> None:
        self._store = store
        self._relay = relay
        self._runner = runner
        self._router = router
        self._identify = identify
        self._peek_route = peek_route
        self._own_certificate = own_certificate
        self._witness = witness
        self._echo = echo  # answers diagnostic pings addressed to the coordinator
        self._probes = ProbeBoard()
        # node id -> the fedcredit version it reported when it last registered (kept in
        # memory: every node registers again whenever it reconnects)
        self.software_versions: dict[str, str] = {}

    # registry --------------------------------------------------------------------------

    def Register(
        self, request: coordinator_pb2.RegisterRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.RegisterResponse:
        who = self._identify(context)
        now = time.time()
        previous = self._store.node(who.node_id)
        if previous is not None and previous.organization != who.organization:
            context.abort(
                grpc.StatusCode.ALREADY_EXISTS,
                f"node id {who.node_id!r} is registered to another organization; "
                "issue this node a certificate with a unique node id",
            )
        self._store.upsert_node(
            NodeRecord(
                node_id=who.node_id,
                organization=who.organization,
                role=who.role,
                certificate_pem=peer_certificate(context),
                address=request.node_address,
                registered_at=previous.registered_at if previous else now,
                last_seen=now,
                datasets_json=serde.datasets_to_json(list(request.datasets)),
                policy_version=request.policy_version,
            )
        )
        self.software_versions[who.node_id] = request.software_version[:64]
        self._runner.audit("admin", {"operation": "node_registered", "node": who.node_id})
        log.info("node %s (%s, %s) registered", who.node_id, who.organization, who.role)
        return coordinator_pb2.RegisterResponse(
            node_id=who.node_id,
            organization=who.organization,
            role=who.role,
            heartbeat_interval_s=HEARTBEAT_INTERVAL_S,
            witnessed_log_size=self._witness.held_size(who.node_id) if self._witness else -1,
        )

    def Heartbeat(
        self, request: coordinator_pb2.HeartbeatRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.HeartbeatResponse:
        who = self._identify(context)
        if self._store.node(who.node_id) is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "not registered; call Register")
        self._store.touch_node(who.node_id)
        return coordinator_pb2.HeartbeatResponse(server_time=time.time())

    def GetDirectory(
        self, request: coordinator_pb2.DirectoryRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.DirectoryResponse:
        online = self._relay.online_nodes()
        entries = [
            coordinator_pb2.DirectoryEntry(
                node_id=n.node_id,
                organization=n.organization,
                role=n.role,
                certificate_pem=n.certificate_pem,
                online=n.node_id in online,
            )
            for n in self._store.nodes()
        ]
        entries.append(
            coordinator_pb2.DirectoryEntry(
                node_id=COORDINATOR,
                role=COORDINATOR,
                certificate_pem=self._own_certificate,
                online=True,
            )
        )
        return coordinator_pb2.DirectoryResponse(entries=entries)

    def ListNodes(
        self, request: coordinator_pb2.ListNodesRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.ListNodesResponse:
        online = self._relay.online_nodes()
        return coordinator_pb2.ListNodesResponse(
            nodes=[serde.node_to_proto(n, n.node_id in online) for n in self._store.nodes()]
        )

    # jobs ------------------------------------------------------------------------------

    def SubmitJob(
        self, request: coordinator_pb2.SubmitJobRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.JobStatus:
        who = self._identify(context)
        try:
            record = self._runner.submit(
                request.spec_yaml, f"{who.organization}/{who.node_id}", request.job_id
            )
        except (JobSpecError, DuplicateJobId) as exc:
            raise classify(exc) from None  # the catalog's answer (node.transport.errors)
        return serde.job_to_proto(record)

    def GetJob(
        self, request: coordinator_pb2.GetJobRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.JobStatus:
        record = self._store.job(request.job_id)
        if record is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no job {request.job_id!r}")
        return serde.job_to_proto(record)

    def ListJobs(
        self, request: coordinator_pb2.ListJobsRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.ListJobsResponse:
        return coordinator_pb2.ListJobsResponse(
            jobs=[serde.job_to_proto(j) for j in self._store.jobs()]
        )

    def CancelJob(
        self, request: coordinator_pb2.GetJobRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.JobStatus:
        try:
            return serde.job_to_proto(self._runner.cancel(request.job_id))
        except KeyError:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no job {request.job_id!r}")

    def ReportTask(
        self, request: coordinator_pb2.TaskReport, context: grpc.ServicerContext
    ) -> coordinator_pb2.TaskAck:
        who = self._identify(context)
        kinds = {
            coordinator_pb2.TaskReport.PROGRESS: "progress",
            coordinator_pb2.TaskReport.SUCCEEDED: "succeeded",
            coordinator_pb2.TaskReport.FAILED: "failed",
        }
        kind = kinds.get(request.kind)
        if kind is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "report kind must be set")
        try:
            metrics = json.loads(request.metrics_json or "{}")
        except json.JSONDecodeError:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "metrics_json is not valid JSON")
        if kind == "progress":
            metrics = {
                "stage": request.stage,
                "step": request.step,
                "total": request.total,
                "metrics": metrics,
            }
        keep = self._runner.report(
            who.node_id, request.job_id, request.attempt, kind, metrics, request.error
        )
        return coordinator_pb2.TaskAck(keep_going=keep)

    def WatchJob(
        self, request: coordinator_pb2.GetJobRequest, context: grpc.ServicerContext
    ) -> Iterator[coordinator_pb2.JobEvent]:
        if self._store.job(request.job_id) is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no job {request.job_id!r}")
        last = 0
        while context.is_active():
            job = self._store.job(request.job_id)
            finished = job is not None and job.state.finished  # read before the events
            for row_id, ev in self._store.events(request.job_id, last):
                last = row_id
                yield coordinator_pb2.JobEvent(
                    job_id=ev.job_id,
                    time=ev.time,
                    kind=ev.kind,
                    party=ev.party,
                    detail_json=json.dumps(ev.detail),
                )
            if finished:
                return  # every event up to the final one has been sent
            time.sleep(0.2)

    # relay -----------------------------------------------------------------------------

    def Send(
        self, request: common_pb2.Envelope, context: grpc.ServicerContext
    ) -> coordinator_pb2.SendAck:
        who = self._identify(context)
        try:
            sender, recipient, job_key = self._peek_route(request.sealed)
        except Exception:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "not a sealed envelope of a supported version; upgrade the sending node",
            )
        if sender != who.node_id:
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"envelope claims sender {sender!r} but the certificate is {who.node_id!r}",
            )
        if job_key == PROBE_JOB:
            # a diagnostic echo goes to the probe waiting for it, never down a stream
            self._probes.offer(sender, recipient, request.sealed)
            return coordinator_pb2.SendAck()
        if recipient == COORDINATOR:
            self._router.deliver(request.sealed)  # refusals answered from the error catalog
        else:
            try:
                self._relay.push(recipient, coordinator_pb2.NodeEvent(envelope=request))
            except RecipientOffline as exc:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"recipient offline: {exc}")
        self._relay.count(job_key, sender, recipient, len(request.sealed))
        return coordinator_pb2.SendAck()

    def Subscribe(
        self, request: coordinator_pb2.SubscribeRequest, context: grpc.ServicerContext
    ) -> Iterator[coordinator_pb2.NodeEvent]:
        who = self._identify(context)
        if self._store.node(who.node_id) is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "not registered; call Register")
        sub = self._relay.subscribe(who.node_id)
        checked = time.monotonic()
        try:
            while context.is_active() and not sub.closed.is_set():
                event = sub.get(STREAM_POLL_S)
                if event is not None:
                    yield event
                if time.monotonic() - checked > RECHECK_S:
                    # A certificate revoked while its stream is open must not keep it open.
                    checked = time.monotonic()
                    self._identify(context)  # a refusal is answered from the error catalog
        finally:
            self._relay.unsubscribe(sub)

    def Probe(
        self, request: coordinator_pb2.ProbeRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.ProbeResponse:
        who = self._identify(context)
        sealed = request.ping.sealed
        try:
            sender, recipient, job_key = self._peek_route(sealed)
        except Exception:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the ping is not a sealed envelope")
        if sender != who.node_id or job_key != PROBE_JOB:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"a probe must be a diagnostic ping sealed by {who.node_id!r} (job {PROBE_JOB!r})",
            )
        timeout = min(request.timeout_s or 10.0, PROBE_WAIT_MAX_S)
        pong: bytes | None = None
        echo = self._echo
        if recipient != COORDINATOR:
            with self._probes.expect(who.node_id, recipient) as wait:
                try:
                    self._relay.push(recipient, coordinator_pb2.NodeEvent(envelope=request.ping))
                except RecipientOffline as exc:
                    context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"recipient offline: {exc}")
                pong = wait(timeout)
        elif echo is not None and isinstance(who, Identity):
            try:
                pong = echo(sealed, who)
            except InvalidEnvelope as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"ping refused: {exc}")
        if pong is None:
            context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"no echo from {recipient!r} within {timeout:g} s",
            )
        return coordinator_pb2.ProbeResponse(
            pong=common_pb2.Envelope(sealed=pong), server_time=time.time()
        )

    # audit witness ---------------------------------------------------------------------

    def PublishCheckpoint(
        self, request: coordinator_pb2.PublishCheckpointRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.PublishCheckpointResponse:
        if self._witness is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "this coordinator runs no log witness")
        who = self._identify(context)
        try:
            size = self._witness.accept(who, request.checkpoint, list(request.consistency_proof))
        except CheckpointRefused as exc:
            raise ServiceError("witness.refused", detail=exc.reason) from None
        return coordinator_pb2.PublishCheckpointResponse(accepted_size=size)
