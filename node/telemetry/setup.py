"""Set up the OpenTelemetry SDK in a daemon: spans to a local file, metrics for ``/metrics``.

The embedded default has no collector, so spans go to ``<state dir>/traces.jsonl``, one JSON
object per finished span (the SDK's own ``to_json`` form), batched off the request path, and
metrics are kept in memory for the console's Prometheus endpoint (``node.telemetry.prometheus``).
Setting the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` (an OTLP/HTTP collector, e.g.
``http://127.0.0.1:4318``) also exports both there; the OTLP exporter is the optional
``otlp`` extra. Only entry points call this; library modules use the API alone.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.util import ns_to_iso_str
from opentelemetry.trace import SpanContext

from node.telemetry.jobtrace import clear_forced_ids, forced_ids

OTLP_ENDPOINT_ENV: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"

# Span data that can carry an exception's text: the SDK's exception events and the status
# description it sets from ``f"{type}: {message}"``. Only the type survives export.
_EXCEPTION_TEXT: Final = ("exception.message", "exception.stacktrace", "exception.escaped")


def redact(span: dict[str, Any]) -> dict[str, Any]:
    """A span's JSON form with every exception message and stack trace removed.

    Spans opened by our interceptors never record them; this also covers spans of code that
    uses the API's defaults (``record_exception=True``), whatever library opened them.
    """
    for event in span.get("events") or []:
        attrs = event.get("attributes") or {}
        for key in _EXCEPTION_TEXT:
            attrs.pop(key, None)
    for key in _EXCEPTION_TEXT:
        (span.get("attributes") or {}).pop(key, None)
    status = span.get("status") or {}
    if status.get("description"):
        status["description"] = str(status["description"]).split(":", 1)[0][:100]
    return span


def _iso(nanoseconds: int | None) -> str | None:
    return ns_to_iso_str(nanoseconds) if nanoseconds else None


def _context(context: SpanContext) -> dict[str, str]:
    return {
        "trace_id": f"0x{context.trace_id:032x}",
        "span_id": f"0x{context.span_id:016x}",
        "trace_state": repr(context.trace_state),
    }


class JsonLinesExporter(SpanExporter):
    """Appends each finished span to a file as one line of JSON (owner-only, 0600).

    Each line is the object the SDK's ``ReadableSpan.to_json`` describes, built directly:
    ``to_json`` re-serialises the (constant) resource and indents every span, and reading
    its text back to redact it doubled that again, which made exporting a span cost more
    than the relay call it described.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self._resources: dict[int, tuple[Resource, dict[str, Any]]] = {}

    def _resource(self, resource: Resource) -> dict[str, Any]:
        held = self._resources.get(id(resource))
        if held is None or held[0] is not resource:
            held = self._resources[id(resource)] = (resource, json.loads(resource.to_json()))
        return held[1]

    def _record(self, span: ReadableSpan) -> dict[str, Any]:
        status: dict[str, str] = {"status_code": span.status.status_code.name}
        if span.status.description:
            status["description"] = span.status.description
        return {
            "name": span.name,
            "context": _context(span.context) if span.context else None,
            "kind": str(span.kind),
            "parent_id": f"0x{span.parent.span_id:016x}" if span.parent else None,
            "start_time": _iso(span.start_time),
            "end_time": _iso(span.end_time),
            "status": status,
            "attributes": dict(span.attributes or {}),
            "events": [
                {"name": e.name, "timestamp": _iso(e.timestamp),
                 "attributes": dict(e.attributes or {})}
                for e in span.events
            ],
            "links": [
                {"context": _context(link.context), "attributes": dict(link.attributes or {})}
                for link in span.links
            ],
            "resource": self._resource(span.resource),
        }  # fmt: skip

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [json.dumps(redact(self._record(s)), separators=(",", ":")) for s in spans]
        with self._lock:
            self._file.write("".join(f"{line}\n" for line in lines))
            self._file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()


class JobAwareIdGenerator(RandomIdGenerator):
    """Random ids, except for a job attempt's root span (``node.telemetry.jobtrace``).

    The SDK asks a root span for its trace id first and its span id second; inside an
    ``attempt_root`` block both come from the job id, once, and later spans are random again.
    """

    def generate_trace_id(self) -> int:
        forced = forced_ids()
        return forced[0] if forced else super().generate_trace_id()

    def generate_span_id(self) -> int:
        forced = forced_ids()
        if forced:
            clear_forced_ids()
            return forced[1]
        return super().generate_span_id()


class Telemetry:
    """The SDK pieces a daemon installed: shut it down before exiting (flushes spans)."""

    def __init__(self, tracer_provider: TracerProvider, meter_provider: MeterProvider,
                 reader: InMemoryMetricReader, traces: Path) -> None:  # fmt: skip
        self.traces = traces
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.reader = reader

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


_installed: Telemetry | None = None


def installed() -> Telemetry | None:
    """What ``configure_telemetry`` installed in this process, if anything."""
    return _installed


def configure_telemetry(service_name: str, traces: Path) -> Telemetry:
    """Install tracer and meter providers for this process (once; later calls reuse them).

    Spans go to ``traces`` as JSON lines, metrics to an in-memory reader the console's
    ``/metrics`` renders; with ``$OTEL_EXPORTER_OTLP_ENDPOINT`` set, both go there too.

    Raises
    ------
    ImportError
        ``$OTEL_EXPORTER_OTLP_ENDPOINT`` is set but the ``otlp`` extra is not installed.
    """
    global _installed
    if _installed is not None:
        return _installed
    resource = Resource.create({"service.name": service_name})
    tracer_provider = TracerProvider(resource=resource, id_generator=JobAwareIdGenerator())
    tracer_provider.add_span_processor(BatchSpanProcessor(JsonLinesExporter(traces)))
    reader = InMemoryMetricReader()
    readers: list[MetricReader] = [reader]
    if os.environ.get(OTLP_ENDPOINT_ENV):
        tracer_provider.add_span_processor(BatchSpanProcessor(_otlp_span_exporter()))
        readers.append(_otlp_metric_reader())
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    _installed = Telemetry(tracer_provider, meter_provider, reader, traces)
    return _installed


class _RedactingExporter(SpanExporter):
    """Hands spans on to another exporter after removing exception text (see ``redact``)."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._inner.export([_redacted_span(s) for s in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()


def _redacted_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of ``span`` without exception messages, stack traces or status text."""
    from opentelemetry.sdk.trace import Event
    from opentelemetry.trace import Status

    events = [
        Event(e.name, {k: v for k, v in (e.attributes or {}).items() if k not in _EXCEPTION_TEXT},
              e.timestamp)
        for e in span.events
    ]  # fmt: skip
    attributes = {k: v for k, v in (span.attributes or {}).items() if k not in _EXCEPTION_TEXT}
    description = (span.status.description or "").split(":", 1)[0][:100] or None
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=span.resource,
        attributes=attributes, events=events, links=span.links, kind=span.kind,
        status=Status(span.status.status_code, description), start_time=span.start_time,
        end_time=span.end_time, instrumentation_scope=span.instrumentation_scope,
    )  # fmt: skip


def _otlp_span_exporter() -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return _RedactingExporter(OTLPSpanExporter())


def _otlp_metric_reader() -> MetricReader:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    return PeriodicExportingMetricReader(OTLPMetricExporter())
