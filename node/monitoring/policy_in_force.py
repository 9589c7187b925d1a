"""The bank's monitoring policy as refreshes use it: re-read when its file changes, and every
change recorded in the node's access log before a refresh uses it.

The file changes by hand or by ``fedcredit monitor review-flags --write``, with the node
running or stopped. The reload and its record are ``node.audit.policy_in_force`` (shared
with the decision policy); this module says what the monitoring policy records of a change
(action ``policy_change``: both files' SHA-256 and the codes of the flags whose level or
softness changed) and where its versions are kept (the monitoring store, which names the
one put in force last).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from node.audit.policy_in_force import PolicyFileInForce
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


class PolicyInForce(PolicyFileInForce[MonitoringPolicy]):
    """The monitoring policy at ``path``, kept in ``store``, its changes written to ``sink``.

    ``get`` raises ``MonitoringPolicyError`` when the file is invalid or cannot be read (a
    refresh must not run on a policy the bank has replaced) and ``PolicyChangeNotRecorded``
    while the access log does not take the change's entry (the next call retries)."""

    def __init__(self, path: Path, store: MonitoringStore, sink: AuditSink) -> None:
        super().__init__(
            path,
            sink,
            load=load_monitoring_policy,
            keep=store.keep_policy,
            last_in_force=lambda: _last_in_force(store),
            put_in_force=lambda version: store.set_reference(IN_FORCE, {"version": version}),
            describe=policy_change,
            unrecorded=lambda after: PolicyChangeNotRecorded(
                f"the monitoring policy change to {after.version[:16]} could not be recorded "
                "in the access log; the refresh waits (see the node's log)"
            ),
        )


def _last_in_force(store: MonitoringStore) -> MonitoringPolicy | None:
    """The policy put in force last (a store from before that was kept: the one the last
    refresh used), or None (first use, or kept in a format this version no longer reads:
    nothing to compare with)."""
    kept = store.reference(IN_FORCE)
    if kept is not None:
        version = str(kept.get("version", ""))
    else:
        last = store.refreshes(1)
        version = str(last[0].get("policy", "")) if last else ""
    text = store.kept_policy(version)
    try:
        return parse_monitoring_policy(text, "kept policy") if text else None
    except MonitoringPolicyError:
        return None
