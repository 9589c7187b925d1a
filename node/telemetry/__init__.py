"""Tracing shared by nodes and the coordinator (OpenTelemetry API; the SDK is set up by daemons)."""

from node.telemetry.tracing import TracingInterceptor, tracer

__all__ = ["TracingInterceptor", "tracer"]
