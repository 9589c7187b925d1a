"""Serve a console app over HTTPS that requires a client certificate from the federation CA.

Uvicorn runs in a thread of the node or coordinator process, on a socket bound here (so a
busy port fails at start-up, and port 0 is known at once). TLS refuses certificates from
another CA and expired ones, as the gRPC port does; the app then re-checks every request
(revocation, role) in ``node.console.access``. The ASGI servers of today do not hand the
client certificate to the application, so a small protocol subclass puts it into the
request's ``state`` when the connection is made.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from pathlib import Path
from typing import Final

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from node.pki.files import CA_CERT

log = logging.getLogger("fedcredit.console")

PEER_CERTIFICATE: Final = "peer_certificate_der"


class _PeerCertificateProtocol(H11Protocol):
    """HTTP/1.1 whose request scopes carry the TLS client certificate (DER) in ``state``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        # per connection: a copy, so no other connection's requests ever see this certificate
        self.app_state = {**self.app_state, PEER_CERTIFICATE: der}


class ConsoleServer:
    """One console app served from a background thread; ``start`` binds, ``stop`` drains."""

    def __init__(self, app: ASGIApp, listen: str, cert_dir: Path, cert_name: str) -> None:
        host, _, port = listen.rpartition(":")
        self._socket = socket.create_server((host, int(port)), reuse_port=False)
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            ssl_certfile=str(cert_dir / f"{cert_name}.crt"),
            ssl_keyfile=str(cert_dir / f"{cert_name}.key"),
            ssl_ca_certs=str(cert_dir / CA_CERT),
            ssl_cert_reqs=ssl.CERT_REQUIRED,
            http=_PeerCertificateProtocol,
            lifespan="off",
            access_log=False,  # every request is in the access log, by the app
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="console", daemon=True)

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except Exception:
            log.exception("console server stopped")

    def start(self) -> None:
        self._thread.start()

    def stop(self, grace: float = 3.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(grace + 2)
        self._socket.close()
