"""The Node gRPC service: unpack, call the policy engine / access log, pack.

Failures are raised (``ServiceError`` or the project's own exception families) and answered
from the error catalog by the server's interceptor (``node.transport.errors``), so no handler
composes error text from an exception.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

from node.audit import Actor
from node.audit.export import write_export
from node.audit.sink import AuditSink
from node.data.datasets import NodeDatasets, UnknownDataset
from node.governance.containment import Containment
from node.governance.service import NodeGovernance
from node.pki.identity import Identity
from node.policy import PolicyEngine
from node.policy.exceptions import PolicyError
from node.policy.model import DATA_PURPOSES
from node.policy.release import FORMATS, ReleaseRecord, ReleaseRequest, build_release
from node.transport.auth import peer_certificate
from node.transport.errors import ServiceError
from protos.fedcredit.v1 import common_pb2, node_pb2, node_pb2_grpc

if TYPE_CHECKING:
    from node.monitoring.service import MonitoringService
    from node.scoring.lending import Lending
    from node.scoring.service import Decisions

EXPORT_CHUNK_BYTES = 1 << 20
# Applications per DecideBatch call: a chunk of a book, within the message size limit.
MAX_BATCH_APPLICATIONS = 5000
# A dataset has tens to a few hundred columns; a release naming more fields than any dataset
# has is an error or an attack (100,000 repeated names held a call past its deadline and
# wrote a 280 KB access-log entry). Names longer than any column name are refused too.
MAX_RELEASE_FIELDS = 512
MAX_NAME_CHARS = 128


def _batch_response(
    decided: Decisions, columnar: bool, chunk: int = 0
) -> node_pb2.DecideBatchResponse:
    """A call's decisions, one message each or (``columnar``) as columns."""
    from node.scoring.serde import decided_to_proto, decisions_to_columns

    if columnar:
        return node_pb2.DecideBatchResponse(columns=decisions_to_columns(decided), chunk=chunk)
    return node_pb2.DecideBatchResponse(
        decisions=[decided_to_proto(d) for d in decided], chunk=chunk
    )


def _bounded_names(what: str, names: list[str]) -> tuple[str, ...]:
    """Field names as asked, refused when too many, too long, empty or repeated."""
    if len(names) > MAX_RELEASE_FIELDS:
        raise ServiceError(
            "request.too_large", what=what, count=len(names), limit=MAX_RELEASE_FIELDS
        )
    seen: set[str] = set()
    for name in names:
        if not name or len(name) > MAX_NAME_CHARS:
            raise ServiceError(
                "request.bad_value",
                what=what,
                expected=f"names of 1 to {MAX_NAME_CHARS} characters",
            )
        if name in seen:
            raise ServiceError("request.duplicate", what=what, name=name)
        seen.add(name)
    return tuple(names)


def release_request(request: node_pb2.ReleaseRequest) -> ReleaseRequest:
    """The domain request of a ``Release`` call, its sizes and choices checked first.

    Raises
    ------
    ServiceError
        Too many, repeated or over-long field names; an over-long dataset name; an unknown
        purpose or format.
    """
    purpose = request.purpose or "release"
    fmt = request.format or "parquet"
    if not 0 < len(request.dataset) <= MAX_NAME_CHARS:
        raise ServiceError("request.bad_value", what="dataset", expected="a dataset name")
    if purpose not in {p.value for p in DATA_PURPOSES}:
        expected = "one of " + ", ".join(sorted(p.value for p in DATA_PURPOSES))
        raise ServiceError("request.bad_value", what="purpose", expected=expected)
    if fmt not in FORMATS:
        raise ServiceError("request.bad_value", what="format", expected="parquet or csv")
    return ReleaseRequest(
        dataset=request.dataset,
        fields=_bounded_names("fields", list(request.fields)),
        purpose=purpose,
        filter=request.filter,
        format=fmt,
    )


def containment_to_proto(held: Containment) -> node_pb2.Containment:
    """The wire form of one containment."""
    return node_pb2.Containment(
        principal=held.principal,
        level=held.level,
        since=held.since,
        alert_id=held.alert_id,
        severity=held.severity,
        reason=held.reason,
    )


