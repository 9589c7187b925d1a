"""Conversions between the Node service's lending messages and the domain types.

A batch may travel as columns both ways (``DecideBatchRequest.columns``,
``DecideBatchResponse.columns``): a column container (``node.scoring.columns``) whose
header lists the codes and references (request) or the references, the call and what the
outcome columns index (reply), and whose arrays are the amounts and terms, or the outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from node.consent.record import Evidence
from node.scoring import columns
from node.scoring.desk import Grant
from node.scoring.engine import Outcomes
from node.scoring.exceptions import BadApplication
from node.scoring.service import Application, Decided, Decisions
from protos.fedcredit.v1 import node_pb2


def application_from_proto(msg: node_pb2.DecideRequest) -> Application:
    return Application(
        code=msg.uscc,
        ref=msg.application_ref,
        amount=float(msg.amount),
        term_months=int(msg.term_months),
        features=dict(msg.features) if len(msg.features) else {},
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


def applications_to_columns(
    codes: Sequence[str], refs: Sequence[str], amounts: Sequence[float], terms: Sequence[int]
) -> bytes:
    """A batch of applications as columns (the bank's own features come from its table)."""
    return columns.pack(
        {"uscc": list(codes), "application_ref": list(refs)},
        {"amount": np.asarray(amounts, np.float64), "term_months": np.asarray(terms, np.int32)},
    )


def applications_from_columns(data: bytes) -> list[Application]:
    """Raises ``BadApplication`` when the columns are malformed or of different lengths."""
    try:
        header, arrays = columns.unpack(data)
        codes = [str(c) for c in header["uscc"]]
        refs = [str(r) for r in header["application_ref"]]
        amounts = np.asarray(arrays["amount"], np.float64).tolist()
        terms = np.asarray(arrays["term_months"], np.int64).tolist()
    except (columns.MalformedColumns, KeyError, TypeError, ValueError):
        raise BadApplication(
            "columns: expected a column container of uscc, application_ref, amount and term_months"
        ) from None
    if not len(codes) == len(refs) == len(amounts) == len(terms):
        raise BadApplication(
            "columns: uscc, application_ref, amount and term_months differ in length"
        )
    return [
        Application(c, r, float(a), int(t))
        for c, r, a, t in zip(codes, refs, amounts, terms, strict=True)
    ]


def decisions_to_columns(decisions: Decisions) -> bytes:
    header, arrays = decisions.outcomes.columns()
    header.update(
        {"refs": list(decisions.refs), "call": decisions.call, "first": decisions.first,
         "policy_version": decisions.policy_version}
    )  # fmt: skip
    return columns.pack(header, arrays)


def decisions_from_columns(data: bytes) -> Decisions:
    """A columnar reply read back (iterate it for each ``Decided``).

    Raises
    ------
    node.scoring.columns.MalformedColumns
        The bytes are not a column container of decisions.
    """
    header, arrays = columns.unpack(data)
    try:
        outcomes = Outcomes.from_columns(header, arrays)
        refs = [str(r) for r in header["refs"]]
        decided = Decisions(
            refs, str(header["call"]), outcomes, str(header["policy_version"]),
            int(header.get("first", 0)),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError):
        raise columns.MalformedColumns("not the columns of a decision batch") from None
    if len(outcomes) != len(refs):
        raise columns.MalformedColumns("references and outcomes differ in length")
    return decided
