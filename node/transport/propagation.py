"""Trace context across processes: W3C ``traceparent`` in gRPC metadata, both ways.

Every channel opened by ``node.transport`` carries ``TraceContextClientInterceptor``: a call
made inside a span (a party's ``job.party`` span sending an envelope, say) carries that span's
context as metadata, and the server's ``TracingInterceptor`` opens its span as a child of it.
Only the standard ``traceparent``/``tracestate`` headers travel: ids and flags, no attributes
and no baggage, so nothing a span says about a job leaves the process this way.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import grpc
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

# Baggage is deliberately not propagated: it would copy arbitrary key-values across parties.
_PROPAGATOR: Final = TraceContextTextMapPropagator()


def extract_context(metadata: Sequence[tuple[str, str | bytes]] | None) -> Context:
    """The caller's trace context from a call's invocation metadata (empty if none)."""
    carrier = {k: v for k, v in (metadata or ()) if isinstance(v, str)}
    return _PROPAGATOR.extract(carrier)


def _with_context(details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    if not carrier:
        return details
    metadata = [*(details.metadata or ()), *carrier.items()]
    return _CallDetails(
        details.method, details.timeout, metadata, details.credentials,
        details.wait_for_ready, details.compression,
    )  # fmt: skip


class _CallDetails(
    collections.namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    """The call's details with metadata added (grpc's own examples build them this way)."""


class TraceContextClientInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds the current span's ``traceparent`` to every outgoing call (nothing outside a span)."""

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(_with_context(details), request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(_with_context(details), request)

    def intercept_stream_unary(
        self,
        continuation: Callable[..., Any],
        details: grpc.ClientCallDetails,
        requests: Iterator[Any],
    ) -> Any:
        return continuation(_with_context(details), requests)

    def intercept_stream_stream(
        self,
        continuation: Callable[..., Any],
        details: grpc.ClientCallDetails,
        requests: Iterator[Any],
    ) -> Any:
        return continuation(_with_context(details), requests)
