"""The one catalog of errors an RPC may answer with, and the translator every server applies.

Every failure a caller can see is a catalog entry: a stable code, the gRPC status, a message
written by us and the fix. Handlers raise ``ServiceError(code, **params)``; known exception
families of the project (policy refusals, certificate problems, bad job files) name their entry
with a ``catalog_code`` class attribute (see ``classify``); anything else answers ``INTERNAL``
with the ``internal`` entry. Foreign exception text (pandas, numpy, the standard library) can
quote the value that broke it — a credit code in a failed conversion — so it never leaves the
process: the translator logs the exception's type, catalog code and where it was raised, never
its message, and marks the current span with the type and code only.

Parameters filled into a message are names (datasets, fields, roles, job ids) and counts;
each string is checked (``safe_param``) and replaced by ``<withheld>`` when it is not a plain
name or when it looks like a raw enterprise or personal identifier. Families whose own text is
value-free by design (``node.policy`` refusals, PKI errors, access-log errors, job-file errors)
pass it through the same scrubbing (``scrub``) as their ``detail``.

The catalog is documented in ``docs/trust-model.md`` ("Error catalog").
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import grpc
from opentelemetry import trace

from node.data.identifiers import contains_raw_identifier
from node.transport.handlers import Behavior

log = logging.getLogger("fedcredit.transport.errors")

_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ,_.:/@#+-]{0,79}")
_WORD: Final = re.compile(r"[0-9A-Za-z]{15,}")
WITHHELD: Final = "<withheld>"
MAX_DETAIL_CHARS: Final = 600


@dataclass(frozen=True)
class CatalogEntry:
    """One error a caller may see: its code, status, message template and fix."""

    code: str
    status: grpc.StatusCode
    message: str
    fix: str

    def render(self, params: dict[str, str | int]) -> str:
        """The text sent to the caller: ``message (error code). Fix: fix``.

        Not ``[code]``: terminals that render markup (rich) would take it for a style tag.
        """
        try:
            text = self.message.format(**params)
        except (KeyError, IndexError):  # a handler passed the wrong parameters: say less
            text = self.message.split("{", 1)[0].rstrip(" :(")
        return f"{text} (error {self.code}). Fix: {self.fix}"


_S = grpc.StatusCode
CATALOG: Final[dict[str, CatalogEntry]] = {
    e.code: e
    for e in (
        CatalogEntry(
            "internal",
            _S.INTERNAL,
            "the server failed while handling this call",
            "retry later; if it persists, give the server's operator the time of the call "
            "(its log names the failure)",
        ),
        CatalogEntry(
            "auth.no_certificate",
            _S.UNAUTHENTICATED,
            "no client certificate was presented",
            "connect with mutual TLS using a certificate from the federation CA",
        ),
        CatalogEntry(
            "auth.certificate_refused",
            _S.UNAUTHENTICATED,
            "the client certificate is refused: {detail}",
            "check it with `fedcredit certs verify`; have the federation operator issue a new one",
        ),
        CatalogEntry(
            "auth.role_denied",
            _S.PERMISSION_DENIED,
            "role '{role}' may not call {method}",
            "use a certificate of a role that may call it (docs/trust-model.md lists them)",
        ),
        CatalogEntry(
            "request.too_large",
            _S.INVALID_ARGUMENT,
            "{what} has {count} items; at most {limit} are accepted",
            "split the request or ask for fewer items",
        ),
        CatalogEntry(
            "request.duplicate",
            _S.INVALID_ARGUMENT,
            "{what} names '{name}' more than once",
            "name each item once",
        ),
        CatalogEntry(
            "request.bad_value",
            _S.INVALID_ARGUMENT,
            "{what} must be {expected}",
            "correct the request",
        ),
        CatalogEntry(
            "dataset.unknown",
            _S.NOT_FOUND,
            "this node serves no dataset '{name}'",
            "call GetCapabilities for the datasets this node serves",
        ),
        CatalogEntry(
            "policy.denied",
            _S.PERMISSION_DENIED,
            "the node's policy refuses the request: {detail}",
            "ask the data holder for a rule, or ask only for what the policy offers",
        ),
        CatalogEntry(
            "release.bad_filter",
            _S.INVALID_ARGUMENT,
            "the release filter is refused: {detail}",
            "compare fields you receive unmasked with literals, joined by and/or/not",
        ),
        CatalogEntry(
            "release.transform_failed",
            _S.FAILED_PRECONDITION,
            "a field cannot be masked as the node's policy says: {detail}",
            "the data holder must fix its policy or data; ask without that field meanwhile",
        ),
        CatalogEntry(
            "audit.out_of_range",
            _S.OUT_OF_RANGE,
            "{detail}",
            "ask for an index below the checkpoint's size",
        ),
        CatalogEntry(
            "audit.failed",
            _S.FAILED_PRECONDITION,
            "the access log cannot serve this: {detail}",
            "the node's operator must run `fedcredit-audit verify` on the log",
        ),
        CatalogEntry(
            "policy.reload_failed",
            _S.FAILED_PRECONDITION,
            "policy not reloaded; the previous one stays in force: {detail}",
            "fix the policy file (`fedcredit policy validate`) and reload again",
        ),
        CatalogEntry(
            "lending.not_own",
            _S.PERMISSION_DENIED,
            "decisions and authorizations are for this bank's own loan systems only",
            "call your own bank's node with a certificate of your own organization",
        ),
        CatalogEntry(
            "lending.not_scoring",
            _S.FAILED_PRECONDITION,
            "this node does not score",
            "ask the bank's node; a node scores once its config names a decision policy",
        ),
        CatalogEntry(
            "lending.bad_request",
            _S.INVALID_ARGUMENT,
            "the application or authorization is refused: {detail}",
            "correct the named field and send it again",
        ),
        CatalogEntry(
            "lending.not_ready",
            _S.FAILED_PRECONDITION,
            "this node cannot decide yet: {detail}",
            "the bank's operator must deploy a model and a decision policy",
        ),
        CatalogEntry(
            "authorization.unknown",
            _S.NOT_FOUND,
            "no such authorization record",
            "list the records the bank registered and use one of their ids",
        ),
        CatalogEntry(
            "monitoring.not_own",
            _S.PERMISSION_DENIED,
            "monitoring is for this bank's own loan systems and operators only",
            "call your own bank's node with a certificate of your own organization",
        ),
        CatalogEntry(
            "monitoring.not_configured",
            _S.FAILED_PRECONDITION,
            "this node monitors no book",
            "the bank's operator sets monitoring.policy and monitoring.book in the node config",
        ),
        CatalogEntry(
            "access.suspended",
            _S.PERMISSION_DENIED,
            "contained: access of {principal} is suspended at this node pending review "
            "(alert {alert})",
            "the node's operator reviews the alert and lifts it (fedcredit incident lift)",
        ),
        CatalogEntry(
            "access.throttled",
            _S.RESOURCE_EXHAUSTED,
            "contained: access of {principal} is throttled to {limit} calls a minute pending "
            "review (alert {alert})",
            "retry after a minute; the node's operator reviews the alert",
        ),
        CatalogEntry(
            "access.not_contained",
            _S.NOT_FOUND,
            "{principal} is not contained at this node",
            "list the containments (fedcredit incident contained) and name one of them",
        ),
        CatalogEntry(
            "monitoring.unknown_alert",
            _S.NOT_FOUND,
            "no such alert",
            "list the alerts (MonitorAlerts) and use one of their ids",
        ),
        CatalogEntry(
            "monitoring.refused",
            _S.FAILED_PRECONDITION,
            "monitoring cannot do this: {detail}",
            "follow the named fix; the watch list and alerts are unchanged",
        ),
        CatalogEntry(
            "job.invalid_spec",
            _S.INVALID_ARGUMENT,
            "the job file is refused: {detail}",
            "fix the job file; `fedcredit jobs submit --help` shows the format",
        ),
        CatalogEntry(
            "job.code_unavailable",
            _S.FAILED_PRECONDITION,
            "the coordinator cannot run this job type: {detail}",
            "the coordinator's operator reinstalls fedcredit with its dependencies",
        ),
        CatalogEntry(
            "job.duplicate_id",
            _S.ALREADY_EXISTS,
            "a job with this id exists already",
            "choose another job id, or leave it empty for the coordinator to assign one",
        ),
        CatalogEntry(
            "party.unknown",
            _S.FAILED_PRECONDITION,
            "party '{detail}' is not registered with the coordinator",
            "check its node id, or wait for it to join the federation and try again",
        ),
        CatalogEntry(
            "envelope.refused",
            _S.INVALID_ARGUMENT,
            "the sealed envelope is refused ({detail})",
            "seal envelopes with the sender's current keys for a party in the directory",
        ),
        CatalogEntry(
            "witness.refused",
            _S.FAILED_PRECONDITION,
            "checkpoint refused by the witness: {detail}",
            "publish a checkpoint that extends the one the witness holds, with its proof",
        ),
    )
}


def safe_param(value: object) -> str | int:
    """A message parameter as it may be sent: counts as they are, names or ``<withheld>``."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value
    text = str(value)
    if not _NAME.fullmatch(text) or contains_raw_identifier(text):
        return WITHHELD
    return text


