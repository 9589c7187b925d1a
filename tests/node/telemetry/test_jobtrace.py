"""One job, one trace: the coordinator's attempt span and every party's span share ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from node.telemetry import tracer
from node.telemetry.jobtrace import attempt_parent, attempt_root, attempt_span_id, job_trace_id
from node.telemetry.setup import Telemetry


def _hex(value: int, width: int) -> str:
    return f"0x{value:0{width}x}"


def test_attempt_root_and_party_spans_form_one_trace(
    telemetry: Telemetry, finished_spans: Callable[[], list[dict[str, Any]]]
) -> None:
    # execute: the coordinator's attempt span, a span inside it, and a party's span elsewhere
    with attempt_root("job-7", 2) as root:
        attempt = tracer.start_span("job.attempt", context=root)
        inner = tracer.start_span("inner")  # a later span in the block: random ids
        inner.end()
        attempt.end()
    with tracer.start_as_current_span("job.party", context=attempt_parent("job-7", 2)):
        pass
    # assert: derived trace and span ids; the party's span is the attempt's child
    spans = {s["name"]: s for s in finished_spans() if s["name"] in ("job.attempt", "job.party")}
    trace_id = _hex(job_trace_id("job-7"), 32)
    assert spans["job.attempt"]["context"]["trace_id"] == trace_id
    assert spans["job.attempt"]["context"]["span_id"] == _hex(attempt_span_id("job-7", 2), 16)
    assert spans["job.attempt"]["parent_id"] is None
    assert spans["job.party"]["context"]["trace_id"] == trace_id
    assert spans["job.party"]["parent_id"] == spans["job.attempt"]["context"]["span_id"]
    assert inner.get_span_context().span_id != attempt_span_id("job-7", 2)


def test_attempts_and_jobs_get_distinct_ids() -> None:
    # assert: another attempt is another root in the same trace; another job another trace
    assert attempt_span_id("job-7", 1) != attempt_span_id("job-7", 2)
    assert job_trace_id("job-7") != job_trace_id("job-8")
