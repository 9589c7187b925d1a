"""Containment: alerts throttle or suspend at the door, operators lift, all of it logged and
surviving a restart."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from node.audit import AccessLog
from node.audit.entry import Action
from node.audit.sink import AuditSink
from node.governance.config import ContainmentSettings
from node.governance.containment import SUSPENDED, THROTTLED, ContainmentRegistry
from node.governance.monitor import Alert, Severity
from node.governance.monitor.detectors import Finding
from node.governance.store import GovernanceDB
from node.transport.errors import ServiceError

from .conftest import Caller

BANK = Caller("bank-a", "bank", "bank")
OPERATOR = Caller("federation-ops", "operator", "operator")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _alert(severity: Severity, who: str = "bank-a/bank/bank") -> Alert:
    finding = Finding("narrow_queries", severity, 30, 30, "30 distinct small release queries")
    return Alert("a" * 32, 1.0, who, severity, (finding,), 7)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(governance_db: GovernanceDB, sink: AuditSink, clock: Clock) -> ContainmentRegistry:
    return ContainmentRegistry(governance_db, ContainmentSettings(), sink.record, clock)


def test_a_high_alert_suspends_and_every_call_is_refused(registry: ContainmentRegistry) -> None:
    held = registry.respond(_alert(Severity.HIGH))
    assert held is not None and held.level == SUSPENDED
    with pytest.raises(ServiceError) as refused:
        registry.admit("/fedcredit.v1.Node/GetCapabilities", BANK)
    assert refused.value.status is grpc.StatusCode.PERMISSION_DENIED
    assert refused.value.code == "access.suspended"
    assert "bank-a/bank/bank is suspended" in refused.value.public_text


def test_a_medium_alert_throttles_to_the_configured_rate(
    registry: ContainmentRegistry, clock: Clock
) -> None:
    held = registry.respond(_alert(Severity.MEDIUM))
    assert held is not None and held.level == THROTTLED
    for _ in range(ContainmentSettings().throttle_calls_per_minute):
        registry.admit("/fedcredit.v1.Node/Release", BANK)
    with pytest.raises(ServiceError) as refused:
        registry.admit("/fedcredit.v1.Node/Release", BANK)
    assert refused.value.status is grpc.StatusCode.RESOURCE_EXHAUSTED
    clock.now += 61
    registry.admit("/fedcredit.v1.Node/Release", BANK)  # a new minute, new allowance


def test_a_low_alert_changes_nothing_and_a_weaker_alert_never_loosens(
    registry: ContainmentRegistry,
) -> None:
    assert registry.respond(_alert(Severity.LOW)) is None
    registry.respond(_alert(Severity.HIGH))
    assert registry.respond(_alert(Severity.MEDIUM)) is None
    held = registry.get("bank-a/bank/bank")
    assert held is not None and held.level == SUSPENDED


def test_operators_are_never_contained(registry: ContainmentRegistry) -> None:
    assert registry.respond(_alert(Severity.HIGH, "federation-ops/operator/operator")) is None
    registry.admit("/fedcredit.v1.Node/LiftContainment", OPERATOR)


def test_lifting_restores_access_and_both_actions_are_logged(
    registry: ContainmentRegistry, access_log: AccessLog
) -> None:
    registry.respond(_alert(Severity.HIGH))
    lifted = registry.lift("bank-a/bank/bank", "federation-ops/operator/operator", "reviewed")
    assert lifted.level == SUSPENDED
    registry.admit("/fedcredit.v1.Node/Release", BANK)
    entries = [access_log.entry(i) for i in range(access_log.size())]
    actions = [(e.action, e.details.get("operation"), e.result) for e in entries]
    assert actions == [
        (Action.CONTAINMENT, "suspended", "automatic"),
        (Action.CONTAINMENT, "lift", "lifted"),
    ]
    assert entries[1].details["by"] == "federation-ops/operator/operator"


def test_lifting_someone_not_contained_is_refused(registry: ContainmentRegistry) -> None:
    with pytest.raises(ServiceError, match="not contained"):
        registry.lift("bank-b/bank-b/bank", "federation-ops/operator/operator")


def test_containment_survives_a_restart(
    tmp_path: Path, registry: ContainmentRegistry, sink: AuditSink, clock: Clock
) -> None:
    registry.respond(_alert(Severity.HIGH))
    again = ContainmentRegistry(
        GovernanceDB(tmp_path / "governance"), ContainmentSettings(), sink.record, clock
    )
    assert [c.principal for c in again.active()] == ["bank-a/bank/bank"]
    with pytest.raises(ServiceError):
        again.admit("/fedcredit.v1.Node/Release", BANK)
