"""Governed release: an authorized recipient asks for an extract, the node masks and records it.

The flow (see ``docs/policies.md``): the request (dataset, fields, filter, purpose) passes the
engine, which checks the caller and every field, filters rows on fields the recipient may see
as they are, and applies each field's transformation; the masked table is serialized once, and
the SHA-256 of exactly those bytes goes into the ``ReleaseRecord`` together with who, when,
what query, which policy version and how many rows. The record is what the access log and
leak tracing build on; it holds no data value.

With a ``ReleaseMarker`` (``node.governance``), the masked table is fingerprinted for its
recipient before it is serialized (within each field's policy tolerance), and the released
rows are named in the record by their firm tokens, so the hash covers the marked bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from node.policy.decision import utc_now
from node.policy.engine import PolicyEngine
from node.policy.model import Identity

log = logging.getLogger("fedcredit.policy.release")

FORMATS: Final = ("parquet", "csv")


class FirmAdmission(Protocol):
    """Which rows' firms a recipient's authorization covers (``node.consent.gate.Admission``)."""

    @property
    def allowed(self) -> NDArray[np.bool_]: ...

    @property
    def records(self) -> tuple[str, ...]: ...

    @property
    def withheld(self) -> int: ...


# Given the raw rows a release would draw from, which of them the recipient may have.
FirmFilter = Callable[[pd.DataFrame], FirmAdmission]


@dataclass(frozen=True)
class ReleaseRequest:
    """What a recipient asks for (the fields of the ``Release`` RPC request)."""

    dataset: str
    fields: tuple[str, ...]
    purpose: str = "release"
    filter: str = ""
    format: str = "parquet"

    def to_dict(self) -> dict[str, Any]:
        """Plain form: the query as recorded."""
        return {
            "dataset": self.dataset,
            "fields": list(self.fields),
            "purpose": self.purpose,
            "filter": self.filter,
            "format": self.format,
        }


@dataclass(frozen=True)
class ReleaseRecord:
    """One release: who received what, when, under which policy, and the hash of the bytes.

    The filter in ``query`` may only name fields released under ``keep`` (never C3), so the
    record holds nothing the recipient did not receive as it is.
    """

    release_id: str
    at: str
    organization: str
    node_id: str
    role: str
    query: dict[str, Any]
    policy_version: str
    decision_id: str
    fields: tuple[str, ...]
    rows: int
    sha256: str
    format: str
    transforms: dict[str, str] = field(default_factory=dict)
    fingerprint: dict[str, Any] = field(default_factory=dict)
    subjects: tuple[str, ...] = ()

    def query_digest(self) -> str:
        """A short hash of the query: equal queries share it (the access monitor counts
        distinct queries without reading them)."""
        text = json.dumps(self.query, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def log_details(self) -> dict[str, object]:
        """What the access log's ``release`` entry holds: names, counts, hashes and the firm
        tokens of the released rows; never a value (the filter only names keep-fields)."""
        return {
            "purpose": str(self.query.get("purpose", "release")),
            "dataset": str(self.query.get("dataset", "")),
            "fields": list(self.fields),
            "rows": self.rows,
            "policy_version": self.policy_version,
            "release_id": self.release_id,
            "sha256": self.sha256,
            "recipient": f"{self.organization}/{self.node_id}",
            "filter_used": bool(self.query.get("filter")),
            "withheld": self.withheld,
            "query_digest": self.query_digest(),
            "fingerprint": str(self.fingerprint.get("scheme", "none")),
            "fingerprint_cells": int(self.fingerprint.get("cells", 0)),
            "subjects": list(self.subjects),
        }

    # Rows left out because their firm's authorization did not cover this recipient and
    # purpose, and the authorization records that covered the rows released.
    withheld: int = 0
    authorizations: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain form for the access log."""
        return {
            "release_id": self.release_id,
            "at": self.at,
            "organization": self.organization,
            "node_id": self.node_id,
            "role": self.role,
            "query": dict(self.query),
            "policy_version": self.policy_version,
            "decision_id": self.decision_id,
            "fields": list(self.fields),
            "rows": self.rows,
            "sha256": self.sha256,
            "format": self.format,
            "transforms": dict(self.transforms),
            "fingerprint": dict(self.fingerprint),
            "subjects": len(self.subjects),
            "withheld": self.withheld,
            "authorizations": list(self.authorizations),
        }


