"""Build a console app: pages guarded by role, every request in the access log, one layout.

A ``Page`` names its route, the roles that may open it (deny by default, as the gRPC access
tables do) and whether the viewer must belong to this node's organization (a bank's loan
officers and staff see their own bank only). Each request is authenticated from the client
certificate with the process's ``PeerVerifier`` (CA, validity, revocation), authorized, and
written to the access log through the same ``AuditSink.decision_recorder`` the gRPC
interceptor uses, as ``console.<page>``; refusals too. Handlers are plain functions run in a
worker thread, so they may call the blocking domain code (SQLite, the audit log) directly.

Requests that change something (``POST``) must come from the console's own pages: a
browser sends client certificates to any site that asks, so a foreign page could otherwise
post a form here with the viewer's authority. The ``Origin`` header must name this console.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from node.console.server import PEER_CERTIFICATE
from node.pki.exceptions import PkiError
from node.pki.identity import Identity
from node.telemetry.metrics import record_console
from node.transport.auth import OnDecision

STATIC: Final = Path(__file__).parent / "static"
TEMPLATES: Final = Path(__file__).parent / "templates"


def when(seconds: float) -> str:
    """A UNIX time as the consoles show it (UTC, to the second); the ``when`` filter."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class Refused(Exception):
    """The viewer may not open this page; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str, error: Exception | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.error = error  # a certificate refusal, logged as a certificate event


@dataclass(frozen=True)
class Viewer:
    """Who is looking, from their certificate, and what this console lets them see."""

    identity: Identity
    pages: tuple[Page, ...]

    @property
    def label(self) -> str:
        return f"{self.identity.node_id} ({self.identity.role}, {self.identity.organization})"


@dataclass(frozen=True)
class Ask:
    """One request as a handler sees it: the viewer, path and query parameters, the form."""

    request: Request
    viewer: Viewer
    form: FormData | None = None

    def param(self, name: str, default: str = "") -> str:
        value = self.request.path_params.get(name)
        if value is None:
            value = self.request.query_params.get(name, default)
        return str(value)

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else default


Handler = Callable[[Ask], "Page.Result"]


@dataclass(frozen=True)
class Page:
    """A route of the console and who may open it.

    ``handler`` returns ``(template, context)`` for an HTML page or a ``Response``.
    ``in_nav`` puts it in the navigation (with ``title``) for viewers allowed to open it.
    ``max_body`` bounds a ``POST`` (an upload) in bytes; a larger request is refused before
    it is read.
    """

    path: str
    name: str
    title: str
    roles: frozenset[str]
    handler: Handler
    own_organization: bool = False
    methods: tuple[str, ...] = ("GET",)
    in_nav: bool = True
    max_body: int | None = None

    Result = tuple[str, Mapping[str, Any]] | Response


@dataclass
class Console:
    """The process-wide parts every page of one console shares."""

    title: str
    organization: str
    verify: Callable[[x509.Certificate], Identity]
    on_decision: OnDecision
    pages: list[Page] = field(default_factory=list)
    template_dirs: Sequence[Path] = ()

    def __post_init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader([*map(str, self.template_dirs), str(TEMPLATES)]),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["when"] = when

    def allowed(self, page: Page, who: Identity) -> bool:
        return who.role in page.roles and (
            not page.own_organization or who.organization == self.organization
        )

    def render(self, template: str, viewer: Viewer | None, status: int = 200,
               **context: Any) -> HTMLResponse:  # fmt: skip
        nav = [p for p in (viewer.pages if viewer else ()) if p.in_nav]
        html = self.env.get_template(template).render(
            console=self, viewer=viewer, nav=nav, **context
        )
        return HTMLResponse(html, status_code=status)

    def app(self) -> Starlette:
        routes: list[Any] = [
            Route(p.path, self._endpoint(p), methods=list(p.methods), name=p.name)
            for p in self.pages
        ]
        routes.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
        return Starlette(routes=routes)

    def _endpoint(self, page: Page) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            method = f"/console/{page.name}"
            who: Identity | None = None
            try:
                who = self._authenticate(request)
                if not self.allowed(page, who):
                    raise Refused(403, f"role {who.role} may not open {page.title}")
                if request.method == "POST":
                    _same_origin(request)
                    _within(request, page.max_body)
            except Refused as exc:
                self.on_decision(method, who, False, exc.reason, exc.error)
                record_console(page.name, "denied")
                return self.render("refused.html", None, exc.status, reason=exc.reason)
            self.on_decision(method, who, True, "", None)
            record_console(page.name, "allowed")
            viewer = Viewer(who, tuple(p for p in self.pages if self.allowed(p, who)))
            form = await request.form() if request.method == "POST" else None
            began = time.perf_counter()
            try:
                result = await run_in_threadpool(page.handler, Ask(request, viewer, form))
            except Refused as exc:  # the page itself refused (not found, not yours ...)
                self.on_decision(method, who, False, exc.reason, None)
                return self.render("refused.html", viewer, exc.status, reason=exc.reason)
            if isinstance(result, Response):
                return result
            template, context = result
            return self.render(
                template, viewer, page=page, took=time.perf_counter() - began, **context
            )

        return endpoint

    def _authenticate(self, request: Request) -> Identity:
        der = getattr(request.state, PEER_CERTIFICATE, None)
        if not der:
            raise Refused(401, "no client certificate; open the console with your certificate")
        try:
            return self.verify(x509.load_der_x509_certificate(der))
        except (PkiError, ValueError) as exc:
            raise Refused(
                403,
                "your certificate was refused (revoked, expired or unknown)",
                exc if isinstance(exc, PkiError) else None,
            ) from None


def _within(request: Request, limit: int | None) -> None:
    if limit is None:
        return
    try:
        size = int(request.headers.get("content-length", ""))
    except ValueError:
        raise Refused(411, "send the upload with its length (Content-Length)") from None
    if size > limit:
        raise Refused(
            413, f"the upload is larger than {limit // 2**20} MiB; send a sample of the file"
        )


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin != own:
        raise Refused(403, "a change must be made from this console's own pages")
