"""Typed helpers that turn the events every party must log into access-log entries.

Servicers, protocol hooks and the coordinator call these instead of building entries by hand,
so that the same event is always recorded the same way (the auditor's searches depend on it):

- ``rpc``: a node RPC, allowed (with the action it performed) or denied (``denial``);
- ``from_record``: a ``JobHooks.record(action, details)`` call from protocol code (PSI runs,
  training rounds, scoring), with its loose ``details`` mapped onto entry fields;
- ``policy_loaded``, ``certificate_event``, ``job_event``, ``relay``: administrative,
  certificate, coordinator job and relay events;
- ``alert_raised``, ``level_changes``, ``alert_action``: post-loan monitoring's alerts (a
  data-quality or drift alert raised, borrowers' warning levels changed at a refresh, the
  bank's action on an alert), so an auditor finds every warning about a firm by its token.

If the content handed in would put a raw identifier into the log, the entry is still written,
but with the offending content dropped and the result saying so: the access happened and must
leave a trace, the identifier must not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from node.audit.entry import AccessEntry, Action, Actor, DetailValue
from node.audit.exceptions import InvalidEntry

logger = logging.getLogger("fedcredit.node.audit.recorder")

MONITORING: Final = "monitoring"
_FIELD_KEYS: Final = frozenset(
    {"dataset", "fields", "rows", "purpose", "result", "policy_version", "subjects"}
)


def _detail(value: object) -> DetailValue | None:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple) and all(isinstance(v, str | int) for v in value):
        return ",".join(str(v) for v in value)
    return None  # nested or opaque values are not logged


class AuditRecorder:
    """Write well-formed entries for one party's events to ``append``.

    Parameters
    ----------
    append
        Usually ``AccessLog.append``; returns the entry's index once durable.
    policy_version
        The current policy version, or a callable returning it (re-read on every entry).
    """

    def __init__(
        self,
        append: Callable[[AccessEntry], int],
        policy_version: str | Callable[[], str] = "",
    ) -> None:
        self._append = append
        self._policy = policy_version

    def _version(self) -> str:
        return self._policy() if callable(self._policy) else self._policy

    def write(self, entry: AccessEntry) -> int:
        """Append a ready entry; return its index."""
        return self._append(entry)

    @staticmethod
    def _entry(
        build: Callable[[], AccessEntry], fallback: Callable[[str], AccessEntry]
    ) -> AccessEntry:
        try:
            return build()
        except InvalidEntry as exc:
            logger.warning("access-log entry refused (%s); writing a redacted entry", exc.field)
            return fallback(f"record redacted: {exc.field} was not loggable")

    def _safe(
        self, build: Callable[[], AccessEntry], fallback: Callable[[str], AccessEntry]
    ) -> int:
        return self._append(self._entry(build, fallback))

    def rpc(
        self,
        caller: Actor,
        method: str,
        action: Action,
        *,
        allowed: bool,
        purpose: str = "",
        reason: str = "",
        job_id: str = "",
        dataset: str = "",
        fields: Iterable[str] = (),
        rows: int | None = None,
        subjects: Iterable[str] = (),
    ) -> int:
        """Record a node RPC: ``action`` when allowed, ``denial`` (naming ``action``) when not.

        ``reason`` says why it was denied (a policy rule, never a data value).
        """
        return self._append(
            self.rpc_entry(
                caller, method, action, allowed=allowed, purpose=purpose, reason=reason,
                job_id=job_id, dataset=dataset, fields=fields, rows=rows, subjects=subjects,
            )
        )  # fmt: skip

    def rpc_entry(
        self,
        caller: Actor,
        method: str,
        action: Action,
        *,
        allowed: bool,
        purpose: str = "",
        reason: str = "",
        job_id: str = "",
        dataset: str = "",
        fields: Iterable[str] = (),
        rows: int | None = None,
        subjects: Iterable[str] = (),
    ) -> AccessEntry:
        """The entry ``rpc`` appends (for callers that stage it, ``append_deferred``)."""
        fields_t, subjects_t = tuple(fields), tuple(subjects)
        result = "allowed" if allowed else f"denied: {reason}" if reason else "denied"
        details: dict[str, DetailValue] = {"rpc": method}
        if not allowed:
            details["requested"] = action.value

        def build() -> AccessEntry:
            return AccessEntry(
                caller,
                action if allowed else Action.DENIAL,
                purpose,
                result,
                job_id=job_id,
                dataset=dataset,
                fields=fields_t,
                rows=rows,
                policy_version=self._version(),
                subjects=subjects_t,
                details=details,
            )

        def fallback(note: str) -> AccessEntry:
            return AccessEntry(
                caller,
                action if allowed else Action.DENIAL,
                "",
                f"{'allowed' if allowed else 'denied'}; {note}",
                policy_version=self._version(),
                details={"rpc": method},
            )

        return self._entry(build, fallback)

    def from_record(
        self, actor: Actor, job_id: str, action: str, details: Mapping[str, object]
    ) -> int:
        """Record a protocol's ``JobHooks.record(action, details)`` call.

        ``action`` is an ``Action`` value (``psi_run``, ``training_use``, ``score`` ...);
        anything else is logged as ``job`` with ``details["event"] = action``. The keys
        ``dataset``, ``fields``, ``rows``, ``purpose``, ``result``, ``policy_version`` and
        ``subjects`` (firm tokens) fill the entry's fields; other scalar details are kept
        (floats as text), nested ones dropped.
        """
        try:
            act, extra = Action(action), {}
        except ValueError:
            act, extra = Action.JOB, {"event": action}
        kept: dict[str, DetailValue] = dict(extra)
        for key, value in details.items():
            if key in _FIELD_KEYS:
                continue
            converted = _detail(value)
            if converted is not None:
                kept[str(key)] = converted
        raw_fields = details.get("fields", ())
        fields = tuple(str(f) for f in raw_fields) if isinstance(raw_fields, list | tuple) else ()
        raw_subjects = details.get("subjects", ())
        subjects = tuple(raw_subjects) if isinstance(raw_subjects, list | tuple) else ()
        rows = details.get("rows")

        def build() -> AccessEntry:
            return AccessEntry(
                actor,
                act,
                str(details.get("purpose", "")),
                str(details.get("result", "ok")),
                job_id=job_id,
                dataset=str(details.get("dataset", "")),
                fields=fields,
                rows=rows if isinstance(rows, int) and not isinstance(rows, bool) else None,
                policy_version=str(details.get("policy_version", self._version())),
                subjects=subjects,
                details=kept,
            )

        def fallback(note: str) -> AccessEntry:
            return AccessEntry(actor, act, "", note, job_id=job_id, policy_version=self._version())

        return self._safe(build, fallback)

    def subject_use(
        self,
        actor: Actor,
        action: Action,
        purpose: str,
        result: str,
        *,
        dataset: str = "",
        fields: Iterable[str] = (),
        subjects: Iterable[str] = (),
        details: Mapping[str, object] | None = None,
    ) -> int:
        """Record a use of named firms' data (a score, a refusal, an authorization received):
        ``subjects`` are the firms' tokens, so ``search --subject`` finds every use of a firm.
        ``rows`` is the number of subjects; scalar ``details`` are kept (floats as text)."""
        return self._append(
            self.subject_use_entry(
                actor, action, purpose, result, dataset=dataset, fields=fields,
                subjects=subjects, details=details,
            )
        )  # fmt: skip

    def subject_use_entry(
        self,
        actor: Actor,
        action: Action,
        purpose: str,
        result: str,
        *,
        dataset: str = "",
        fields: Iterable[str] = (),
        subjects: Iterable[str] = (),
        details: Mapping[str, object] | None = None,
    ) -> AccessEntry:
        """The entry ``subject_use`` appends (for callers that stage it)."""
        subjects_t, fields_t = tuple(subjects), tuple(fields)
        kept = {str(k): d for k, v in (details or {}).items() if (d := _detail(v)) is not None}

        def build() -> AccessEntry:
            return AccessEntry(
                actor,
                action,
                purpose,
                result,
                dataset=dataset,
                fields=fields_t,
                rows=len(set(subjects_t)),
                policy_version=self._version(),
                subjects=subjects_t,
                details=kept,
            )

        def fallback(note: str) -> AccessEntry:
            return AccessEntry(actor, action, purpose, note, policy_version=self._version())

        return self._entry(build, fallback)

    def policy_loaded(self, actor: Actor, old_version: str, new_version: str) -> int:
        """Record that the node's policy changed from ``old_version`` to ``new_version``."""
        return self._append(
            AccessEntry(
                actor,
                Action.POLICY_CHANGE,
                "policy reload",
                "ok",
                policy_version=new_version,
                details={"old_version": old_version},
            )
        )

    def certificate_event(self, actor: Actor, event: str, subject: str, serial: str) -> int:
        """Record a certificate event (``issued``, ``rejected``, ``revoked``, ``expired`` ...).

        ``subject`` is the certificate's node name and ``serial`` its hex serial number.
        """
        return self._append(
            AccessEntry(
                actor,
                Action.CERTIFICATE,
                "authentication",
                event,
                policy_version=self._version(),
                details={"subject": subject, "serial": serial},
            )
        )

    def job_event(self, actor: Actor, job_id: str, event: str, party: str = "") -> int:
        """Record a coordinator job event (``submitted``, ``assigned``, ``failed`` ...)."""
        return self._append(
            AccessEntry(actor, Action.JOB, "orchestration", event, job_id=job_id,
                        details={"party": party} if party else {})
        )  # fmt: skip

    def relay(
        self,
        actor: Actor,
        job_id: str,
        sender: str,
        recipient: str,
        topic: str,
        size: int,
        envelopes: int = 1,
    ) -> int:
        """Record that the coordinator relayed ``envelopes`` sealed envelopes, ``size`` opaque
        bytes in all, from ``sender`` to ``recipient`` (``topic`` may summarise, e.g. ``*``)."""
        return self._append(
            AccessEntry(
                actor,
                Action.RELAY,
                "message relay",
                "ok",
                job_id=job_id,
                details={
                    "from": sender,
                    "to": recipient,
                    "topic": topic,
                    "bytes": size,
                    "envelopes": envelopes,
                },
            )
        )

    def alert_raised(
        self, actor: Actor, alert_id: str, kind: str, code: str, subject: str, refresh_id: str
    ) -> int:
        """Record a data-quality or drift alert (``subject``: a holder or a score, not a firm)."""
        return self._append(
            AccessEntry(actor, Action.ADMIN, MONITORING, f"alert raised: {kind}",
                        policy_version=self._version(),
                        details={"alert_id": alert_id, "code": code, "about": subject,
                                 "refresh": refresh_id})
        )  # fmt: skip

    def level_changes(
        self,
        actor: Actor,
        refresh_id: str,
        as_of: str,
        changes: Iterable[tuple[str, str, str]],
    ) -> int:
        """Record the warning levels a refresh changed: ``(firm token, from, to)`` each.

        One entry per refresh names every borrower (``search --subject`` finds each) and
        counts the transitions (``yellow>orange: 12``); the alerts carry the rest.
        """
        rows = list(changes)
        counts: dict[str, DetailValue] = {}
        for _, before, after in rows:
            key = f"{before}>{after}"
            counts[key] = int(counts.get(key, 0)) + 1

        def build() -> AccessEntry:
            return AccessEntry(
                actor, Action.ADMIN, MONITORING, "level change",
                policy_version=self._version(), subjects=tuple(r[0] for r in rows),
                rows=len(rows), details={"refresh": refresh_id, "as_of": as_of, **counts},
            )  # fmt: skip

        def fallback(note: str) -> AccessEntry:
            return AccessEntry(actor, Action.ADMIN, MONITORING, note,
                               policy_version=self._version())  # fmt: skip

        return self._safe(build, fallback)

    def alert_action(
        self, actor: Actor, alert_id: str, action: str, state: str, subject: str = ""
    ) -> int:
        """Record the bank's action on an alert (``subject``: the firm's token, if any)."""

        def build() -> AccessEntry:
            return AccessEntry(
                actor, Action.ADMIN, MONITORING, f"alert action: {action}",
                policy_version=self._version(), subjects=(subject,) if subject else (),
                details={"alert_id": alert_id, "state": state},
            )  # fmt: skip

        def fallback(note: str) -> AccessEntry:
            return AccessEntry(actor, Action.ADMIN, MONITORING, note,
                               policy_version=self._version())  # fmt: skip

        return self._safe(build, fallback)
