"""The bank's monitoring policy as refreshes use it: re-read when its file changes, and every
change recorded in the node's access log before a refresh uses it.

The file changes by hand or by ``fedcredit monitor review-flags --write``, with the node
running or stopped; the node is the one writer of its access log, so it records the change
when it takes the new file up: action ``policy_change``, both files' SHA-256 and the codes of
the flags whose level or softness changed (``policy_change``). The store keeps every version
and names the one put in force last, so after a restart the file is compared with that one:
a change is recorded once, however often the node restarts before a refresh runs on it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Final

from node.audit.sink import AuditSink
from node.monitoring.exceptions import MonitoringPolicyError, PolicyChangeNotRecorded
from node.monitoring.policy import MonitoringPolicy, load_monitoring_policy, parse_monitoring_policy
from node.monitoring.store import MonitoringStore

IN_FORCE: Final = "policy:in_force"  # the reference row naming the version put in force last


def policy_change(before: MonitoringPolicy, after: MonitoringPolicy) -> dict[str, str]:
    """What the access log records of a change of the monitoring policy: both files' SHA-256
    and the codes of the flags whose level or softness changed (flag codes are the policy's
    own names, never a partner's values), with the soft flags now in force."""

    def status(policy: MonitoringPolicy, code: str) -> tuple[int, bool] | None:
        level = policy.flags.get(code)
        return None if level is None else (level, code in policy.soft_flags)

    codes = sorted(set(before.flags) | set(after.flags))
    return {
        "operation": "monitoring_policy_changed",
        "purpose": "monitoring",
        "old_sha256": before.version,
        "new_sha256": after.version,
        "flags_changed": ",".join(c for c in codes if status(before, c) != status(after, c)),
        "soft_flags": ",".join(sorted(after.soft_flags)),
    }


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
        node.monitoring.exceptions.PolicyChangeNotRecorded
            The access log did not take the change's entry (nothing is put in force; the next
            call retries).
        """
        with self._lock:
            stamp = self._path.stat().st_mtime if self._path.exists() else 0.0
            if self._policy is None or stamp != self._stamp:
                loaded = load_monitoring_policy(self._path)
                before = self._policy or self._last_in_force()
                self._store.keep_policy(loaded.version, loaded.text)
                if before is None or before.version != loaded.version:
                    self._record_change(before, loaded)
                    self._store.set_reference(IN_FORCE, {"version": loaded.version})
                self._policy, self._stamp = loaded, stamp
            return self._policy

    def _record_change(self, before: MonitoringPolicy | None, after: MonitoringPolicy) -> None:
        """Write the change to the access log (nothing to write at the first use)."""
        if (
            before is not None
            and self._sink.record("policy_change", policy_change(before, after)) is None
        ):
            raise PolicyChangeNotRecorded(
                f"the monitoring policy change to {after.version[:16]} could not be recorded "
                "in the access log; the refresh waits (see the node's log)"
            )

    def _last_in_force(self) -> MonitoringPolicy | None:
        """The policy put in force last (a store from before that was kept: the one the last
        refresh used), or None (first use, or kept in a format this version no longer reads:
        nothing to compare with)."""
        kept = self._store.reference(IN_FORCE)
        if kept is not None:
            version = str(kept.get("version", ""))
        else:
            last = self._store.refreshes(1)
            version = str(last[0].get("policy", "")) if last else ""
        text = self._store.kept_policy(version)
        try:
            return parse_monitoring_policy(text, "kept policy") if text else None
        except MonitoringPolicyError:
            return None
