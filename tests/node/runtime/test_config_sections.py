"""The governance, scoring, monitoring and console sections are read with the node's file:
their values arrive typed, a mistake names the config file, the key path and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.governance.severity import Severity
from node.monitoring.config import MonitoringFile, monitoring_config
from node.runtime.config import ConfigError, load_node_config

HEAD = "node_id: bank\ncerts: {dir: certs}\ncoordinator: 127.0.0.1:50051\n"


def write(tmp_path: Path, sections: str) -> Path:
    path = tmp_path / "node.yaml"
    path.write_text(HEAD + sections, "utf-8")
    return path


def test_sections_are_read_typed_and_paths_resolved_against_the_file(tmp_path: Path) -> None:
    # prepare
    path = write(
        tmp_path,
        "governance: {containment: {throttle_at: low}, monitor: {business_hours: [8, 18]}}\n"
        "scoring: {decision_policy: decision.yaml, flags: {BANK-OVERDUE: 'overdue >= 2'}}\n"
        "monitoring: {panel: bank_monthly, policy: watch.yaml, sinks: [{file: alerts.jsonl}]}\n"
        "console: true\n",
    )
    # execute
    config = load_node_config(path)
    # assert
    assert config.governance.containment.throttle_at is Severity.LOW
    assert config.governance.monitor.business_hours == (8, 18)
    assert config.scoring is not None
    assert config.scoring.decision_policy == str((tmp_path / "decision.yaml").resolve())
    assert config.monitoring is not None
    assert config.monitoring.policy == str((tmp_path / "watch.yaml").resolve())
    assert [s.file for s in config.monitoring.sinks] == [str((tmp_path / "alerts.jsonl").resolve())]
    assert config.console is not None and config.console.listen == "127.0.0.1:0"


def test_the_monitoring_section_is_read_with_the_file_and_built_into_settings(
    tmp_path: Path,
) -> None:
    # prepare
    path = write(
        tmp_path,
        "monitoring: {panel: bank_monthly, ratios: [tax_paid/ss_headcount], "
        "sinks: [{file: alerts.jsonl}]}\n",
    )
    # execute: the node's file read, then its settings built as the node and CLI build them
    config = load_node_config(path)
    settings = monitoring_config(config.monitoring, config.state_dir)
    # assert: the section arrived typed (validated with the file: the monitoring module has
    # no validation of its own), and its settings are built from it
    assert isinstance(config.monitoring, MonitoringFile)
    assert settings.panel == "bank_monthly" and list(settings.ratios) != []
    assert [s.path for s in settings.sinks] == [(tmp_path / "alerts.jsonl").resolve()]  # type: ignore[attr-defined]


def test_absent_sections_are_their_defaults(tmp_path: Path) -> None:
    config = load_node_config(write(tmp_path, ""))
    assert config.governance.containment.suspend_at is Severity.HIGH
    assert config.scoring is None and config.monitoring is None and config.console is None


@pytest.mark.parametrize(
    ("sections", "key", "problem"),
    [
        ("governance: {monitor: {denial_streak: 0}}", "governance.monitor.denial_streak", "> 0"),
        ("governance: {alerts: {deliver_at: urgent}}", "governance.alerts.deliver_at", "one of"),
        ("scoring: {workers: 64}", "scoring.workers", "<= 32"),
        ("scoring: {caps: {per_bank_per_day: '5'}}", "scoring.caps.per_bank_per_day", "integer"),
        ("scoring: {flags: {lower: 'x >= 1'}}", "scoring.flags.lower", "upper-case code"),
        ("monitoring: {figures: {overdue: weeks}}", "monitoring.figures.overdue", "one of"),
        ("monitoring: {ratios: [a/a]}", "monitoring.ratios[0]", "two different figures"),
        ("monitoring: {sinks: [{webhook: ftp://x}]}", "monitoring.sinks[0].webhook", "http"),
        ("monitoring: {sinks: [{}]}", "monitoring.sinks[0]", "names no target"),
        ("console: {listen: nowhere}", "console.listen", "HOST:PORT"),
        ("console: {port: 8443}", "console.port", "unknown key"),
    ],
)
def test_a_mistake_names_the_file_the_key_and_a_fix(
    tmp_path: Path, sections: str, key: str, problem: str
) -> None:
    # prepare
    path = write(tmp_path, sections + "\n")
    # execute
    with pytest.raises(ConfigError) as info:
        load_node_config(path)
    # assert
    error = info.value
    assert error.path == path and error.key == key, str(error)
    assert problem in error.problem and error.fix, str(error)
    assert str(error).startswith(f"{path} {key}: ")