def dataset_infos(datasets: NodeDatasets, engine: PolicyEngine) -> list[common_pb2.DatasetInfo]:
    """What the node offers: datasets, fields, their classes and the purposes rules allow."""
    infos = []
    for name in datasets.names():
        loaded = datasets.get(name)
        try:
            purposes = engine.field_purposes(name)
        except KeyError:
            purposes = {}
        infos.append(
            common_pb2.DatasetInfo(
                name=name,
                rows=len(loaded),
                id_column=loaded.schema.id_column,
                label_column=loaded.schema.label_column or "",
                fields=[
                    common_pb2.FieldInfo(
                        name=f.name,
                        dtype=f.dtype.value,
                        sensitivity=f.sensitivity.value,
                        purposes=list(purposes.get(f.name, ("", ()))[1]),
                    )
                    for f in loaded.schema.fields
                ],
            )
        )
    return infos


class NodeServicer(node_pb2_grpc.NodeServicer):
    """Thin edge over the node's datasets, policy engine and access log."""

    def __init__(
        self,
        *,
        identity: Identity,
        datasets: NodeDatasets,
        engine: PolicyEngine,
        sink: AuditSink,
        identify: Callable[[grpc.ServicerContext], Any],
        lending: Lending | None = None,
        monitoring: MonitoringService | None = None,
        governance: NodeGovernance | None = None,
    ) -> None:
        self._me = identity
        self._datasets = datasets
        self._engine = engine
        self._log = sink.log  # the log the sink writes to is the one auditors read
        self._sink = sink
        self._identify = identify
        self._lending = lending
        self._monitoring = monitoring
        # fingerprints and registers every release; holds the containment operators review
        self._governance = governance
        self._releases = governance.releases if governance is not None else None

    def GetCapabilities(
        self, request: node_pb2.CapabilitiesRequest, context: grpc.ServicerContext
    ) -> node_pb2.Capabilities:
        return node_pb2.Capabilities(
            node_id=self._me.node_id,
            organization=self._me.organization,
            role=self._me.role,
            policy_version=self._engine.version,
            datasets=dataset_infos(self._datasets, self._engine),
        )

    def Release(
        self, request: node_pb2.ReleaseRequest, context: grpc.ServicerContext
    ) -> node_pb2.ReleaseResponse:
        who = self._identify(context)
        ask = release_request(request)
        try:
            frame = self._datasets.frame(ask.dataset)
        except UnknownDataset:
            raise ServiceError("dataset.unknown", name=ask.dataset) from None
        records: list[ReleaseRecord] = []
        firms = (
            self._lending.release_firms(ask.dataset, who.organization, ask.purpose)
            if self._lending is not None
            else None
        )
        # refusals (PolicyDenied, ReleaseQueryError, TransformError) answer from the catalog
        release = build_release(
            self._engine,
            who,
            ask,
            frame,
            on_record=records.append,
            marker=self._releases,
            firms=firms,
        )
        record = release.record
        recipient = Actor(who.organization, who.node_id, who.role)  # who received the table
        index = self._sink.record("release", record.log_details(), actor=recipient)
        if self._releases is not None:
            # an untraceable table must not leave: if the registry cannot be written the call
            # fails (catalog: internal) before the table is sent
            self._releases.register(record, peer_certificate(context), index)
        if firms is not None and self._lending is not None:
            self._lending.log_release(who, ask.dataset, record, firms)
        return node_pb2.ReleaseResponse(
            table=release.table,
            format=record.format,
            policy_version=record.policy_version,
            rows=record.rows,
            release_id=record.release_id,
            sha256=record.sha256,
        )

    def AuditCheckpoint(
        self, request: node_pb2.AuditCheckpointRequest, context: grpc.ServicerContext
    ) -> node_pb2.AuditCheckpointResponse:
        checkpoint, _ = self._log.publication(None)
        return node_pb2.AuditCheckpointResponse(checkpoint=checkpoint.to_bytes())

    def AuditProve(
        self, request: node_pb2.AuditProveRequest, context: grpc.ServicerContext
    ) -> node_pb2.AuditProveResponse:
        checkpoint, _ = self._log.publication(None)  # signs only if entries were added
        size = request.tree_size or checkpoint.size
        if not request.index < size <= checkpoint.size:
            raise ServiceError(
                "request.bad_value",
                what="index and tree_size",
                expected=f"index below tree_size, tree_size at most {checkpoint.size}",
            )
        return node_pb2.AuditProveResponse(
            entry=self._log.entry_bytes(request.index),
            proof=self._log.inclusion_proof(request.index, size),
            checkpoint=checkpoint.to_bytes(),
        )

    def AuditExport(
        self, request: node_pb2.AuditExportRequest, context: grpc.ServicerContext
    ) -> Iterator[node_pb2.AuditExportChunk]:
        checkpoint, _ = self._log.publication(None)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "export.jsonl"
            write_export(self._log, out, checkpoint)
            data = out.read_bytes()
        for start in range(0, len(data), EXPORT_CHUNK_BYTES):
            yield node_pb2.AuditExportChunk(data=data[start : start + EXPORT_CHUNK_BYTES])

    def ReloadPolicy(
        self, request: node_pb2.ReloadPolicyRequest, context: grpc.ServicerContext
    ) -> node_pb2.ReloadPolicyResponse:
        try:
            old, new = self._engine.reload()
        except PolicyError as exc:
            raise ServiceError("policy.reload_failed", detail=str(exc)) from None
        self._sink.policy_changed(old, new)
        return node_pb2.ReloadPolicyResponse(old_version=old, new_version=new)

    def ListContainments(
        self, request: node_pb2.ListContainmentsRequest, context: grpc.ServicerContext
    ) -> node_pb2.ListContainmentsResponse:
        if self._governance is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "this node runs no access monitor")
        held = self._governance.containment.active()
        return node_pb2.ListContainmentsResponse(containments=map(containment_to_proto, held))

    def LiftContainment(
        self, request: node_pb2.LiftContainmentRequest, context: grpc.ServicerContext
    ) -> node_pb2.LiftContainmentResponse:
        if self._governance is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "this node runs no access monitor")
        who = self._identify(context)
        operator = f"{who.organization}/{who.node_id}/{who.role}"
        # not contained: access.not_contained from the catalog
        lifted = self._governance.containment.lift(request.principal, operator, request.note)
        return node_pb2.LiftContainmentResponse(lifted=containment_to_proto(lifted))

    # lending: the bank's own loan systems; logic lives in node.scoring -------------------

    def _own_lending(self, context: grpc.ServicerContext) -> Lending:
        who = self._identify(context)
        if who.organization != self._me.organization:
            raise ServiceError("lending.not_own")
        if self._lending is None:
            raise ServiceError("lending.not_scoring")
        return self._lending

    def Decide(
        self, request: node_pb2.DecideRequest, context: grpc.ServicerContext
    ) -> node_pb2.DecideResponse:
        request_batch = node_pb2.DecideBatchRequest(applications=[request])
        return self._decide_batch(request_batch, context, released=False).decisions[0]

    def DecideBatch(
        self, request: node_pb2.DecideBatchRequest, context: grpc.ServicerContext
    ) -> node_pb2.DecideBatchResponse:
        return self._decide_batch(request, context, released=True)

    def _released(
        self, decided: Decisions, context: grpc.ServicerContext, chunk: int | None = None
    ) -> Decisions:
        """A batch answer as a fingerprinted release to the caller (``node.scoring.marking``)."""
        if self._releases is None:
            return decided
        from node.scoring.marking import mark_answers

        who = self._identify(context)
        return mark_answers(self._releases, decided, who, peer_certificate(context), chunk=chunk)

    def _decide_batch(
        self, request: node_pb2.DecideBatchRequest, context: grpc.ServicerContext, released: bool
    ) -> node_pb2.DecideBatchResponse:
        from node.scoring.serde import application_from_proto, applications_from_columns

        lending = self._own_lending(context)
        # refusals (BadApplication, NotReady, DecisionPolicyError) answer from the catalog
        apps = (
            applications_from_columns(request.columns)
            if request.columns
            else [application_from_proto(a) for a in request.applications]
        )
        count = len(apps)
        if not 1 <= count <= MAX_BATCH_APPLICATIONS:
            raise ServiceError(
                "request.too_large", what="applications", count=count, limit=MAX_BATCH_APPLICATIONS
            )
        decided = lending.decisions.decide_many(apps)
        if released:
            decided = self._released(decided, context)
        return _batch_response(decided, request.columnar_reply)

    def DecideBook(
        self, request: node_pb2.DecideBookRequest, context: grpc.ServicerContext
    ) -> Iterator[node_pb2.DecideBatchResponse]:
        lending = self._own_lending(context)
        size = request.chunk_size or MAX_BATCH_APPLICATIONS
        if not 1 <= size <= MAX_BATCH_APPLICATIONS or request.start_chunk < 0:
            raise ServiceError(
                "request.bad_value",
                what="chunk_size and start_chunk",
                expected=f"a chunk size of 1 to {MAX_BATCH_APPLICATIONS}, a start not negative",
            )
        service = lending.decisions
        # refusals (BadApplication, NotReady, DecisionPolicyError) answer from the catalog
        chunks = service.book(
            request.ref_prefix or "book", request.amount, request.term_months, size
        )
        for k, apps in chunks:
            if k < request.start_chunk:
                continue
            decided = self._released(service.decide_many(apps), context, chunk=k)
            yield _batch_response(decided, request.columnar_reply, k)

    def RegisterAuthorizations(
        self, request: node_pb2.AuthorizationBatch, context: grpc.ServicerContext
    ) -> node_pb2.AuthorizationAck:
        from node.scoring.serde import grant_from_proto

        lending = self._own_lending(context)
        grants = [grant_from_proto(g, self._me.organization) for g in request.grants]
        ids, holders = lending.desk.register(grants)  # ConsentError: from the catalog
        return node_pb2.AuthorizationAck(record_ids=ids, holders=holders)

    def RevokeAuthorization(
        self, request: node_pb2.RevokeAuthorizationRequest, context: grpc.ServicerContext
    ) -> node_pb2.AuthorizationAck:
        lending = self._own_lending(context)
        revocation, holders = lending.desk.revoke(request.record_id, list(request.holders))
        return node_pb2.AuthorizationAck(record_ids=[revocation], holders=holders)

    # post-loan monitoring: the bank's own book; logic lives in node.monitoring -----------

    def _own_monitoring(self, context: grpc.ServicerContext) -> MonitoringService:
        who = self._identify(context)
        if who.organization != self._me.organization:
            raise ServiceError("monitoring.not_own")
        if self._monitoring is None:
            raise ServiceError("monitoring.not_configured")
        return self._monitoring

    def MonitorRefresh(
        self, request: node_pb2.MonitorRefreshRequest, context: grpc.ServicerContext
    ) -> node_pb2.MonitorRefreshResponse:
        from node.monitoring.serde import refresh_to_proto

        service = self._own_monitoring(context)
        result = service.refresh(request.as_of or None)  # MonitoringError: from the catalog
        return refresh_to_proto(result)

    def MonitorWatchlist(
        self, request: node_pb2.MonitorWatchlistRequest, context: grpc.ServicerContext
    ) -> node_pb2.MonitorWatchlistResponse:
        from node.monitoring.policy import LEVELS
        from node.monitoring.serde import entry_to_proto

        service = self._own_monitoring(context)
        level = request.min_level or "yellow"
        if level not in LEVELS:
            raise ServiceError(
                "request.bad_value", what="min_level", expected="one of " + ", ".join(LEVELS)
            )
        rows = service.store.watchlist(LEVELS.index(level), request.limit or 1000)
        counts = service.store.level_counts()
        return node_pb2.MonitorWatchlistResponse(
            entries=[entry_to_proto(r) for r in rows],
            levels={LEVELS[k]: v for k, v in counts.items()},
        )

    def MonitorAlerts(
        self, request: node_pb2.MonitorAlertsRequest, context: grpc.ServicerContext
    ) -> node_pb2.MonitorAlertsResponse:
        from node.monitoring.serde import alert_to_proto

        service = self._own_monitoring(context)
        alerts = service.store.alerts(request.state, request.kind, request.limit or 1000)
        return node_pb2.MonitorAlertsResponse(alerts=[alert_to_proto(a) for a in alerts])

    def MonitorAct(
        self, request: node_pb2.MonitorActRequest, context: grpc.ServicerContext
    ) -> node_pb2.MonitorAlert:
        from node.audit import Actor
        from node.monitoring.serde import alert_to_proto

        service = self._own_monitoring(context)
        who = self._identify(context)
        # UnknownAlert, InvalidTransition: answered from the catalog
        alert = service.act(
            request.alert_id,
            request.action,
            Actor(who.organization, who.node_id, who.role),
            request.note,
        )
        return alert_to_proto(alert)
