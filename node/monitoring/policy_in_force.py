"""The bank's monitoring policy as refreshes use it: re-read when its file changes, and every
change recorded in the node's access log before a refresh uses it.

The file changes by hand or by ``fedcredit monitor review-flags --write``, with the node
running or stopped; the node is the one writer of its access log, so it records the change
when it takes the new file up: action ``policy_change``, both files' SHA-256 and the codes of
the flags whose level or softness changed (``flag_review.policy_change``). After a restart
the file is compared with the policy the last refresh used (the store keeps every version).
"""

from __future__ import annotations

import threading
from pathlib import Path

from node.audit.sink import AuditSink
from node.monitoring.exceptions import MonitoringPolicyError
from node.monitoring.flag_review import policy_change
from node.monitoring.policy import MonitoringPolicy, load_monitoring_policy, parse_monitoring_policy
from node.monitoring.store import MonitoringStore


class PolicyInForce:
    """The monitoring policy at ``path``, kept in ``store``, its changes written to ``sink``."""

    def __init__(self, path: Path, store: MonitoringStore, sink: AuditSink) -> None:
        self._path = path
        self._store = store
        self._sink = sink
        self._policy: MonitoringPolicy | None = None
        self._stamp = 0.0
        self._lock = threading.Lock()

    def get(self) -> MonitoringPolicy:
        """The policy in force (re-read when its file changes; a change is recorded first).

        Raises
        ------
        node.monitoring.exceptions.MonitoringPolicyError
            The file is invalid or cannot be read (the previous policy is not kept in force:
            a refresh must not run on a policy the bank has replaced).
        """
        stamp = self._path.stat().st_mtime if self._path.exists() else 0.0
        with self._lock:
            if self._policy is None or stamp != self._stamp:
                loaded = load_monitoring_policy(self._path)
                before = self._policy or self._last_used()
                self._store.keep_policy(loaded.version, loaded.text)
                if before is not None and before.version != loaded.version:
                    self._sink.record("policy_change", policy_change(before, loaded))
                self._policy, self._stamp = loaded, stamp
            return self._policy

    def _last_used(self) -> MonitoringPolicy | None:
        """The policy the last refresh used, or None (no refresh yet, or kept in a format
        this version no longer reads: nothing to compare with)."""
        last = self._store.refreshes(1)
        text = self._store.kept_policy(str(last[0].get("policy", ""))) if last else None
        try:
            return parse_monitoring_policy(text, "kept policy") if text else None
        except MonitoringPolicyError:
            return None
