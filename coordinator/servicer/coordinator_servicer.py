"""The Coordinator gRPC service: unpack, check, call the registry/relay/job runner, pack.

Every identifier that arrives here and may later name a file (job id, node id, dataset name)
is checked once (``node.state.check_identifier``); every document is bounded before it is
parsed (``bounds``); jobs are shown only to those who may see them (``job_access``); and each
allowed administrative call is written to the access log with its caller.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import NoReturn, Protocol

import grpc

from coordinator.jobs import JobRunner
from coordinator.jobs.exceptions import NotResumable, PartyRefused
from coordinator.servicer import serde
from coordinator.servicer.bounds import (
    OutOfBounds,
    check_job_file,
    check_json,
    check_registration,
)
from coordinator.servicer.job_access import caller_name, may_cancel, may_see
from coordinator.servicer.limits import Limits, RefusalLog
from coordinator.servicer.probe import ProbeBoard
from coordinator.servicer.relay import RecipientOffline, Relay
from coordinator.state import CoordinatorStore, JobRecord, NodeRecord
from coordinator.witness.exceptions import CheckpointRefused, StaleCheckpoint
from coordinator.witness.quarantine import Quarantine
from node.crypto.envelope import peek_header, verify_sender
from node.crypto.exceptions import InvalidEnvelope
from node.jobs.exceptions import DuplicateJobId, JobSpecError
from node.pki.identity import Identity, Principal
from node.state import InvalidIdentifier, check_identifier
from node.transport.auth import peer_certificate
from node.transport.errors import ServiceError, classify
from node.transport.limits import MAX_GRPC_MESSAGE_BYTES
from node.transport.probe import PROBE_JOB
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
# ListNodes leaves dataset details out past this size, so it answers whatever nodes registered.
LIST_NODES_BUDGET = MAX_GRPC_MESSAGE_BYTES // 2
MAX_ERROR_CHARS = 1024

# (caller, operation, details) -> access-log entry
AdminLog = Callable[[Principal, str, Mapping[str, object]], object]


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    context.abort(code, message)
    raise AssertionError("unreachable: abort raises")


def _identifier(context: grpc.ServicerContext, kind: str, value: str) -> str:
    try:
        return check_identifier(kind, value)
    except InvalidIdentifier as exc:
        _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))


class LogWitness(Protocol):
    """The access-log witness as the servicer uses it (``coordinator.runtime.server.WitnessEdge``).

    A coordinator without a witness passes ``None``; ``PublishCheckpoint`` then answers
    ``UNIMPLEMENTED`` and registrations report no witnessed size.
    """

    def accept(self, who: Identity, checkpoint: bytes, proof: list[bytes]) -> int:
        """Check ``who``'s signed checkpoint against the one held; return the size now held.

        Raises ``coordinator.witness.exceptions.CheckpointRefused`` (``StaleCheckpoint`` for
        an older checkpoint, which is not evidence of a fork).
        """
        ...

    def held_size(self, node_id: str) -> int:
        """The log size last accepted from ``node_id``; ``-1`` when none was."""
        ...


class CoordinatorServicer(coordinator_pb2_grpc.CoordinatorServicer):
    """Thin edge over the coordinator's domain objects."""

    def __init__(
        self,
        *,
        store: CoordinatorStore,
        relay: Relay,
        runner: JobRunner,
        router: EnvelopeRouter,
        identify: Callable[[grpc.ServicerContext], Identity],
        recheck: Callable[[grpc.ServicerContext], Identity],
        own_certificate: bytes,
        limits: Limits,
        refusals: RefusalLog,
        admin_log: AdminLog,
        quarantine: Quarantine,
        on_new_certificate: Callable[[str], None] = lambda node_id: None,
        witness: LogWitness | None = None,
        echo: Callable[[bytes, Identity], bytes] | None = None,
    ) -> None:
        self._store = store
        self._relay = relay
        self._runner = runner
        self._router = router
        self._identify = identify
        # verifies a held-open stream's caller afresh, never from a per-call cache such as
        # ``CallerIdentities`` keeps (required: defaulting to ``identify`` would let a revoked
        # certificate keep its stream)
        self._recheck = recheck
        self._own_certificate = own_certificate
        self._limits = limits
        self._refusals = refusals
        self._admin_log = admin_log
        self._quarantine = quarantine
        self._on_new_certificate = on_new_certificate
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
        _identifier(context, "node id (certificate CN)", who.node_id)
        try:
            check_registration(request.datasets, self._limits)
        except OutOfBounds as exc:
            _abort(context, exc.code, f"registration refused: {exc}")
        now = time.time()
        previous = self._store.node(who.node_id)
        if previous is not None and previous.organization != who.organization:
            _abort(
                context,
                grpc.StatusCode.ALREADY_EXISTS,
                f"node id {who.node_id!r} is registered to organization "
                f"{previous.organization!r}, not {who.organization!r}; issue this node a "
                "certificate with a node id of its own",
            )
        certificate = peer_certificate(context)
        self._store.upsert_node(
            NodeRecord(
                node_id=who.node_id,
                organization=who.organization,
                role=who.role,
                certificate_pem=certificate,
                address=request.node_address[:256],
                registered_at=previous.registered_at if previous else now,
                last_seen=now,
                datasets_json=serde.datasets_to_json(list(request.datasets)),
                policy_version=request.policy_version[:128],
            )
        )
        self.software_versions[who.node_id] = request.software_version[:64]
        if previous is not None and previous.certificate_pem != certificate:
            # Re-issued keys (same CA, same identity): seal to and verify the new ones now.
            self._on_new_certificate(who.node_id)
            log.info("node %s presented a new certificate; directory refreshed", who.node_id)
            self._admin_log(who, "node_certificate_changed", {"node": who.node_id})
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
            _abort(context, grpc.StatusCode.FAILED_PRECONDITION, "not registered; call Register")
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
        quarantined = self._store.quarantined()
        response = coordinator_pb2.ListNodesResponse()
        budget = LIST_NODES_BUDGET
        for node in self._store.nodes():
            status = serde.node_to_proto(node, node.node_id in online)
            status.quarantine_reason = quarantined.get(node.node_id, "")
            if status.ByteSize() > budget:  # never fail for everyone over one node's metadata
                del status.datasets[:]
                status.datasets_omitted = True
            budget -= status.ByteSize()
            response.nodes.append(status)
        return response

    # jobs ------------------------------------------------------------------------------

    def _visible_job(self, context: grpc.ServicerContext, who: Principal, job_id: str) -> JobRecord:
        """The job, if ``who`` may see it; otherwise NOT_FOUND (as if it did not exist)."""
        _identifier(context, "job id", job_id)
        record = self._store.job(job_id)
        if record is None or not may_see(who, record):
            _abort(context, grpc.StatusCode.NOT_FOUND, f"no job {job_id} visible to you")
        return record

    def SubmitJob(
        self, request: coordinator_pb2.SubmitJobRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.JobStatus:
        who = self._identify(context)
        if request.job_id:
            _identifier(context, "job id", request.job_id)
        try:
            check_job_file(request.spec_yaml, self._limits)
            record = self._runner.submit(request.spec_yaml, caller_name(who), request.job_id)
        except OutOfBounds as exc:
            _abort(context, exc.code, str(exc))
        except (JobSpecError, DuplicateJobId) as exc:
            raise classify(exc) from None  # the catalog's answer (node.transport.errors)
        except PartyRefused as exc:
            _abort(context, grpc.StatusCode.FAILED_PRECONDITION, f"job refused: {exc}")
        self._admin_log(who, "job_submitted", {"job_id": record.job_id})
        return serde.job_to_proto(record)

    def GetJob(
        self, request: coordinator_pb2.GetJobRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.JobStatus:
        who = self._identify(context)
        return serde.job_to_proto(self._visible_job(context, who, request.job_id))

    def ListJobs(
        self, request: coordinator_pb2.ListJobsRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.ListJobsResponse:
        who = self._identify(context)
        return coordinator_pb2.ListJobsResponse(
            jobs=[serde.job_to_proto(j) for j in self._store.jobs() if may_see(who, j)]
        )

    def CancelJob(
        self, request: coordinator_pb2.GetJobRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.JobStatus:
        who = self._identify(context)
        record = self._visible_job(context, who, request.job_id)
        if not may_cancel(who, record):
            _abort(context, grpc.StatusCode.PERMISSION_DENIED, "you may not cancel this job")
        record = self._runner.cancel(record.job_id, caller_name(who))
        self._admin_log(who, "job_cancelled", {"job_id": record.job_id})
        return serde.job_to_proto(record)

    def ResumeJob(
        self, request: coordinator_pb2.GetJobRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.JobStatus:
        who = self._identify(context)
        record = self._visible_job(context, who, request.job_id)
        try:
            record = self._runner.resume(record.job_id, caller_name(who))
        except NotResumable as exc:
            _abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        self._admin_log(who, "job_resumed", {"job_id": record.job_id})
        return serde.job_to_proto(record)

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
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "report kind must be set")
        try:
            check_json(
                "metrics_json",
                request.metrics_json,
                self._limits.max_report_bytes,
                "limits.max_report_bytes",
                self._limits,
            )
            metrics = json.loads(request.metrics_json or "{}")
        except OutOfBounds as exc:
            _abort(context, exc.code, str(exc))
        except ValueError:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "metrics_json is not valid JSON")
        if kind == "progress":
            metrics = {
                "stage": request.stage[:64],
                "step": request.step,
                "total": request.total,
                "metrics": metrics,
            }
        keep = self._runner.report(
            who.node_id,
            request.job_id,
            request.attempt,
            kind,
            metrics,
            request.error[:MAX_ERROR_CHARS],
        )
        return coordinator_pb2.TaskAck(keep_going=keep)

    def WatchJob(
        self, request: coordinator_pb2.GetJobRequest, context: grpc.ServicerContext
    ) -> Iterator[coordinator_pb2.JobEvent]:
        """Stream a job's events until it finishes.

        The stream sleeps on the store's event signal rather than polling, and the number of
        open watches per certificate and in total is bounded (``LimitInterceptor``), so
        watchers cannot take the threads that registrations and relays need. Like
        ``Subscribe``, it verifies its caller again from time to time: a revoked certificate
        loses its watch.
        """
        who = self._identify(context)
        job_id = self._visible_job(context, who, request.job_id).job_id
        last = 0
        seen = 0
        checked = time.monotonic()
        while context.is_active():
            checked = self._recheck_stream(context, checked)
            job = self._store.job(job_id)
            finished = job is not None and job.state.finished  # read before the events
            for row_id, ev in self._store.events(job_id, last):
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
            seen = self._store.wait_for_event(max(seen, last), STREAM_POLL_S * 2)

    # relay -----------------------------------------------------------------------------

    def Send(
        self, request: common_pb2.Envelope, context: grpc.ServicerContext
    ) -> coordinator_pb2.SendAck:
        who = self._identify(context)
        assert isinstance(who, Identity)
        try:
            header = peek_header(request.sealed)
        except InvalidEnvelope:
            self._refusals.refused(caller_name(who), "malformed envelopes")
            _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "not a sealed envelope of a supported version; upgrade the sending node",
            )
        sender, recipient, job_key = header.sender, header.recipient, header.job
        if sender != who.node_id:
            self._refusals.refused(caller_name(who), "envelopes naming another sender")
            _abort(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                "envelope refused: it names another sender than this certificate",
            )
        try:
            # Signed by the key in the caller's own certificate, or nobody gets it.
            verify_sender(request.sealed, who.sign_public)
        except InvalidEnvelope:
            self._refusals.refused(caller_name(who), "envelopes whose signature does not verify")
            _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "envelope refused: its signature does not verify under this certificate's key",
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
                _abort(context, grpc.StatusCode.FAILED_PRECONDITION, f"recipient offline: {exc}")
        self._relay.count(job_key, sender, recipient, len(request.sealed))
        return coordinator_pb2.SendAck()

    def Subscribe(
        self, request: coordinator_pb2.SubscribeRequest, context: grpc.ServicerContext
    ) -> Iterator[coordinator_pb2.NodeEvent]:
        who = self._identify(context)
        if self._store.node(who.node_id) is None:
            _abort(context, grpc.StatusCode.FAILED_PRECONDITION, "not registered; call Register")
        sub = self._relay.subscribe(who.node_id)
        checked = time.monotonic()
        try:
            while context.is_active() and not sub.closed.is_set():
                event = sub.get(STREAM_POLL_S)
                if event is not None:
                    yield event
                checked = self._recheck_stream(context, checked)
        finally:
            self._relay.unsubscribe(sub)

    def _recheck_stream(self, context: grpc.ServicerContext, checked: float) -> float:
        """Verify a held-open stream's caller afresh once ``RECHECK_S`` has passed since
        ``checked``; return when it was last verified.

        A certificate revoked while its stream is open must not keep it open; the refusal is
        answered from the error catalog.
        """
        now = time.monotonic()
        if now - checked <= RECHECK_S:
            return checked
        self._recheck(context)
        return now

    def Probe(
        self, request: coordinator_pb2.ProbeRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.ProbeResponse:
        who = self._identify(context)
        assert isinstance(who, Identity)
        sealed = request.ping.sealed
        try:
            # Like any relayed envelope: signed by the key in the caller's own certificate.
            header = verify_sender(sealed, who.sign_public)
        except InvalidEnvelope:
            self._refusals.refused(caller_name(who), "probes that are not signed pings")
            _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "ping refused: not an envelope signed under this certificate's key",
            )
        recipient = header.recipient
        if header.sender != who.node_id or header.job != PROBE_JOB:
            _abort(
                context,
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
                    _abort(
                        context, grpc.StatusCode.FAILED_PRECONDITION, f"recipient offline: {exc}"
                    )
                pong = wait(timeout)
        elif echo is not None:
            try:
                pong = echo(sealed, who)
            except InvalidEnvelope as exc:
                _abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"ping refused: {exc}")
        if pong is None:
            _abort(
                context,
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"no echo from {recipient!r} within {timeout:g} s",
            )
        return coordinator_pb2.ProbeResponse(
            pong=common_pb2.Envelope(sealed=pong), server_time=time.time()
        )

    # audit witness and quarantine ------------------------------------------------------

    def PublishCheckpoint(
        self, request: coordinator_pb2.PublishCheckpointRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.PublishCheckpointResponse:
        if self._witness is None:
            _abort(context, grpc.StatusCode.UNIMPLEMENTED, "this coordinator runs no log witness")
        who = self._identify(context)
        try:
            size = self._witness.accept(who, request.checkpoint, list(request.consistency_proof))
        except CheckpointRefused as exc:
            if not isinstance(exc, StaleCheckpoint):
                self._quarantine.impose(who.node_id, f"witness refused its checkpoint: {exc}")
            raise ServiceError("witness.refused", detail=exc.reason) from None
        return coordinator_pb2.PublishCheckpointResponse(accepted_size=size)

    def LiftQuarantine(
        self, request: coordinator_pb2.LiftQuarantineRequest, context: grpc.ServicerContext
    ) -> coordinator_pb2.LiftQuarantineResponse:
        who = self._identify(context)
        node_id = _identifier(context, "node id", request.node_id)
        lifted = self._quarantine.lift(node_id, caller_name(who))
        if lifted:
            self._admin_log(who, "quarantine_lifted", {"node": node_id})
        return coordinator_pb2.LiftQuarantineResponse(lifted=lifted)
