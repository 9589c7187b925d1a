"""Portable audit exports: entries plus proofs, verifiable offline with the node's public key.

An export is a UTF-8 JSON Lines file (``docs/audit-log.md``). The first line is the header::

    {"format": "fedcredit-audit-export", "v": 1, "origin": ..., "checkpoint": <signed
     checkpoint text>, "complete": true|false, "count": <entries>, "query": {...}|null}

then one line per entry: ``{"index": i, "entry": <canonical entry JSON, as a string>,
"proof": [hex, ...]}``. Entry bytes are ASCII (the canonical encoding escapes the rest), so
the string round-trips byte for byte.

A *complete* export holds every entry the checkpoint covers, without proofs: the auditor
rebuilds the whole tree and compares roots, which also proves nothing was left out. A
*selective* export (a search) carries an inclusion proof per entry against the checkpoint:
it proves each entry is in the signed log, but not that no other entry matched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.audit.checkpoint import SignedCheckpoint
from node.audit.entry import AccessEntry, decode
from node.audit.exceptions import (
    CheckpointSignatureError,
    ExportFormatError,
    InvalidCheckpoint,
    InvalidEntry,
    InvalidProof,
    TamperDetected,
)
from node.audit.merkle import leaf_hash, root_from_hashes, verify_inclusion
from node.audit.reader import LogReader
from node.audit.search import SearchQuery
from node.audit.verify import Finding

EXPORT_FORMAT: Final = "fedcredit-audit-export"
EXPORT_VERSION: Final = 1


@dataclass(frozen=True)
class ExportSummary:
    """What an export holds: origin, checkpoint size, entry count, and whether it is complete."""

    origin: str
    checkpoint_size: int
    count: int
    complete: bool

    def to_json_obj(self) -> dict[str, Any]:
        """Return the summary as a JSON-ready dict."""
        return asdict(self)


def _query_obj(query: SearchQuery) -> dict[str, Any]:
    obj = asdict(query)
    if query.action is not None:
        obj["action"] = str(query.action)
    return obj


def write_export(
    reader: LogReader,
    out: Path,
    checkpoint: SignedCheckpoint | None = None,
    query: SearchQuery | None = None,
) -> ExportSummary:
    """Write an export of ``reader`` against ``checkpoint`` (default: the newest stored).

    With ``query`` it is selective (matching entries covered by the checkpoint, each with its
    inclusion proof); without, complete.

    Raises
    ------
    InvalidCheckpoint
        The log has no checkpoint yet (sign one first), or ``checkpoint`` is from another log.
    ProofRangeError
        The checkpoint is larger than the stored log (the log was truncated).
    """
    cp = checkpoint or reader.latest_checkpoint()
    if cp is None:
        raise InvalidCheckpoint("the log has no checkpoint yet; sign one before exporting")
    if reader.origin and cp.origin != reader.origin:
        raise InvalidCheckpoint("the checkpoint belongs to another log")
    reader.root_at(cp.size)  # raises ProofRangeError when the log is shorter
    rows: Iterator[tuple[int, bytes, list[bytes]]]
    if query is None:
        rows = ((i, d, []) for i, d, _ in reader.store.iter_entries(0, cp.size))
        count = cp.size
    else:
        hits = [(i, e) for i, e in reader.search(query) if i < cp.size]
        rows = ((i, reader.entry_bytes(i), reader.inclusion_proof(i, cp.size)) for i, _ in hits)
        count = len(hits)
    header = {
        "format": EXPORT_FORMAT,
        "v": EXPORT_VERSION,
        "origin": cp.origin,
        "checkpoint": cp.to_bytes().decode("ascii"),
        "complete": query is None,
        "count": count,
        "query": None if query is None else _query_obj(query),
    }
    with Path(out).open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(header, sort_keys=True) + "\n")
        for index, data, proof in rows:
            hexes = [p.hex() for p in proof]
            line = {"index": index, "entry": data.decode("ascii"), "proof": hexes}
            fh.write(json.dumps(line, sort_keys=True) + "\n")
    return ExportSummary(cp.origin, cp.size, count, query is None)


@dataclass
class ExportReport:
    """What ``verify_export`` established."""

    summary: ExportSummary
    entries: list[tuple[int, AccessEntry]]

    def to_json_obj(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict (entries as their JSON objects)."""
        return {
            "ok": True,
            **self.summary.to_json_obj(),
            "entries": [{"index": i, "entry": e.to_json_obj()} for i, e in self.entries],
        }


def _read_header(line: str) -> dict[str, Any]:
    try:
        header = json.loads(line)
    except ValueError:
        raise ExportFormatError("the first line is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
        raise ExportFormatError(f"the first line does not declare format {EXPORT_FORMAT!r}")
    if header.get("v") != EXPORT_VERSION:
        raise ExportFormatError(f"unsupported export version; this code reads v{EXPORT_VERSION}")
    return header


def verify_export(path: Path, public_key: Ed25519PublicKey) -> ExportReport:
    """Verify an export file offline with only the node's public key.

    Raises
    ------
    ExportFormatError
        The file is not a readable export.
    TamperDetected
        The checkpoint signature, an entry, a proof, or (complete exports) the entry set
        does not match what the node signed; ``findings`` says where.
    """
    findings: list[Finding] = []
    entries: list[tuple[int, AccessEntry]] = []
    leaves: list[bytes] = []
    with Path(path).open(encoding="utf-8") as fh:
        header = _read_header(fh.readline())
        try:
            cp = SignedCheckpoint.from_bytes(str(header["checkpoint"]).encode("ascii"))
        except (InvalidCheckpoint, KeyError, UnicodeEncodeError):
            raise ExportFormatError("the header holds no readable checkpoint") from None
        try:
            cp.verify(public_key)
        except CheckpointSignatureError:
            findings.append(Finding("checkpoint_signature", None, "checkpoint signature invalid"))
        complete = header.get("complete") is True
        position = 0
        for line in fh:
            try:
                row = json.loads(line)
                index, data = int(row["index"]), str(row["entry"]).encode("ascii")
                proof = [bytes.fromhex(p) for p in row["proof"]]
            except (ValueError, KeyError, TypeError, UnicodeEncodeError):
                raise ExportFormatError(f"entry line {position + 2} is malformed") from None
            try:
                entry = decode(data)
            except InvalidEntry:
                findings.append(Finding("malformed", index, f"entry {index} is not canonical"))
                entry = None
            if entry is not None and entry.seq != index:
                findings.append(
                    Finding("out_of_place", index, f"entry listed at {index} claims {entry.seq}")
                )
            if complete:
                if index != position:
                    findings.append(
                        Finding("out_of_place", position, f"expected entry {position}, got {index}")
                    )
                leaves.append(leaf_hash(data))
            else:
                try:
                    verify_inclusion(leaf_hash(data), index, cp.size, proof, cp.root)
                except InvalidProof:
                    findings.append(Finding("edited", index, f"entry {index} fails its proof"))
            if entry is not None:
                entries.append((index, entry))
            position += 1
    if complete:
        if position != cp.size:
            findings.append(
                Finding("truncated", position, f"export holds {position} of {cp.size} entries")
            )
        elif root_from_hashes(leaves) != cp.root:
            findings.append(Finding("root_mismatch", None, "entries do not rebuild the root"))
    if findings:
        raise TamperDetected(findings)
    return ExportReport(ExportSummary(cp.origin, cp.size, position, complete), entries)
