"""Set up the OpenTelemetry SDK in a daemon: spans written as JSON lines to a local file.

The embedded default has no collector, so spans go to ``<state dir>/traces.jsonl``, one JSON
object per finished span (the SDK's own ``to_json`` form), batched off the request path.
Only entry points call this; library modules use the API alone.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

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


class JsonLinesExporter(SpanExporter):
    """Appends each finished span to a file as one line of JSON (owner-only, 0600)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            for span in spans:
                obj = redact(json.loads(span.to_json()))
                self._file.write(json.dumps(obj, separators=(",", ":")))
                self._file.write("\n")
            self._file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()


def configure_tracing(service_name: str, path: Path) -> TracerProvider:
    """Install a tracer provider for this process; call ``shutdown()`` on it before exiting."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(JsonLinesExporter(path)))
    trace.set_tracer_provider(provider)
    return provider
