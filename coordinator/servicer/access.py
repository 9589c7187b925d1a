"""Which roles may call which coordinator method. Methods not listed are refused."""

from __future__ import annotations

from typing import Final

from node.pki.roles import AUDITOR, BANK, DATA_HOLDERS, OPERATOR

_SERVICE = "/fedcredit.v1.Coordinator/"
_WATCHERS = frozenset({*DATA_HOLDERS, OPERATOR, AUDITOR})

COORDINATOR_ACCESS: Final[dict[str, frozenset[str]]] = {
    _SERVICE + "Register": DATA_HOLDERS,
    _SERVICE + "Heartbeat": DATA_HOLDERS,
    _SERVICE + "GetDirectory": DATA_HOLDERS,
    _SERVICE + "Subscribe": DATA_HOLDERS,
    _SERVICE + "Send": DATA_HOLDERS,
    _SERVICE + "ReportTask": DATA_HOLDERS,
    _SERVICE + "PublishCheckpoint": DATA_HOLDERS,
    # `fedcredit diagnose`: a node's sealed ping to a peer or to the coordinator, no job
    _SERVICE + "Probe": DATA_HOLDERS,
    # Jobs are started by operators, or by a bank (the party that wants the model).
    _SERVICE + "SubmitJob": frozenset({OPERATOR, BANK}),
    _SERVICE + "CancelJob": frozenset({OPERATOR, BANK}),
    # Bringing a failed job back, and letting a quarantined node work again, are operators'.
    _SERVICE + "ResumeJob": frozenset({OPERATOR}),
    _SERVICE + "LiftQuarantine": frozenset({OPERATOR}),
    _SERVICE + "GetJob": _WATCHERS,
    _SERVICE + "ListJobs": _WATCHERS,
    _SERVICE + "WatchJob": _WATCHERS,
    _SERVICE + "ListNodes": _WATCHERS,
}
