"""The ``governance:`` section: defaults, overrides, and one clear error per bad key."""

from __future__ import annotations

import pytest

from node.governance.config import GovernanceConfig
from node.governance.severity import Severity
from node.validation import SpecError, validate


def governance_config(raw: object) -> GovernanceConfig:
    """The section as a node configuration file's reader validates it."""
    return validate(GovernanceConfig, raw, source="node.yaml", key="governance")


def test_nothing_configured_gives_the_documented_defaults() -> None:
    config = governance_config(None)
    assert config.containment.throttle_at is Severity.MEDIUM
    assert config.containment.suspend_at is Severity.HIGH
    assert config.alerts.file == "governance/alerts.jsonl" and config.alerts.webhook == ""
    assert config.monitor.narrow_queries_per_hour == 30


def test_values_are_overridden_and_converted() -> None:
    config = governance_config(
        {
            "monitor": {"business_hours": [8, 18], "z_medium": 4, "machine_clients": ["desk"]},
            "alerts": {"webhook": "https://ops.example/hook", "deliver_at": "high"},
            "containment": {"throttle_at": "low", "suspend_at": "medium"},
        }
    )
    assert config.monitor.business_hours == (8, 18) and config.monitor.z_medium == 4.0
    assert config.monitor.machine_clients == ("desk",)
    assert config.alerts.deliver_at is Severity.HIGH
    assert config.containment.throttle_at is Severity.LOW


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"monitr": {}}, "monitr"),
        ({"monitor": {"burst": 5}}, "monitor.burst"),
        ({"monitor": {"denial_streak": -3}}, "monitor.denial_streak"),
        ({"monitor": {"denial_streak": True}}, "monitor.denial_streak"),
        ({"monitor": {"business_hours": [20, 7]}}, "monitor.business_hours"),
        ({"alerts": {"deliver_at": "urgent"}}, "alerts.deliver_at"),
        ({"containment": {"throttle_at": "high", "suspend_at": "low"}}, "containment.suspend_at"),
        ({"monitor": {"z_medium": 8, "z_high": 6}}, "monitor.z_high"),
        ({"alerts": "webhook"}, "alerts"),
        ({"monitor": {"machine_clients": "loan-desk"}}, "monitor.machine_clients"),
    ],
)
def test_a_bad_key_is_named(raw: dict[str, object], key: str) -> None:
    with pytest.raises(SpecError) as error:
        governance_config(raw)
    assert error.value.key == f"governance.{key}" and error.value.fix
    assert str(error.value).startswith(f"node.yaml governance.{key}:")
