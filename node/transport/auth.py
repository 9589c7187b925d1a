"""Authenticate and authorize every RPC from the caller's mutual-TLS certificate.

TLS already proved the caller holds a key certified by the federation CA (and that the
certificate is within its validity period). This layer adds what TLS does not: the
revocation check, the identity (organization, node id, role) read from the certificate, and a
per-method role check. It wraps each handler rather than inspecting calls in
``intercept_service``, because only the handler's context exposes the peer certificate, and
the same wrapper answers every failure from the error catalog, so no server of the federation
can send foreign exception text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import grpc

from node.pki.identity import Principal
from node.transport.errors import ServiceError, catalog_errors, classify
from node.transport.handlers import Behavior, WrappingInterceptor

log = logging.getLogger("fedcredit.transport.auth")


Verify = Callable[[bytes], Principal]
# The verified caller of a call, read from its context (verifying its certificate).
Identify = Callable[[grpc.ServicerContext], Principal]
OnDecision = Callable[[str, Principal | None, bool, str, Exception | None], Any]
"""Told of every decision; for an allowed call it may return a callable that the interceptor
calls before the call's answer leaves (e.g. waiting for the call's access-log entry)."""
# Last word on an authenticated, role-checked call (containment of a principal under review);
# raises ``ServiceError`` to refuse it.
Admit = Callable[[str, Principal], None]


def peer_certificate(context: grpc.ServicerContext) -> bytes:
    """The PEM certificate the caller presented in the TLS handshake.

    Raises
    ------
    ServiceError
        ``auth.no_certificate``: the connection has no client certificate.
    """
    certs = context.auth_context().get("x509_pem_cert")
    if not isinstance(certs, list) or not certs:
        raise ServiceError("auth.no_certificate")
    return bytes(certs[0])


class PeerAuthInterceptor(WrappingInterceptor):
    """Verifies the caller on every call, enforces the method's allowed roles, and answers
    every failure, the handler's included, from the error catalog (``node.transport.errors``).

    Parameters
    ----------
    verify
        Turns the peer's PEM certificate into an identity, raising on a revoked or malformed
        certificate (answered as ``auth.certificate_refused``).
    allowed_roles
        Full method name (``/fedcredit.v1.Coordinator/Register``) to the roles that may call
        it. Methods not listed are refused: deny by default. The health service is open to
        any authenticated peer.
    on_decision
        Called with (method, identity or None, allowed, reason, verification error or None)
        for the access log; ``reason`` is the catalog text the caller received.
    admit
        Called last with (method, identity); raises ``ServiceError`` to refuse a caller that
        is throttled or suspended pending review (``node.governance.containment``).
    identify
        Used instead of ``verify`` on the call's certificate: a server whose handlers need
        the caller too passes one that verifies each call once and shares the identity.
    """

    def __init__(
        self,
        verify: Verify,
        allowed_roles: Mapping[str, frozenset[str]],
        on_decision: OnDecision | None = None,
        admit: Admit | None = None,
        identify: Identify | None = None,
    ) -> None:
        self._identify = identify or (lambda context: verify(peer_certificate(context)))
        self._allowed = dict(allowed_roles)
        self._on_decision = on_decision
        self._admit = admit

    def wrap(self, method: str, behavior: Behavior, streams_responses: bool) -> Behavior:
        answered = catalog_errors(method, behavior, streams_responses)

        def guarded(request_or_iterator: Any, context: grpc.ServicerContext) -> Any:
            settle = self._check(method, context)
            try:
                return answered(request_or_iterator, context)
            finally:
                if settle is not None:
                    settle()

        return guarded

    def _check(self, method: str, context: grpc.ServicerContext) -> Callable[[], object] | None:
        identity: Principal | None = None
        try:
            identity = self._identify(context)
            if method.startswith("/grpc.health.v1.Health/"):
                return None
            roles = self._allowed.get(method)
            if roles is None or identity.role not in roles:
                raise ServiceError(
                    "auth.role_denied", role=identity.role, method=method.rsplit("/", 1)[-1]
                )
            if self._admit is not None:
                self._admit(method, identity)
        except Exception as exc:  # refusals, and verification failures of every kind
            error = classify(exc)
            if error.code == "internal":  # an unreadable certificate, not a server fault
                error = ServiceError("auth.certificate_refused", detail="it cannot be read")
            verification = None if isinstance(exc, ServiceError) else exc
            self._decide(method, identity, False, error.public_text, verification)
            context.abort(error.status, error.public_text)
        return self._decide(method, identity, True, "")

    def _decide(
        self,
        method: str,
        identity: Principal | None,
        allowed: bool,
        reason: str,
        error: Exception | None = None,
    ) -> Callable[[], object] | None:
        if not allowed:
            log.info("refused %s: %s", method, reason)
        if self._on_decision is None:
            return None
        settle = self._on_decision(method, identity, allowed, reason, error)
        return settle if callable(settle) else None
