"""Containment: a principal's access at this node throttled or suspended pending review.

The monitor's alert decides (``ContainmentSettings``: throttle from one severity, suspend
from another); ``admit`` enforces it at the door, in the authentication interceptor every RPC
passes, so a contained principal is refused before its call reaches any data. A suspended
principal is refused everything; a throttled one gets ``throttle_calls_per_minute`` calls.
Only an operator lifts it (``LiftContainment``; ``fedcredit incident lift``). Every action is
written to the access log and kept in the governance database, so a restarted node keeps
its containments.

Operators are never contained here: a lift must stay possible, and a compromised operator
certificate is a matter for revocation.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from node.governance.config import ContainmentSettings
from node.governance.monitor.monitor import Alert
from node.governance.recording import Record
from node.governance.store import GovernanceDB
from node.pki.identity import Principal
from node.pki.roles import OPERATOR
from node.transport.errors import ServiceError

THROTTLED: Final = "throttled"
SUSPENDED: Final = "suspended"
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS containments (
    principal TEXT PRIMARY KEY,
    level TEXT NOT NULL,
    since REAL NOT NULL,
    alert_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    reason TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Containment:
    """One principal held back: how, since when, and the alert that caused it."""

    principal: str
    level: str
    since: float
    alert_id: str
    severity: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain form for the operator's listing."""
        return {
            "principal": self.principal,
            "level": self.level,
            "since": self.since,
            "alert_id": self.alert_id,
            "severity": self.severity,
            "reason": self.reason,
        }


class ContainmentRegistry:
    """Who is contained at this node, enforced on every call. Thread-safe.

    Parameters
    ----------
    db
        The governance database (containments survive a restart).
    settings
        Which severities throttle and suspend, and the throttled call rate.
    record
        Writes an access-log entry (``AuditSink.record``).
    clock
        Unix time (tests inject one).
    """

    def __init__(
        self,
        db: GovernanceDB,
        settings: ContainmentSettings,
        record: Record,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        db.ensure(_SCHEMA)
        self._settings = settings
        self._record = record
        self._clock = clock
        self._lock = threading.Lock()
        self._active = {c.principal: c for c in self._load()}
        self._calls: dict[str, deque[float]] = {}

    def _load(self) -> list[Containment]:
        rows = self._db.query(
            "SELECT principal, level, since, alert_id, severity, reason FROM containments"
        )
        return [Containment(*row) for row in rows]

    def active(self) -> list[Containment]:
        """Every current containment, oldest first."""
        with self._lock:
            return sorted(self._active.values(), key=lambda c: c.since)

    def get(self, principal: str) -> Containment | None:
        """The containment of ``principal``, if any."""
        with self._lock:
            return self._active.get(principal)

    # -- from the monitor ------------------------------------------------------------------

    def respond(self, alert: Alert) -> Containment | None:
        """Throttle or suspend the alert's principal as configured; return the new state, or
        ``None`` when the alert calls for nothing stronger than what is already in force."""
        s = self._settings
        if alert.severity >= s.suspend_at:
            level = SUSPENDED
        elif alert.severity >= s.throttle_at:
            level = THROTTLED
        else:
            return None
        if alert.principal.rsplit("/", 1)[-1] == OPERATOR:
            return None
        with self._lock:
            current = self._active.get(alert.principal)
            if current is not None and (current.level == SUSPENDED or current.level == level):
                return None
            held = Containment(
                alert.principal,
                level,
                self._clock(),
                alert.alert_id,
                alert.severity.label,
                alert.summary()[:500],
            )
            with self._db.write() as db:
                db.execute(
                    "INSERT OR REPLACE INTO containments VALUES (?, ?, ?, ?, ?, ?)",
                    (held.principal, held.level, held.since, held.alert_id, held.severity,
                     held.reason),
                )  # fmt: skip
            self._active[alert.principal] = held
        self._record(
            "containment",
            {
                "operation": level,
                "principal": alert.principal,
                "alert_id": alert.alert_id,
                "severity": alert.severity.label,
                "result": "automatic",
            },
        )
        return held

    # -- from the operator -----------------------------------------------------------------

    def lift(self, principal: str, operator: str, note: str = "") -> Containment:
        """End the containment of ``principal`` after review by ``operator``.

        Raises
        ------
        ServiceError
            ``access.not_contained``: ``principal`` is not contained (nothing changes).
        """
        with self._lock:
            held = self._active.get(principal)
            if held is None:
                raise ServiceError("access.not_contained", principal=principal)
            with self._db.write() as db:
                db.execute("DELETE FROM containments WHERE principal = ?", (principal,))
            del self._active[principal]
            self._calls.pop(principal, None)
        self._record(
            "containment",
            {
                "operation": "lift",
                "principal": principal,
                "alert_id": held.alert_id,
                "by": operator,
                "note": note[:200],
                "result": "lifted",
            },
        )
        return held

    # -- at the door -----------------------------------------------------------------------

    def admit(self, method: str, who: Principal) -> None:
        """Refuse the call if ``who`` is suspended, or throttled beyond its rate.

        Raises
        ------
        ServiceError
            ``access.suspended`` (PERMISSION_DENIED) when suspended, ``access.throttled``
            (RESOURCE_EXHAUSTED) when over the throttled rate; the text says how it ends.
        """
        principal = f"{who.organization}/{who.node_id}/{who.role}"
        with self._lock:
            held = self._active.get(principal)
            if held is None or who.role == OPERATOR:
                return
            if held.level == SUSPENDED:
                raise ServiceError("access.suspended", principal=principal, alert=held.alert_id)
            now = self._clock()
            calls = self._calls.setdefault(principal, deque())
            while calls and calls[0] <= now - 60.0:
                calls.popleft()
            limit = self._settings.throttle_calls_per_minute
            if len(calls) >= limit:
                raise ServiceError(
                    "access.throttled", principal=principal, limit=limit, alert=held.alert_id
                )
            calls.append(now)