class ReleaseMarker(Protocol):
    """Fingerprints an extract for its recipient and names its rows (``node.governance``)."""

    def mark(
        self, release_id: str, frame: pd.DataFrame, tolerances: Mapping[str, float]
    ) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The frame with the release's fingerprint, and how it was marked (plain form)."""
        ...

    def subjects(self, ids: pd.Series) -> tuple[str, ...]:
        """The firm tokens of the released rows' ids (never the ids themselves)."""
        ...


@dataclass(frozen=True)
class Release:
    """The extract as sent (``table`` bytes), the same as a frame, and its record."""

    table: bytes
    frame: pd.DataFrame
    record: ReleaseRecord


def serialize(frame: pd.DataFrame, fmt: str) -> bytes:
    """The bytes sent for ``frame``: Parquet (default, typed) or CSV (UTF-8, with header).

    Raises
    ------
    ValueError
        ``fmt`` is neither ``parquet`` nor ``csv``.
    """
    if fmt == "parquet":
        sink = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
        return sink.getvalue()
    if fmt == "csv":
        return str(frame.to_csv(index=False)).encode("utf-8")
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")


def build_release(
    engine: PolicyEngine,
    identity: Identity,
    request: ReleaseRequest,
    frame: pd.DataFrame,
    on_record: Callable[[ReleaseRecord], None] | None = None,
    marker: ReleaseMarker | None = None,
    firms: FirmFilter | None = None,
) -> Release:
    """Build the masked extract ``request`` asks for from ``frame`` and record the release.

    Parameters
    ----------
    frame
        The dataset as the node holds it (raw); only the policy's output leaves this function.
    on_record
        Receives the record (the access log's writer); it is also logged without values.
    marker
        Fingerprints the masked table within each field's tolerance and tokenizes the
        released rows' ids; without one the table leaves unmarked.
    firms
        The per-firm authorization check (``node.consent``): rows of firms it does not cover
        are withheld before anything else is computed, and counted in the record. A node
        passes it for every release; ``None`` releases every row the policy allows.

    Raises
    ------
    PolicyDenied
        The caller, a field or the filter is refused (recorded by the engine); nothing is built.
    ReleaseQueryError
        The filter is outside the accepted syntax.
    ValueError
        ``request.format`` is not ``parquet`` or ``csv`` (checked before any data is read).
    """
    if request.format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {request.format!r}")
    admitted = firms(frame) if firms is not None else None
    if admitted is not None and admitted.withheld:
        frame = frame[admitted.allowed]
    masked = engine.apply(
        identity,
        request.purpose,
        request.dataset,
        frame,
        fields=list(request.fields),
        row_filter=request.filter,
    )
    out = masked.frame.reset_index(drop=True)
    release_id = uuid.uuid4().hex
    fingerprint: dict[str, Any] = {}
    subjects: tuple[str, ...] = ()
    if marker is not None:
        tolerances = {d.field: d.tolerance for d in masked.decisions if d.tolerance is not None}
        out, fingerprint = marker.mark(release_id, out, tolerances)
        id_field = engine.policy.datasets[request.dataset].id_field
        if id_field is not None and id_field in frame.columns:
            subjects = marker.subjects(frame.loc[masked.frame.index, id_field])
    table = serialize(out, request.format)
    record = ReleaseRecord(
        release_id=release_id,
        at=utc_now(),
        organization=identity.organization,
        node_id=identity.node_id,
        role=identity.role,
        query=request.to_dict(),
        policy_version=masked.version,
        decision_id=masked.decision.decision_id,
        fields=tuple(out.columns),
        rows=len(out),
        sha256=hashlib.sha256(table).hexdigest(),
        format=request.format,
        transforms={d.field: d.transform for d in masked.decisions},
        fingerprint=fingerprint,
        subjects=subjects,
        withheld=admitted.withheld if admitted is not None else 0,
        authorizations=admitted.records if admitted is not None else (),
    )
    log.info(
        "release %s to org=%s role=%s dataset=%s rows=%d version=%s sha256=%s",
        record.release_id,
        record.organization,
        record.role,
        request.dataset,
        record.rows,
        record.policy_version[:16],
        record.sha256[:16],
    )
    if on_record is not None:
        on_record(record)
    return Release(table, out, record)
