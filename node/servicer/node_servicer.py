"""The Node gRPC service: unpack, call the policy engine / access log, pack, map errors."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

from node.audit.export import write_export
from node.pki.identity import Identity
from node.policy import PolicyDenied, PolicyEngine, ReleaseQueryError, TransformError
from node.policy.release import ReleaseRecord, ReleaseRequest, build_release
from node.runtime.audit_sink import AuditSink
from node.runtime.datasets import NodeDatasets, UnknownDataset
from protos.fedcredit.v1 import common_pb2, node_pb2, node_pb2_grpc

if TYPE_CHECKING:
    from node.scoring.lending import Lending

EXPORT_CHUNK_BYTES = 1 << 20
# Applications per DecideBatch call: a chunk of a book, within the message size limit.
MAX_BATCH_APPLICATIONS = 5000


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
    ) -> None:
        self._me = identity
        self._datasets = datasets
        self._engine = engine
        self._log = sink.log  # the log the sink writes to is the one auditors read
        self._sink = sink
        self._identify = identify
        self._lending = lending

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
        ask = ReleaseRequest(
            dataset=request.dataset,
            fields=tuple(request.fields),
            purpose=request.purpose or "release",
            filter=request.filter,
            format=request.format or "parquet",
        )
        try:
            frame = self._datasets.frame(ask.dataset)
        except UnknownDataset as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        records: list[ReleaseRecord] = []
        firms = (
            self._lending.release_firms(ask.dataset, who.organization, ask.purpose)
            if self._lending is not None
            else None
        )
        try:
            release = build_release(
                self._engine, who, ask, frame, on_record=records.append, firms=firms
            )
        except PolicyDenied as exc:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
        except (ReleaseQueryError, TransformError, ValueError) as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        record = release.record
        self._sink.record(
            "release",
            {
                "purpose": ask.purpose,
                "dataset": ask.dataset,
                "fields": list(record.fields),
                "rows": record.rows,
                "policy_version": record.policy_version,
                "release_id": record.release_id,
                "sha256": record.sha256,
                "recipient": f"{who.organization}/{who.node_id}",
                "filter_used": bool(ask.filter),
                "withheld": record.withheld,
            },
        )
        if firms is not None:
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
            context.abort(
                grpc.StatusCode.OUT_OF_RANGE,
                f"need index < tree_size <= {checkpoint.size}; got {request.index}, {size}",
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
        except Exception as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"policy not reloaded: {exc}")
        self._sink.policy_changed(old, new)
        return node_pb2.ReloadPolicyResponse(old_version=old, new_version=new)

    # lending: the bank's own loan systems; logic lives in node.scoring -------------------

    def _own_lending(self, context: grpc.ServicerContext) -> Lending:
        who = self._identify(context)
        if who.organization != self._me.organization:
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                "decisions and authorizations are for this bank's own loan systems only",
            )
        if self._lending is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "this node does not score")
        return self._lending

    def Decide(
        self, request: node_pb2.DecideRequest, context: grpc.ServicerContext
    ) -> node_pb2.DecideResponse:
        batch = self.DecideBatch(node_pb2.DecideBatchRequest(applications=[request]), context)
        return batch.decisions[0]

    def DecideBatch(
        self, request: node_pb2.DecideBatchRequest, context: grpc.ServicerContext
    ) -> node_pb2.DecideBatchResponse:
        from node.scoring.exceptions import BadApplication, DecisionPolicyError, NotReady
        from node.scoring.serde import application_from_proto, decided_to_proto

        lending = self._own_lending(context)
        if not 1 <= len(request.applications) <= MAX_BATCH_APPLICATIONS:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"send 1 to {MAX_BATCH_APPLICATIONS} applications per call",
            )
        try:
            decided = lending.decisions.decide_many(
                [application_from_proto(a) for a in request.applications]
            )
        except BadApplication as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except (NotReady, DecisionPolicyError) as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        return node_pb2.DecideBatchResponse(decisions=[decided_to_proto(d) for d in decided])

    def DecideBook(
        self, request: node_pb2.DecideBookRequest, context: grpc.ServicerContext
    ) -> Iterator[node_pb2.DecideBatchResponse]:
        from node.scoring.exceptions import BadApplication, DecisionPolicyError, NotReady
        from node.scoring.serde import decided_to_proto

        lending = self._own_lending(context)
        size = request.chunk_size or MAX_BATCH_APPLICATIONS
        if not 1 <= size <= MAX_BATCH_APPLICATIONS or request.start_chunk < 0:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"chunk_size must be 1 to {MAX_BATCH_APPLICATIONS}, start_chunk not negative",
            )
        service = lending.decisions
        try:
            chunks = service.book(
                request.ref_prefix or "book", request.amount, request.term_months, size
            )
            for k, apps in chunks:
                if k < request.start_chunk:
                    continue
                decided = service.decide_many(apps)
                yield node_pb2.DecideBatchResponse(
                    decisions=[decided_to_proto(d) for d in decided], chunk=k
                )
        except BadApplication as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except (NotReady, DecisionPolicyError) as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))

    def RegisterAuthorizations(
        self, request: node_pb2.AuthorizationBatch, context: grpc.ServicerContext
    ) -> node_pb2.AuthorizationAck:
        from node.consent.exceptions import ConsentError
        from node.scoring.serde import grant_from_proto

        lending = self._own_lending(context)
        try:
            grants = [grant_from_proto(g, self._me.organization) for g in request.grants]
            ids, holders = lending.desk.register(grants)
        except ConsentError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return node_pb2.AuthorizationAck(record_ids=ids, holders=holders)

    def RevokeAuthorization(
        self, request: node_pb2.RevokeAuthorizationRequest, context: grpc.ServicerContext
    ) -> node_pb2.AuthorizationAck:
        from node.consent.exceptions import UnknownAuthorization

        lending = self._own_lending(context)
        try:
            revocation, holders = lending.desk.revoke(request.record_id, list(request.holders))
        except UnknownAuthorization as exc:
            context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        return node_pb2.AuthorizationAck(record_ids=[revocation], holders=holders)
