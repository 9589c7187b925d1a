"""One vertical job is one trace across the coordinator and every node, with no identifier."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from coordinator.local import LocalFederation
from node.telemetry.jobtrace import attempt_span_id, job_trace_id

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXPORTED = DOCS / "observability" / "vertical-job-trace.json"
PARTIES = ("coordinator", "government", "bank", "third_party")
USCC = re.compile(r"\b[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}\b")


def job_trace(fed: LocalFederation, job_id: str) -> list[dict[str, Any]]:
    """Every span of the job's trace, from every process's span file."""
    trace_id = f"0x{job_trace_id(job_id):032x}"
    spans = []
    for party in PARTIES:
        path = fed.root / "state" / party / "traces.jsonl"
        spans += [s for s in map(json.loads, path.read_text().splitlines())
                  if s["context"]["trace_id"] == trace_id]  # fmt: skip
    return spans


def check_one_trace(spans: list[dict[str, Any]], job_id: str) -> None:
    services = {s["resource"]["attributes"]["service.name"] for s in spans}
    assert services == {"fedcredit-coordinator", *(f"fedcredit-node/{p}" for p in PARTIES[1:])}
    attempt = f"0x{attempt_span_id(job_id, 1):016x}"
    roots = [s for s in spans if s["name"] == "job.attempt"]
    assert [r["context"]["span_id"] for r in roots] == [attempt]
    parties = [s for s in spans if s["name"] == "job.party"]
    assert len(parties) == 3 and all(p["parent_id"] == attempt for p in parties)
    # the nodes' calls to the coordinator (relayed envelopes, reports) hang under their spans
    ids = {s["context"]["span_id"] for s in spans}
    sends = [s for s in spans if s["name"] == "fedcredit.v1.Coordinator/Send"]
    assert sends and all(s["parent_id"] in ids for s in sends)


def test_a_vertical_job_is_one_trace_without_identifiers(federation: LocalFederation) -> None:
    # prepare: the batch span processors flush every 5 s
    time.sleep(6)
    # execute
    spans = job_trace(federation, "vertical-1")
    # assert
    check_one_trace(spans, "vertical-1")
    text = json.dumps(spans)
    codes = pd.read_csv(federation.root / "data" / "bank.csv", dtype=str)["uscc"]
    assert not any(code in text for code in codes)
    assert not USCC.search(text)
    if os.environ.get("FEDCREDIT_TRACE_EXPORT"):
        Path(os.environ["FEDCREDIT_TRACE_EXPORT"]).write_text(json.dumps(spans, indent=1) + "\n")


def test_the_exported_trace_in_the_docs_is_one_trace_without_identifiers() -> None:
    spans = json.loads(EXPORTED.read_text())
    check_one_trace(spans, "vertical-1")
    assert not USCC.search(EXPORTED.read_text())
