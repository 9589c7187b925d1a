"""Errors of the access log: one class per failure a caller must handle differently.

Messages name the problem and the fix; none ever carries an entry's contents, a firm token
source, a key or a score, so they are safe to log and to show to a remote auditor.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from node.audit.verify import Finding, VerifyReport


class AuditError(Exception):
    """Base class for every access-log error."""

    catalog_code: ClassVar[str] = "audit.failed"  # RPC answer: node.transport.errors


class InvalidProof(AuditError):
    """A Merkle inclusion or consistency proof does not hold."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid Merkle proof: {reason}")
        self.reason = reason


class RootMismatch(InvalidProof):
    """A well-formed proof leads to a root other than the expected one."""

    def __init__(self, expected: bytes, calculated: bytes) -> None:
        super().__init__(f"calculated root {calculated.hex()} != expected root {expected.hex()}")
        self.expected = expected
        self.calculated = calculated


class InvalidEntry(AuditError, ValueError):
    """An access-log entry is malformed, or cannot be encoded canonically."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"access-log entry field {field!r}: {problem}")
        self.field = field
        self.problem = problem


class RawIdentifierError(InvalidEntry):
    """An entry field holds what looks like a raw enterprise identifier.

    Entries must carry firm tokens (``FirmTokenizer.token``), never the codes themselves.
    """

    def __init__(self, field: str) -> None:
        super().__init__(
            field,
            "holds a raw unified social credit code; tokenize it with FirmTokenizer.token "
            "and pass the token in 'subjects' instead",
        )


class InvalidCheckpoint(AuditError):
    """A checkpoint cannot be parsed, or is not the checkpoint the caller expected."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid checkpoint: {reason}")
        self.reason = reason


class CheckpointSignatureError(InvalidCheckpoint):
    """A checkpoint's Ed25519 signature does not verify under the given public key."""

    def __init__(self, origin: str, size: int) -> None:
        super().__init__(
            f"signature of checkpoint from {origin!r} at size {size} does not verify; "
            "check that you hold the node's current public key, otherwise the checkpoint "
            "is forged or altered"
        )
        self.origin = origin
        self.size = size


class LogLockedError(AuditError):
    """Another process already has this access log open for writing."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"access log {path.name!r} is open for writing by another process; a log has "
            "exactly one writer: stop the other node process, or open it read-only "
            "with LogReader"
        )
        self.path = path


class LogClosedError(AuditError):
    """The access log was closed, or stopped after a failed write, and takes no appends."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"access log is closed: {reason}; reopen it with AccessLog.open")
        self.reason = reason


class LogCorruptError(AuditError):
    """The stored log is not in a state this code ever writes (e.g. missing entries)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"access log storage is inconsistent: {reason}; run 'fedcredit-audit verify' "
            "against the last published checkpoint to locate the damage"
        )
        self.reason = reason


class SearchIndexMismatch(AuditError):
    """Rows the search index offered do not say what their hashed entries say.

    The index columns sit outside the Merkle tree; a row whose columns match a query while
    its bytes do not (or whose bytes do not decode) was rewritten after it was appended.
    """

    def __init__(self, positions: Sequence[int]) -> None:
        shown = ", ".join(str(p) for p in positions[:10])
        more = f" and {len(positions) - 10} more" if len(positions) > 10 else ""
        super().__init__(
            f"the search index disagrees with the hashed entries at position(s) {shown}{more}: "
            "it was altered, so results may be incomplete; run 'fedcredit-audit verify' and "
            "search with --scan, which reads the hashed entries only"
        )
        self.positions = list(positions)


class ProofRangeError(AuditError, ValueError):
    """A proof was asked for an index or size the log does not (yet) have."""

    catalog_code: ClassVar[str] = "audit.out_of_range"  # RPC answer: node.transport.errors

    def __init__(self, what: str, value: int, limit: int) -> None:
        super().__init__(
            f"{what} {value} is out of range: the log holds {limit} durable entries; "
            "ask for a size no larger than the latest checkpoint"
        )
        self.what = what
        self.value = value
        self.limit = limit


class TamperDetected(AuditError):
    """Verification found entries or checkpoints that differ from what was signed.

    ``findings`` lists each problem with its position, first to last; ``report`` is the full
    ``VerifyReport`` when the whole log was checked.
    """

    def __init__(self, findings: Sequence[Finding], report: VerifyReport | None = None) -> None:
        first = findings[0] if findings else None
        where = f"; first at position {first.position}: {first.kind}" if first else ""
        super().__init__(f"access log verification failed with {len(findings)} finding(s){where}")
        self.findings = list(findings)
        self.report = report


class ExportFormatError(AuditError):
    """An export file is not a fedcredit audit export this version can read."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"unreadable audit export: {reason}")
        self.reason = reason


class OriginMismatch(AuditError, ValueError):
    """A log or checkpoint belongs to another origin (node id) than the caller named."""

    def __init__(self, expected: str, found: str) -> None:
        super().__init__(
            f"access log belongs to origin {found!r}, not {expected!r}; open the node's own "
            "log directory, or pass the node id it was created with"
        )
        self.expected = expected
        self.found = found
