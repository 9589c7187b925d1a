"""Who may see, watch, cancel and resume a job: its submitter, its parties, operators.

Roles decide which methods a certificate may call (``access.py``); these rules decide which
jobs. A job a caller may not see does not exist for it (``NOT_FOUND``), so job ids, parties and
results of other members' jobs do not leak. Auditors see every job (read only): reviewing what
ran is their role.
"""

from __future__ import annotations

from coordinator.state import JobRecord
from node.pki.identity import Principal
from node.pki.roles import AUDITOR, OPERATOR


def caller_name(who: Principal) -> str:
    """How a caller is named in ``submitted_by``, events and the access log."""
    return f"{who.organization}/{who.node_id}"


def may_see(who: Principal, job: JobRecord) -> bool:
    if who.role in (OPERATOR, AUDITOR):
        return True
    return job.submitted_by == caller_name(who) or who.node_id in job.parties


def may_cancel(who: Principal, job: JobRecord) -> bool:
    """Everyone who may see a job may cancel it, except auditors (who only look)."""
    return who.role != AUDITOR and may_see(who, job)
