"""Turns what the running process does into access-log entries.

Protocols and servicers describe an event as an action name plus a flat mapping (job id,
dataset, field names, counts, metrics). This module maps that onto the log's canonical
``AccessEntry``: known keys go to their own fields, everything else to ``details`` with floats
written as text (the entry encoding is canonical, so it carries no floats) and lists joined.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from node.audit import AccessEntry, AccessLog, Action, Actor
from node.audit.exceptions import AuditError

log = logging.getLogger("fedcredit.node.audit_sink")

_ACTIONS = {a.value: a for a in Action}
_ALIASES = {"psi": Action.PSI_RUN, "training": Action.TRAINING_USE, "scoring": Action.SCORE}


def _detail(value: object) -> str | int | bool:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Sequence):
        return ",".join(str(v) for v in value)
    return str(value)


class AuditSink:
    """Writes entries for one actor (this node or the coordinator) to its access log."""

    def __init__(self, access_log: AccessLog, actor: Actor) -> None:
        self.log = access_log
        self.actor = actor

    def record(
        self, action: str, details: Mapping[str, object], actor: Actor | None = None
    ) -> int | None:
        """Append an entry; return its index, or ``None`` if the log refused it (logged).

        A refused entry (for instance one that would hold a raw identifier) must never take
        the calling RPC or job down with it, but it must be visible: it is logged as an error.
        """
        rest = dict(details)
        fields = rest.pop("fields", ())
        rows = rest.pop("rows", None)
        entry_action = _ACTIONS.get(action) or _ALIASES.get(action) or Action.ADMIN
        if entry_action is Action.ADMIN and action not in _ACTIONS:
            rest.setdefault("operation", action)
        try:
            entry = AccessEntry(
                actor=actor or self.actor,
                action=entry_action,
                purpose=str(rest.pop("purpose", "")),
                result=str(rest.pop("result", "ok")),
                job_id=str(rest.pop("job_id", "")),
                dataset=str(rest.pop("dataset", "")),
                fields=tuple(str(f) for f in fields)
                if isinstance(fields, Sequence) and not isinstance(fields, str)
                else (str(fields),),
                rows=int(rows) if isinstance(rows, int | float) else None,
                policy_version=str(rest.pop("policy_version", "")),
                details={str(k): _detail(v) for k, v in rest.items()},
            )
            return self.log.append(entry)
        except AuditError as exc:
            log.error("access-log entry for %s refused: %s", action, exc)
            return None
