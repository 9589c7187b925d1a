"""The bank's decision policy as decisions use it: re-read when its file changes, and every
change recorded in the node's access log before a decision uses it.

The reload and its record are ``node.audit.policy_in_force`` (shared with the monitoring
policy); this module says what the access log records of a change of the policy that decides
loans (action ``policy_change``: both files' SHA-256 and the names of the top-level settings
that changed) and where its versions are kept (the decision records, which name the one put
in force last).
"""

from __future__ import annotations

from pathlib import Path

from node.audit.policy_in_force import PolicyFileInForce
from node.audit.sink import AuditSink
from node.scoring.exceptions import DecisionPolicyError, DecisionPolicyNotRecorded, ScoringError
from node.scoring.policy import (
    DecisionPolicy,
    changed_settings,
    load_decision_policy,
    parse_decision_policy,
)
from node.scoring.records import DecisionRecords


def decision_policy_change(before: DecisionPolicy, after: DecisionPolicy) -> dict[str, str]:
    """What the access log records of a change of the decision policy: both files' SHA-256 and
    the names of the top-level settings that changed (``cutoffs``, ``model`` ...). Names only:
    a value (a cut-off, a limit, a holder's node id, a knockout flag) is the bank's credit
    policy and stays in the kept text, which the hashes name."""
    return {
        "operation": "decision_policy_changed",
        "purpose": "scoring",  # the purpose the bank's decisions are logged under
        "old_sha256": before.version,
        "new_sha256": after.version,
        "settings_changed": ",".join(changed_settings(before, after)),
    }


class DecisionPolicyInForce(PolicyFileInForce[DecisionPolicy]):
    """The decision policy at ``path``, kept in ``records``, its changes written to ``sink``.

    ``get`` raises ``DecisionPolicyError`` naming the file and the fix when it cannot be read
    or is invalid (the previous policy is not used: the bank has replaced it), and
    ``DecisionPolicyNotRecorded`` while the access log does not take the change's entry (the
    next decision retries)."""

    def __init__(self, path: Path, records: DecisionRecords, sink: AuditSink) -> None:
        super().__init__(
            path,
            sink,
            load=load_decision_policy,
            keep=records.keep_policy,
            last_in_force=lambda: _last_in_force(records),
            put_in_force=records.put_policy_in_force,
            describe=decision_policy_change,
            unrecorded=lambda after: DecisionPolicyNotRecorded(
                f"the decision policy change to {after.version[:16]} could not be recorded "
                "in the access log; decisions wait (see the node's log)"
            ),
            stamp=_modified,
        )


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError as exc:
        raise DecisionPolicyError(
            str(path),
            f"cannot be read: {exc.strerror}",
            fix="check scoring.decision_policy and the file's permissions",
        ) from None


def _last_in_force(records: DecisionRecords) -> DecisionPolicy | None:
    """The policy put in force last (records from before that was kept: the one the last
    decision used), or None (first use, or kept in a format this version no longer reads:
    nothing to compare with)."""
    version = records.policy_in_force()
    if version is None:
        last = next(records.latest(1), None)
        if last is None:
            return None
        version = str(last["policy_version"])
    try:
        return parse_decision_policy(records.policy_text(version), "kept decision policy")
    except ScoringError:
        return None
