"""Turns what the running process does into access-log entries, for one actor.

Protocols and servicers describe an event as an action name plus a flat mapping (job id,
dataset, field names, counts, metrics); ``AuditRecorder.from_record`` maps that onto the log's
canonical entry, writing a redacted entry rather than none if something unloggable slipped in.
This adapter adds the default actor and keeps a failing log (for instance one closed during
shutdown) from taking the calling RPC or job down with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from node.audit.entry import AccessEntry, Action, Actor
from node.audit.exceptions import AuditError
from node.audit.log import AccessLog, Durable
from node.audit.recorder import AuditRecorder
from node.pki.exceptions import PkiError
from node.pki.identity import Principal

# The auth interceptor's decision callback (node.transport.auth.OnDecision), spelled out here
# because the access log sits below the transport.
DecisionRecorder = Callable[[str, Principal | None, bool, str, Exception | None], object]

log = logging.getLogger("fedcredit.node.audit_sink")


class Staged:
    """An entry staged in the access log; ``wait`` returns once it is durable (or the log
    failed, which is logged as for any entry the log could not take)."""

    def __init__(self, what: str, durable: Durable | None) -> None:
        self._what, self._durable = what, durable

    def wait(self) -> None:
        if self._durable is None:
            return
        try:
            self._durable.wait()
        except AuditError as exc:
            log.error("access-log entry for %s not written: %s", self._what, exc)


class AuditSink:
    """Writes entries for one actor (this node or the coordinator) to its access log."""

    def __init__(
        self,
        access_log: AccessLog,
        actor: Actor,
        policy_version: Callable[[], str] | None = None,
    ) -> None:
        self.log = access_log
        self.actor = actor
        self._recorder = AuditRecorder(access_log.append, policy_version or (lambda: ""))

    def _safely(self, what: str, write: Callable[[], int]) -> int | None:
        try:
            return write()
        except AuditError as exc:
            log.error("access-log entry for %s not written: %s", what, exc)
            return None

    def record(
        self, action: str, details: Mapping[str, object], actor: Actor | None = None
    ) -> int | None:
        """Append an entry; return its index, or ``None`` if the log could not take it."""
        rest = dict(details)
        job_id = str(rest.pop("job_id", ""))
        return self._safely(
            action, lambda: self._recorder.from_record(actor or self.actor, job_id, action, rest)
        )

    def subject_use(
        self,
        actor: Actor,
        action: Action,
        purpose: str,
        result: str,
        *,
        dataset: str = "",
        fields: tuple[str, ...] = (),
        subjects: tuple[str, ...] = (),
        details: Mapping[str, object] | None = None,
    ) -> int | None:
        """A use of named firms' data (by token), e.g. a score or a refusal; see the recorder."""
        return self._safely(
            action.value,
            lambda: self._recorder.subject_use(
                actor, action, purpose, result, dataset=dataset, fields=fields,
                subjects=subjects, details=details,
            ),
        )  # fmt: skip

    def subject_use_staged(
        self,
        actor: Actor,
        action: Action,
        purpose: str,
        result: str,
        *,
        dataset: str = "",
        fields: tuple[str, ...] = (),
        subjects: tuple[str, ...] = (),
        details: Mapping[str, object] | None = None,
    ) -> Staged:
        """``subject_use`` staged now and committed in the background: call ``wait()`` on
        the result before the use's outcome leaves (``AccessLog.append_deferred``)."""
        return self._staged(
            action.value,
            lambda: self._recorder.subject_use_entry(
                actor, action, purpose, result, dataset=dataset, fields=fields,
                subjects=subjects, details=details,
            ),
        )  # fmt: skip

    def _staged(self, what: str, build: Callable[[], AccessEntry]) -> Staged:
        try:
            return Staged(what, self.log.append_deferred([build()]))
        except AuditError as exc:
            log.error("access-log entry for %s not written: %s", what, exc)
            return Staged(what, None)

    def rpc(self, method: str, caller: Actor | None, allowed: bool, reason: str) -> int | None:
        """An RPC this process served (``read``) or refused (``denial``, with the reason)."""
        name = method.rsplit("/", 1)[-1]
        return self._safely(
            name,
            lambda: self._recorder.rpc(
                caller or self.actor, name, Action.READ, allowed=allowed, reason=reason
            ),
        )

    def certificate(self, event: str, subject: str, serial: str) -> int | None:
        """A certificate refused at the door (revoked, expired, unknown issuer ...)."""
        return self._safely(
            "certificate",
            lambda: self._recorder.certificate_event(self.actor, event, subject, serial),
        )

    def policy_changed(self, old_version: str, new_version: str) -> int | None:
        return self._safely(
            "policy change",
            lambda: self._recorder.policy_loaded(self.actor, old_version, new_version),
        )

    def job(self, job_id: str, event: str, party: str = "") -> int | None:
        """A job transition on the coordinator (submitted, succeeded, failed ...)."""
        return self._safely(
            "job", lambda: self._recorder.job_event(self.actor, job_id, event, party)
        )

    def relayed(
        self, job_id: str, sender: str, recipient: str, envelopes: int, size: int
    ) -> int | None:
        """What the coordinator relayed between two parties over one job attempt."""
        return self._safely(
            "relay",
            lambda: self._recorder.relay(
                self.actor, job_id, sender, recipient, "*", size, envelopes
            ),
        )

    def alert_raised(
        self, alert_id: str, kind: str, code: str, subject: str, refresh_id: str
    ) -> int | None:
        """A monitoring alert about a feed or a score (see ``AuditRecorder.alert_raised``)."""
        return self._safely(
            "alert",
            lambda: self._recorder.alert_raised(
                self.actor, alert_id, kind, code, subject, refresh_id
            ),
        )

    def level_changes(
        self, refresh_id: str, as_of: str, changes: list[tuple[str, str, str]]
    ) -> int | None:
        """Borrowers' warning levels changed by a refresh (``(token, from, to)`` each)."""
        return self._safely(
            "level change",
            lambda: self._recorder.level_changes(self.actor, refresh_id, as_of, changes),
        )

    def alert_action(
        self, actor: Actor, alert_id: str, action: str, state: str, subject: str = ""
    ) -> int | None:
        """The bank's action on a monitoring alert, by whom."""
        return self._safely(
            "alert action",
            lambda: self._recorder.alert_action(actor, alert_id, action, state, subject),
        )

    def decision_recorder(self, log_allowed: bool) -> DecisionRecorder:
        """An ``on_decision`` for ``PeerAuthInterceptor``: refused certificates become
        certificate events, refused calls denials, and (if ``log_allowed``) allowed calls reads.

        A refusal is durable before the caller is answered. An allowed call's entry is staged
        and the returned ``wait`` is called by the interceptor before the call's answer leaves,
        so the handler runs while it is committed.

        The coordinator passes ``log_allowed=False``: its allowed calls (heartbeats, relays)
        are logged by what they do, and a durable entry per relayed envelope would put an
        fsync on the relay's hot path.
        """

        def on_decision(
            method: str, who: Principal | None, allowed: bool, reason: str, error: Exception | None
        ) -> Callable[[], object] | None:
            if method.startswith("/grpc.health") or (allowed and not log_allowed):
                return None
            if isinstance(error, PkiError):
                serial = getattr(error, "serial", None)
                subject = str(getattr(error, "subject", ""))
                self.certificate(type(error).__name__, subject, f"{serial:x}" if serial else "")
                return None
            caller = Actor(who.organization, who.node_id, who.role) if who else None
            if not allowed:
                self.rpc(method, caller, allowed, reason)
                return None
            # an allowed call's entry is committed while the handler works; the interceptor
            # waits for it before the answer leaves (one disk wait shared with the handler's)
            name = method.rsplit("/", 1)[-1]
            return self._staged(
                name,
                lambda: self._recorder.rpc_entry(
                    caller or self.actor, name, Action.READ, allowed=True, reason=reason
                ),
            ).wait

        return on_decision
