"""Which roles may call which node method. The policy engine then decides field by field."""

from __future__ import annotations

from typing import Final

from node.pki.roles import ALL_ROLES, AUDITOR, DATA_HOLDERS, LOAN_OFFICER, OPERATOR

_SERVICE = "/fedcredit.v1.Node/"

NODE_ACCESS: Final[dict[str, frozenset[str]]] = {
    _SERVICE + "GetCapabilities": ALL_ROLES,
    # Every data holder may ask; the policy decides per organization, role, purpose and field.
    _SERVICE + "Release": DATA_HOLDERS,
    _SERVICE + "AuditCheckpoint": frozenset({AUDITOR}),
    _SERVICE + "AuditProve": frozenset({AUDITOR}),
    _SERVICE + "AuditExport": frozenset({AUDITOR}),
    _SERVICE + "ReloadPolicy": frozenset({OPERATOR}),
    _SERVICE + "ListContainments": frozenset({OPERATOR}),
    _SERVICE + "LiftContainment": frozenset({OPERATOR}),
    # The bank's own loan systems; the servicer also requires the node's own organization.
    _SERVICE + "Decide": frozenset({LOAN_OFFICER}),
    _SERVICE + "DecideBatch": frozenset({LOAN_OFFICER}),
    _SERVICE + "DecideBook": frozenset({LOAN_OFFICER}),
    _SERVICE + "RegisterAuthorizations": frozenset({LOAN_OFFICER, OPERATOR}),
    _SERVICE + "RevokeAuthorization": frozenset({LOAN_OFFICER, OPERATOR}),
    # Post-loan monitoring of the bank's own book (the servicer requires its organization).
    _SERVICE + "MonitorRefresh": frozenset({LOAN_OFFICER, OPERATOR}),
    _SERVICE + "MonitorWatchlist": frozenset({LOAN_OFFICER, OPERATOR}),
    _SERVICE + "MonitorAlerts": frozenset({LOAN_OFFICER, OPERATOR}),
    _SERVICE + "MonitorAct": frozenset({LOAN_OFFICER}),
}
