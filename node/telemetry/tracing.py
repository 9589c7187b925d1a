"""One server span per RPC, and the tracer jobs use for their own spans.

Spans carry method names, peer organization/node/role, job ids, attempt numbers, stages and
counts — the same vocabulary as the access log — and never an enterprise identifier, a field
value or a key. Library code depends on the OpenTelemetry API only; without an SDK configured
(``node.telemetry.setup``), every span is a no-op.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from node.telemetry.metrics import record_rpc
from node.transport.handlers import Behavior, WrappingInterceptor
from node.transport.propagation import extract_context

tracer = trace.get_tracer("fedcredit")


class TracingInterceptor(WrappingInterceptor):
    """Opens a SERVER span around every handler and records how the call ended.

    The span continues the caller's trace when the call carries a ``traceparent``
    (``node.transport.propagation``), and each call's duration goes to the
    ``fedcredit.rpc.server.duration`` histogram with its method and status.

    Install it first (outermost), so refusals by the authentication interceptor are traced too.
    A failed call records the exception's type and the error catalog's code (set on the span
    by ``node.transport.errors``), never its message or stack trace: foreign exception text
    can quote the data value that broke it.
    """

    def wrap(self, method: str, behavior: Behavior, streams_responses: bool) -> Behavior:
        service, _, name = method.lstrip("/").partition("/")
        attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}

        @contextmanager
        def start(context: grpc.ServicerContext) -> Iterator[Any]:
            began = time.perf_counter()
            with tracer.start_as_current_span(
                method.lstrip("/"),
                context=extract_context(context.invocation_metadata()),
                kind=SpanKind.SERVER,
                attributes=attributes,
                record_exception=False,  # the SDK would record the message and stack trace
                set_status_on_exception=False,
            ) as span:
                try:
                    yield span
                finally:
                    record_rpc(method, status_name(context), time.perf_counter() - began)

        def unary(request: Any, context: grpc.ServicerContext) -> Any:
            with start(context) as span:
                try:
                    return behavior(request, context)
                except Exception as exc:
                    record_failure(span, context, exc)
                    raise

        def stream(request: Any, context: grpc.ServicerContext) -> Any:
            # drained inside the span, so its duration covers the whole stream
            with start(context) as span:
                try:
                    yield from behavior(request, context)
                except Exception as exc:
                    record_failure(span, context, exc)
                    raise

        return stream if streams_responses else unary


def status_name(context: grpc.ServicerContext) -> str:
    """The call's gRPC status as a name (``OK`` unless the handler set or aborted with one)."""
    code = context.code() if hasattr(context, "code") else None
    return code.name if isinstance(code, grpc.StatusCode) else "OK"


def record_failure(span: Any, context: grpc.ServicerContext | None, exc: BaseException) -> None:
    """Mark ``span`` failed with the exception's type only (and the call's status, if any)."""
    code = context.code() if context is not None and hasattr(context, "code") else None
    if code is not None:
        span.set_attribute("rpc.grpc.status_code", str(code))
    span.add_event("exception", {"exception.type": type(exc).__name__})
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
