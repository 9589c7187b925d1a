"""The node's record of every release it fingerprinted: what ``trace`` tests a leak against.

One row per release: who received it (organization, node, role, certificate serial and
SHA-256), when, the query, the policy version, fields, row count, the hash of the bytes, how
it was fingerprinted (carrier columns and grid steps) and the index of its access-log entry.
No data value, no identifier and no key is stored: the fingerprint key is re-derived from the
node secret and the release id when needed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from node.governance.fingerprint import FingerprintSpec
from node.governance.store import GovernanceDB
from node.policy.release import ReleaseRecord

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS releases (
    release_id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    principal TEXT NOT NULL,
    record TEXT NOT NULL,
    cert_serial TEXT NOT NULL,
    cert_sha256 TEXT NOT NULL,
    log_index INTEGER
);
CREATE INDEX IF NOT EXISTS releases_by_principal ON releases (principal, at);
"""
_COLUMNS: Final = "release_id, at, principal, record, cert_serial, cert_sha256, log_index"


def certificate_facts(cert_pem: bytes) -> tuple[str, str]:
    """The certificate's serial (hex) and SHA-256 fingerprint of its DER form; empty if none.

    Raises
    ------
    ValueError
        ``cert_pem`` is not empty and not a PEM certificate.
    """
    if not cert_pem:
        return "", ""
    cert = x509.load_pem_x509_certificate(cert_pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return f"{cert.serial_number:x}", digest.finalize().hex()


@dataclass(frozen=True)
class RegisteredRelease:
    """A release as the registry keeps it (``record.subjects`` is empty: tokens are in the
    access-log entry at ``log_index``)."""

    record: ReleaseRecord
    cert_serial: str
    cert_sha256: str
    log_index: int | None

    @property
    def principal(self) -> str:
        """``organization/node/role`` of the recipient, as the access log names actors."""
        r = self.record
        return f"{r.organization}/{r.node_id}/{r.role}"

    @property
    def fingerprint(self) -> FingerprintSpec | None:
        """How it was marked, or ``None`` for a release that carries no fingerprint."""
        raw = self.record.fingerprint
        return FingerprintSpec.from_dict(raw) if raw.get("steps") else None

    def to_dict(self) -> dict[str, Any]:
        """Plain form for reports."""
        out = self.record.to_dict()
        out.pop("subjects", None)
        out.update(
            principal=self.principal,
            certificate_serial=self.cert_serial,
            certificate_sha256=self.cert_sha256,
            log_index=self.log_index,
        )
        return out


def _record_from(raw: dict[str, Any]) -> ReleaseRecord:
    raw = dict(raw)
    raw.pop("subjects", None)
    raw["fields"] = tuple(raw.get("fields", ()))
    raw["authorizations"] = tuple(raw.get("authorizations", ()))
    return ReleaseRecord(**raw)


class ReleaseRegistry:
    """Releases by id and by recipient. Thread-safe."""

    def __init__(self, db: GovernanceDB) -> None:
        self._db = db
        db.ensure(_SCHEMA)

    def add(
        self, record: ReleaseRecord, cert_pem: bytes, log_index: int | None
    ) -> RegisteredRelease:
        """Keep ``record`` (sent to the holder of ``cert_pem``), logged at ``log_index``.

        Raises
        ------
        ValueError
            ``cert_pem`` is not a certificate.
        sqlite3.Error
            The record could not be written; the caller must not send the table.
        """
        serial, sha = certificate_facts(cert_pem)
        body = record.to_dict()
        body.pop("subjects", None)
        principal = f"{record.organization}/{record.node_id}/{record.role}"
        with self._db.write() as db:
            db.execute(
                f"INSERT INTO releases ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.release_id, record.at, principal, json.dumps(body), serial, sha, log_index),
            )
        return RegisteredRelease(record, serial, sha, log_index)

    @staticmethod
    def _row(row: Sequence[Any]) -> RegisteredRelease:
        _, _, _, body, serial, sha, index = row
        return RegisteredRelease(_record_from(json.loads(body)), serial, sha, index)

    def get(self, release_id: str) -> RegisteredRelease | None:
        """The release with this id, or ``None``."""
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM releases WHERE release_id = ?", (release_id,)
        )
        return self._row(rows[0]) if rows else None

    def releases(
        self, principal: str | None = None, since: str | None = None, until: str | None = None
    ) -> list[RegisteredRelease]:
        """Releases oldest first, optionally to one principal (or organization prefix) and
        within ``[since, until)`` (ISO times or prefixes)."""
        clauses, params = [], []
        if principal is not None:
            clauses.append("(principal = ? OR substr(principal, 1, ?) = ?)")
            params += [principal, len(principal) + 1, principal + "/"]
        if since is not None:
            clauses.append("at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("at < ?")
            params.append(until)
        where = " AND ".join(clauses) or "1"
        rows = self._db.query(f"SELECT {_COLUMNS} FROM releases WHERE {where} ORDER BY at", params)
        return [self._row(r) for r in rows]
