"""One job, one trace: trace and span ids derived from the job id, so every process agrees.

A job's attempt is started by the coordinator and run by parties in other processes, which
learn of it from a ``TaskAssignment`` pushed down their long-lived ``Subscribe`` stream: no
per-message metadata can carry a trace context there. Instead the job id *is* the trace root.
The trace id is a hash of the job id and the coordinator's ``job.attempt`` span id a hash of
``"<job id>#<attempt>"``; a party opens its ``job.party`` span as a child of that span id,
which it computes itself. The RPCs a party then makes (``Send``, ``ReportTask``) carry their
context in gRPC metadata (``node.transport.propagation``), so the coordinator's server spans
hang under the party's span. Several attempts of one job are several root spans in one trace.

Only the job id goes into the hash: job ids are chosen by operators or the coordinator and
name no enterprise.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

_FORCED: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
    "fedcredit_forced_trace_ids", default=None
)


def _digest(text: str) -> bytes:
    return hashlib.sha256(f"fedcredit-trace:{text}".encode()).digest()


def job_trace_id(job_id: str) -> int:
    """The 128-bit trace id of every span of job ``job_id``, in every process."""
    return int.from_bytes(_digest(job_id)[:16], "big") or 1


def attempt_span_id(job_id: str, attempt: int) -> int:
    """The 64-bit span id of the coordinator's ``job.attempt`` span of that attempt."""
    return int.from_bytes(_digest(f"{job_id}#{attempt}")[:8], "big") or 1


def attempt_parent(job_id: str, attempt: int) -> Context:
    """A context whose parent is the coordinator's attempt span: for a party's job span."""
    parent = SpanContext(
        trace_id=job_trace_id(job_id),
        span_id=attempt_span_id(job_id, attempt),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


@contextmanager
def attempt_root(job_id: str, attempt: int) -> Iterator[Context]:
    """Within this block, the next root span gets the attempt's derived ids.

    Start that span with the yielded (empty) context, so it is a root whatever span is
    current. Takes effect where the SDK was set up with ``JobAwareIdGenerator``
    (``node.telemetry.setup``; our daemons do); elsewhere the span keeps random ids.
    """
    token = _FORCED.set((job_trace_id(job_id), attempt_span_id(job_id, attempt)))
    try:
        yield Context()
    finally:
        _FORCED.reset(token)


def forced_ids() -> tuple[int, int] | None:
    """The (trace id, span id) an ``attempt_root`` block asks for, if inside one."""
    return _FORCED.get()


def clear_forced_ids() -> None:
    """Use the forced ids once: later spans in the block get random ids."""
    _FORCED.set(None)
