"""Quarantine: a node whose checkpoint the witness refused gets no new jobs until released.

A refused checkpoint means the node's access log forked, was rewritten, or is signed by a key
that does not match: the node's record of who read what can no longer be trusted, so the
coordinator stops naming it in new jobs and tells operators (an error line in its log, a
federation event, an access-log entry). Only an operator lifts the quarantine
(``fedcredit nodes release NODE``), after looking into it; the lift is recorded with its caller.

A *stale* checkpoint (smaller than the one held) does not quarantine: it may be a late retry.
A node that really rolled its log back cannot prove consistency from the size the witness holds
at its next publication, and that refusal does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from coordinator.state import CoordinatorStore, EventRecord

log = logging.getLogger("fedcredit.coordinator.quarantine")

# Federation-level events (not tied to one job) are stored under this job id.
FEDERATION_EVENTS = ""


class Quarantine:
    """Imposes, reports and lifts quarantines, alerting through ``alert``."""

    def __init__(
        self,
        store: CoordinatorStore,
        alert: Callable[[str, Mapping[str, object]], object] = lambda operation, details: None,
    ) -> None:
        self._store = store
        self._alert = alert

    def impose(self, node_id: str, reason: str) -> None:
        """Quarantine ``node_id``; alert once (a node already quarantined keeps its reason)."""
        if not self._store.quarantine(node_id, reason):
            return
        log.error(
            "node %s QUARANTINED: %s; it gets no new jobs until an operator runs "
            "`fedcredit nodes release %s`",
            node_id,
            reason,
            node_id,
        )
        self._store.add_event(
            EventRecord(
                FEDERATION_EVENTS, time.time(), "node_quarantined", node_id, {"reason": reason}
            )
        )
        self._alert("node_quarantined", {"node": node_id, "reason": reason})

    def lift(self, node_id: str, by: str) -> bool:
        """Release ``node_id``; return False if it was not quarantined."""
        if not self._store.lift_quarantine(node_id):
            return False
        log.warning("node %s released from quarantine by %s", node_id, by)
        self._store.add_event(
            EventRecord(FEDERATION_EVENTS, time.time(), "quarantine_lifted", node_id, {"by": by})
        )
        self._alert("quarantine_lifted", {"node": node_id, "by": by})
        return True

    def reason(self, node_id: str) -> str | None:
        return self._store.quarantine_reason(node_id)
