"""Tamper-evident access log (RFC 6962 Merkle log), shared by nodes and the coordinator."""

from node.audit.checkpoint import Checkpoint, SignedCheckpoint, load_public_key, sign_checkpoint
from node.audit.entry import AccessEntry, Action, Actor, decode, encode
from node.audit.exceptions import (
    AuditError,
    CheckpointSignatureError,
    ExportFormatError,
    InvalidCheckpoint,
    InvalidEntry,
    InvalidProof,
    LogClosedError,
    LogCorruptError,
    LogLockedError,
    OriginMismatch,
    ProofRangeError,
    RawIdentifierError,
    RootMismatch,
    SearchIndexMismatch,
    TamperDetected,
)
from node.audit.export import ExportReport, ExportSummary, verify_export, write_export
from node.audit.log import AccessLog
from node.audit.reader import LogReader
from node.audit.recorder import AuditRecorder
from node.audit.search import SearchQuery
from node.audit.tokens import FirmTokenizer
from node.audit.verify import Finding, VerifyReport, verify_log

__all__ = [
    "AccessEntry",
    "AccessLog",
    "Action",
    "Actor",
    "AuditError",
    "AuditRecorder",
    "Checkpoint",
    "CheckpointSignatureError",
    "ExportFormatError",
    "ExportReport",
    "ExportSummary",
    "Finding",
    "FirmTokenizer",
    "InvalidCheckpoint",
    "InvalidEntry",
    "InvalidProof",
    "LogClosedError",
    "LogCorruptError",
    "LogLockedError",
    "LogReader",
    "OriginMismatch",
    "ProofRangeError",
    "RawIdentifierError",
    "RootMismatch",
    "SearchIndexMismatch",
    "SearchQuery",
    "SignedCheckpoint",
    "TamperDetected",
    "VerifyReport",
    "decode",
    "encode",
    "load_public_key",
    "sign_checkpoint",
    "verify_export",
    "verify_log",
    "write_export",
]
