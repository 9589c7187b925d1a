"""Governed releases on a node: fingerprint every outgoing table and keep its record.

``GovernedReleases`` is the ``ReleaseMarker`` the ``Release`` RPC passes to ``build_release``
and the registry writer the servicer calls once the release is in the access log. ``issue``
does all of it in one call for any other table a node sends to a recipient (a batch-scoring
answer file, for instance), so every file that leaves is traceable the same way.

Such a table leaves in the caller's own form (a gRPC reply the client writes to its file), so
``issue`` renders no file to hash: the record's SHA-256 covers the table's canonical bytes
(``canonical_bytes``), and tracing goes by the marked values.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pandas as pd

from node.audit import Actor
from node.audit.tokens import subject_tokenizer
from node.governance.fingerprint import embed_frame, release_key, root_key
from node.governance.recording import Record
from node.governance.registry import RegisteredRelease, ReleaseRegistry, certificate_facts
from node.pki.identity import Principal
from node.policy.decision import utc_now
from node.policy.release import Release, ReleaseRecord

# The ``format`` a record names when its SHA-256 covers ``canonical_bytes`` (no file was made).
CANONICAL: Final = "canonical/v1"


def _text(value: str | None) -> bytes:
    if value is None:
        return b"\xff\xff\xff\xff"
    data = value.encode("utf-8")
    return struct.pack("<I", len(data)) + data


def canonical_bytes(frame: pd.DataFrame) -> bytes:
    """A table's content as one unambiguous byte string, cheap to hash.

    A tag, the row count, then per column its name, its type and its values: numbers and
    booleans as their little-endian array bytes, anything else as length-prefixed UTF-8 text
    (a null as length 0xFFFFFFFF). Equal tables give equal bytes; rendering a CSV only to hash
    it cost a batch-scoring chunk 11 ms of CPU for 5,000 rows, this 0.1 ms.
    """
    parts = [b"fedcredit/release/canonical/v1\0", struct.pack("<Q", len(frame))]
    for name, column in frame.items():
        values = column.to_numpy()
        parts.append(_text(str(name)))
        if values.dtype.kind in "biuf":
            little = values.astype(values.dtype.newbyteorder("<"), copy=False)
            parts += [_text(little.dtype.str), little.tobytes()]
        else:
            parts.append(_text("text"))
            parts += [_text(None if pd.isna(v) else str(v)) for v in values]
    return b"".join(parts)


class GovernedReleases:
    """Marks, names and registers the tables a node releases.

    Parameters
    ----------
    node_secret
        The node's 32-byte secret; fingerprint keys and firm tokens derive from it.
    registry
        Where release records are kept for ``trace`` and incident reports.
    record
        Writes an access-log entry (``AuditSink.record``) and returns its index.
    """

    def __init__(self, node_secret: bytes, registry: ReleaseRegistry, record: Record) -> None:
        self._root = root_key(node_secret)
        self._tokens = subject_tokenizer(node_secret)
        self.registry = registry
        self._record = record

    def key(self, release_id: str) -> bytes:
        """The fingerprint key of ``release_id`` (re-derived, never stored)."""
        return release_key(self._root, release_id)

    # -- ReleaseMarker --------------------------------------------------------------------

    def mark(
        self, release_id: str, frame: pd.DataFrame, tolerances: Mapping[str, float]
    ) -> tuple[pd.DataFrame, dict[str, Any]]:
        """Fingerprint ``frame`` for ``release_id`` within each field's tolerance."""
        marked, spec = embed_frame(frame, tolerances, self.key(release_id))
        return marked, spec.to_dict()

    def subjects(self, ids: pd.Series) -> tuple[str, ...]:
        """Firm tokens of the released rows (distinct, sorted)."""
        distinct = {str(v) for v in ids.dropna().unique() if str(v).strip()}
        return tuple(sorted({self._tokens.token(v) for v in distinct}))

    def _subjects(self, ids: pd.Series | None, tokens: Sequence[str] | None) -> tuple[str, ...]:
        if tokens is not None:
            return tuple(sorted(set(tokens)))
        return self.subjects(ids) if ids is not None else ()

    # -- after the release is logged ------------------------------------------------------

    def register(
        self, record: ReleaseRecord, cert_pem: bytes, log_index: int | None
    ) -> RegisteredRelease:
        """Keep the record of a logged release; the table must not leave if this raises.

        Raises
        ------
        ValueError
            ``cert_pem`` is not a certificate.
        sqlite3.Error
            The registry could not be written.
        """
        return self.registry.add(record, cert_pem, log_index)

    def issue(
        self,
        frame: pd.DataFrame,
        recipient: Principal,
        cert_pem: bytes,
        *,
        purpose: str,
        dataset: str,
        query: Mapping[str, Any],
        policy_version: str,
        tolerances: Mapping[str, float],
        ids: pd.Series | None = None,
        subjects: Sequence[str] | None = None,
    ) -> Release:
        """Fingerprint, log and register a table for ``recipient`` in one call.

        For outputs other than the ``Release`` RPC (a batch-scoring answer file): ``frame`` is
        already what the policy lets the recipient see; ``tolerances`` names the numeric
        columns that may carry the mark and how far each may move (e.g. ``{"probability":
        1e-4}``); ``ids`` are the rows' firm ids, logged only as tokens, or ``subjects``
        those tokens when the caller has them already. The release's ``table`` is the marked
        frame's ``canonical_bytes``, which its record's SHA-256 covers: it is never sent
        anywhere (the caller sends what it renders from ``Release.frame``), so a leaked file
        is traced by its mark, never matched by hash.

        Raises
        ------
        ValueError
            ``cert_pem`` is not a certificate.
        sqlite3.Error
            The registry could not be written (nothing should be sent).
        """
        certificate_facts(cert_pem)  # a malformed certificate is refused before anything is logged
        release_id = uuid.uuid4().hex
        out, fingerprint = self.mark(release_id, frame.reset_index(drop=True), tolerances)
        table = canonical_bytes(out)
        record = ReleaseRecord(
            release_id=release_id,
            at=utc_now(),
            organization=recipient.organization,
            node_id=recipient.node_id,
            role=recipient.role,
            query={"dataset": dataset, "purpose": purpose, **dict(query)},
            policy_version=policy_version,
            decision_id="",
            fields=tuple(str(c) for c in out.columns),
            rows=len(out),
            sha256=hashlib.sha256(table).hexdigest(),
            format=CANONICAL,
            fingerprint=fingerprint,
            subjects=self._subjects(ids, subjects),
        )
        recipient_actor = Actor(recipient.organization, recipient.node_id, recipient.role)
        index = self._record("release", record.log_details(), actor=recipient_actor)
        self.register(record, cert_pem, index)
        return Release(table, out, record)
