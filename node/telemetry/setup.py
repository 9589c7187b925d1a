"""Set up the OpenTelemetry SDK in a daemon: spans written as JSON lines to a local file.

The embedded default has no collector, so spans go to ``<state dir>/traces.jsonl``, one JSON
object per finished span (the SDK's own ``to_json`` form), batched off the request path.
Only entry points call this; library modules use the API alone.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


class JsonLinesExporter(SpanExporter):
    """Appends each finished span to a file as one line of JSON."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            for span in spans:
                self._file.write(json.dumps(json.loads(span.to_json()), separators=(",", ":")))
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
