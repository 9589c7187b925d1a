"""Conversions between the Node service's lending messages and the domain types."""

from __future__ import annotations

from node.consent.record import Evidence
from node.scoring.desk import Grant
from node.scoring.service import Application, Decided
from protos.fedcredit.v1 import node_pb2


def application_from_proto(msg: node_pb2.DecideRequest) -> Application:
    return Application(
        code=msg.uscc,
        ref=msg.application_ref,
        amount=float(msg.amount),
        term_months=int(msg.term_months),
        features=dict(msg.features),
    )


def application_to_proto(app: Application) -> node_pb2.DecideRequest:
    return node_pb2.DecideRequest(
        uscc=app.code,
        application_ref=app.ref,
        amount=app.amount,
        term_months=app.term_months,
        features=dict(app.features),
    )


def decided_to_proto(d: Decided) -> node_pb2.DecideResponse:
    o = d.outcome
    return node_pb2.DecideResponse(
        application_ref=d.ref,
        decision=o.decision,
        pd=o.pd,
        points=o.points,
        reasons=[node_pb2.ReasonCode(code=c, contribution=v) for c, v in o.reasons],
        suggested_limit=o.suggested_limit,
        price_band=o.price_band,
        rate_bp=o.rate_bp,
        exposure_limit=o.exposure_limit,
        gaps=[node_pb2.HolderGap(party=p, reason=r, action=a) for p, r, a in o.gaps],
        knockouts=[f"{flag}:{action}" for flag, action in o.knockouts],
        versions=dict(o.versions),
        record_id=d.record_id,
        policy_version=d.policy_version,
    )


def grant_from_proto(msg: node_pb2.AuthorizationGrant, default_recipient: str) -> Grant:
    """Raises ``InvalidAuthorization`` for malformed evidence."""
    return Grant(
        code=msg.uscc,
        recipient=msg.recipient or default_recipient,
        purposes=tuple(msg.purposes),
        valid_from=float(msg.valid_from),
        valid_to=float(msg.valid_to),
        evidence=Evidence(msg.document_sha256, msg.collector, float(msg.collected_at)),
        holders=tuple(msg.holders),
    )