def scrub(text: str) -> str:
    """Project text made safe to send: long alphanumeric runs and identifiers withheld.

    For the families whose messages are value-free by design; this is the second line of
    defence (a policy file could have been written with a credit code as a field name).
    """

    def word(match: re.Match[str]) -> str:
        found = match.group(0)
        return WITHHELD if found.isdigit() or contains_raw_identifier(found) else found

    return _WORD.sub(word, " ".join(text.split())[:MAX_DETAIL_CHARS])


class ServiceError(Exception):
    """A failure to report to the caller as the catalog entry ``code``.

    Parameters
    ----------
    code
        A key of ``CATALOG``.
    params
        Values for the message's slots; strings pass ``safe_param`` (``detail`` passes
        ``scrub``), so a value can never ride along.

    Raises
    ------
    KeyError
        ``code`` is not in the catalog (a programming error, caught by tests).
    """

    def __init__(self, code: str, **params: object) -> None:
        self.entry = CATALOG[code]
        self.params: dict[str, str | int] = {
            k: scrub(str(v)) if k == "detail" else safe_param(v) for k, v in params.items()
        }
        super().__init__(self.public_text)

    @property
    def code(self) -> str:
        return self.entry.code

    @property
    def status(self) -> grpc.StatusCode:
        return self.entry.status

    @property
    def public_text(self) -> str:
        return self.entry.render(self.params)


