"""Wrap a gRPC method handler's behaviour, whatever its streaming kind, keeping its serializers.

Server interceptors that must see the call's context (authentication, tracing) can only act by
replacing the handler; this is the one place that knows the four handler kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import grpc

Behavior = Callable[[Any, grpc.ServicerContext], Any]


# generic only in the type stubs, not at run time
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


def rewrap(handler: Handler, wrap: Callable[[Behavior, bool], Behavior]) -> Handler:
    """The same handler with its behaviour replaced by ``wrap(behavior, streams_responses)``.

    ``streams_responses`` tells the wrapper that the behaviour returns an iterator of responses
    (server or bidirectional streaming), which a wrapper that must cover the whole call has to
    drain itself.
    """
    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(wrap(handler.unary_unary, False), **kwargs)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(wrap(handler.unary_stream, True), **kwargs)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(wrap(handler.stream_unary, False), **kwargs)
    if handler.stream_stream:
        return grpc.stream_stream_rpc_method_handler(wrap(handler.stream_stream, True), **kwargs)
    raise ValueError("a gRPC method handler without a behaviour")


class WrappingInterceptor(grpc.ServerInterceptor):
    """A server interceptor that wraps every method's behaviour with ``wrap``."""

    def wrap(self, method: str, behavior: Behavior, streams_responses: bool) -> Behavior:
        """Return the behaviour to run instead of ``behavior`` for full method name ``method``."""
        raise NotImplementedError

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        return rewrap(handler, lambda behavior, streams: self.wrap(method, behavior, streams))
