"""The caller of a coordinator call, verified once per call.

The authentication interceptor, the rate limiter and the handler each need the caller's
identity. Each used to verify the peer certificate again (CA signature, validity, current
revocation list): three verifications per ``Send``, the coordinator's busiest call. The first
of them now verifies and the others of the same call reuse its identity.

Nothing is kept beyond the call: identities are held by the call's own context object, weakly,
so they go when grpc drops the call. Every new call is verified again, so a certificate revoked
while a call is in flight is refused from its next call on, as before; a stream held open
(``Subscribe``) checks its caller again from time to time with ``again``, which verifies
afresh. A failed verification is not remembered (the interceptor aborts the call).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

import grpc

from node.pki.identity import Identity
from node.transport.auth import peer_certificate


class CallerIdentities:
    """``identify(context)`` for every layer of a server; verifies each call's peer once.

    Parameters
    ----------
    verify
        The full peer-certificate check (``node.pki.PeerVerifier``); raises when refused.
    """

    def __init__(self, verify: Callable[[bytes], Identity]) -> None:
        self._verify = verify
        self._known: weakref.WeakKeyDictionary[grpc.ServicerContext, Identity] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def __call__(self, context: grpc.ServicerContext) -> Identity:
        """The verified identity of the call's peer.

        Raises
        ------
        node.transport.errors.ServiceError
            ``auth.no_certificate``: the connection has no client certificate.
        node.pki.exceptions.PkiError
            The certificate is not the CA's, expired, not yet valid or revoked.
        """
        with self._lock:
            known = self._known.get(context)
        return known if known is not None else self.again(context)

    def again(self, context: grpc.ServicerContext) -> Identity:
        """Verify the call's peer afresh (a long-lived stream's certificate may be revoked).

        Raises
        ------
        node.pki.exceptions.PkiError
            As for the first verification; the certificate is now refused.
        """
        with self._lock:
            self._known.pop(context, None)
        who = self._verify(peer_certificate(context))
        with self._lock:
            self._known[context] = who
        return who