def classify(exc: BaseException) -> ServiceError:
    """The catalog entry ``exc`` answers with: its family's, else ``internal``.

    A family of the project names its entry with a ``catalog_code`` class attribute (the most
    derived class's wins) and may narrow what is passed as ``detail`` with a ``catalog_detail()``
    method; the default is the exception's own value-free text. The transport knows no domain
    package: each one says how its errors answer.
    """
    if isinstance(exc, ServiceError):
        return exc
    code = getattr(exc, "catalog_code", None)
    if not isinstance(code, str) or code not in CATALOG:
        return ServiceError("internal")
    narrow = getattr(exc, "catalog_detail", None)
    return ServiceError(code, detail=narrow() if callable(narrow) else str(exc))


def _origin(exc: BaseException) -> str:
    """Where an exception was raised (file and line of the innermost frame): value-free."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 2)[-1]}:{last.lineno} in {last.name}"


def _aborted(context: grpc.ServicerContext) -> bool:
    """Whether the handler already ended the call with ``context.abort`` (our own text)."""
    code = getattr(context, "code", None)
    return callable(code) and code() not in (None, grpc.StatusCode.OK)


def answer(method: str, context: grpc.ServicerContext, exc: Exception) -> None:
    """End the call for ``exc`` with its catalog entry; log and trace the type and code only.

    Raises
    ------
    Exception
        Always: ``context.abort``'s own exception, or ``exc`` itself when the handler had
        already aborted the call.
    """
    if _aborted(context):
        raise exc
    error = classify(exc)
    name = type(exc).__name__
    span = trace.get_current_span()
    span.set_attribute("fedcredit.error.code", error.code)
    span.set_attribute("exception.type", name)
    if error.code == "internal":
        log.warning("%s failed: %s raised at %s [internal]", method, name, _origin(exc))
    else:
        log.info("%s refused [%s]", method, error.code)
    context.abort(error.status, error.public_text)


def catalog_errors(method: str, behavior: Behavior, streams_responses: bool) -> Behavior:
    """``behavior`` with every exception answered from the catalog (see ``answer``)."""

    def unary(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return behavior(request, context)
        except Exception as exc:
            answer(method, context, exc)

    def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from behavior(request, context)
        except Exception as exc:
            answer(method, context, exc)

    return stream if streams_responses else unary
