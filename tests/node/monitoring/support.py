"""The shipped monitoring policy for unit tests."""

from __future__ import annotations

from pathlib import Path

from node.monitoring.policy import MonitoringPolicy, parse_monitoring_policy

POLICY_FILE = Path(__file__).resolve().parents[3] / "policies" / "monitoring" / "sme-watch.yaml"
POLICY_TEXT = POLICY_FILE.read_text()


def policy() -> MonitoringPolicy:
    return parse_monitoring_policy(POLICY_TEXT, "sme-watch.yaml")
