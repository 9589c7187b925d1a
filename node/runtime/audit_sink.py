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

from node.audit import AccessLog, Actor, AuditRecorder
from node.audit.exceptions import AuditError

log = logging.getLogger("fedcredit.node.audit_sink")


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

    def record(
        self, action: str, details: Mapping[str, object], actor: Actor | None = None
    ) -> int | None:
        """Append an entry; return its index, or ``None`` if the log could not take it."""
        rest = dict(details)
        job_id = str(rest.pop("job_id", ""))
        try:
            return self._recorder.from_record(actor or self.actor, job_id, action, rest)
        except AuditError as exc:
            log.error("access-log entry for %s not written: %s", action, exc)
            return None
