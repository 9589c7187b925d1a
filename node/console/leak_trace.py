"""Trace a leaked file uploaded to a node's console, with the code ``fedcredit trace`` runs.

The upload is copied to a private temporary file (created with mode 0600 by ``mkstemp``,
with the suffix it came with, removed afterwards) because ``trace_file`` hashes and reads a
file, and tested against every fingerprinted release of the node's registry, opened
read-only as the command opens it (``NodeFiles``). The page gets plain values back; the
file's column names are whatever the leaker wrote, and the template escapes them like
everything else.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from starlette.datastructures import UploadFile

from node.governance.offline import NodeFiles, NodeFilesError
from node.governance.tabular import UnreadableTable
from node.governance.trace import Match, TraceReport, bound_text, trace_file

MAX_UPLOAD: Final = 64 * 2**20
"""Largest leaked file the console accepts; a larger one is better traced from a sample."""
SUFFIXES: Final = frozenset({".csv", ".tsv", ".txt", ".parquet", ".xlsx", ".json", ".jsonl"})
_CHUNK: Final = 2**20
_COLUMNS_SHOWN: Final = 60


def trace_upload(upload: object, open_files: Callable[[], NodeFiles]) -> dict[str, Any]:
    """The verdict on ``upload`` as the trace page shows it, or ``{"problem": one line}``."""
    if not isinstance(upload, UploadFile):
        return {"problem": "choose the leaked file to trace"}
    name = Path(upload.filename or "upload").name
    suffix = Path(name).suffix.lower()
    handle, raw_path = tempfile.mkstemp(prefix="leak-", suffix=suffix if suffix in SUFFIXES else "")
    path = Path(raw_path)
    try:
        with os.fdopen(handle, "wb") as out:
            size = 0
            while chunk := upload.file.read(_CHUNK):
                size += len(chunk)
                if size > MAX_UPLOAD:
                    return {"problem": f"{name} is larger than {MAX_UPLOAD // 2**20} MiB; "
                            "trace a sample of its rows"}  # fmt: skip
                out.write(chunk)
        with open_files() as node:
            report = trace_file(path, node.registry.releases(), node.key_of, prover=node.prover)
    except (NodeFilesError, UnreadableTable) as exc:
        return {"problem": str(exc).replace(str(path), name)}
    finally:
        path.unlink(missing_ok=True)
    return {"report": _report(report, name)}


def _report(report: TraceReport, name: str) -> dict[str, Any]:
    v = report.verdict
    best = v.scores[0] if v.scores else None
    return {
        "source": name,
        "rows": report.rows,
        "columns": report.columns[:_COLUMNS_SHOWN],
        "more_columns": max(0, len(report.columns) - _COLUMNS_SHOWN),
        "sha256": report.sha256,
        "tested": v.tested,
        "max_false_accusation": f"{v.max_false_accusation:g}",
        "matches": [_match(m) for m in report.matches],
        "closest": None
        if best is None
        else {
            "release_id": best.release_id,
            "agree": best.agree,
            "pairs": best.pairs,
            "agreement": f"{best.agreement:.1%}",
            "bound": bound_text(v.log10_bound(best)),
        },
    }


def _match(m: Match) -> dict[str, Any]:
    r, s, e = m.release.record, m.score, m.evidence
    return {
        "release_id": r.release_id,
        "recipient": m.release.principal,
        "cert_serial": m.release.cert_serial or "-",
        "cert_sha256": m.release.cert_sha256 or "-",
        "at": r.at,
        "query": json.dumps(r.query, ensure_ascii=False, sort_keys=True),
        "policy_version": r.policy_version,
        "rows": r.rows,
        "fields": ", ".join(r.fields),
        "exact_copy": m.exact_copy,
        "agreement": None
        if s is None
        else f"{s.agree} of {s.pairs} value pairs carry this release's mark "
        f"({s.agreement:.1%}; chance is 50%) in {', '.join(s.columns)}",
        "bound": bound_text(m.log10_bound),
        "evidence": None
        if e is None
        else {
            "index": e.index,
            "witnessed": e.witnessed,
            "size": e.anchor.checkpoint.size,
            "time": e.anchor.checkpoint.time,
            "root": e.anchor.checkpoint.root.hex(),
            "proof": [h.hex() for h in e.proof],
        },
    }
