"""The ``governance:`` section of a node's configuration: detector thresholds, alert sinks and
containment, validated once at start-up with defaults that hold without tuning.

Every threshold is per principal (one certificate: organization/node/role). The defaults
and why they are what they are are in ``docs/governance.md``; the statistical detector
adapts to each principal's own history, the rules are absolute limits no ordinary use
reaches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from node.governance.severity import Severity

SECTIONS: Final = ("monitor", "alerts", "containment")


class GovernanceConfigError(ValueError):
    """A ``governance:`` key is unknown or has a value of the wrong kind or range."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"governance.{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class MonitorSettings:
    """Detector thresholds (per principal).

    Attributes
    ----------
    burst_calls_per_minute
        Calls within 60 s that no person or ordinary client makes (1 per second sustained):
        scraping by script. High.
    enumeration_firms_per_hour
        Distinct firms scored within an hour without a loan application on file. High.
    narrow_queries_per_hour
        Distinct small release queries within an hour (walking a filter through its values,
        one slice of firms at a time). High.
    small_request_rows
        A release of at most this many rows is a small one.
    denial_streak
        Refusals in a row without a successful data access (probing fields and datasets);
        half of it is medium.
    bulk_release_rows
        A release of at least this many rows, and of 8 times the principal's median release,
        at an hour of the day it was active on fewer than ``rare_hour_share`` of its active
        days, is an off-hours bulk release (high). Before ``min_history_days`` of history the
        clock alone decides (outside ``business_hours``) and it is only recorded (low).
    baseline_days
        History the statistical detector learns from (also replayed from the log at start).
    min_history_days
        Days of activity before the statistical detector and the learned hours apply.
    z_medium, z_high
        Robust z-score (median/MAD of the principal's own active hours, log scale) of the
        current hour's calls, rows, denials, firms or queries that raises medium / high.
    machine_clients
        Certificate names (the node part of ``organization/node/role``) of machine clients,
        such as the bank's loan system, whose ordinary use is thousands of calls a minute:
        the ``burst`` and ``enumeration`` volume rules do not apply to them; every other
        detector does, the statistical one against their own history. A person's
        certificate never belongs here.
    """

    burst_calls_per_minute: int = 60
    enumeration_firms_per_hour: int = 100
    narrow_queries_per_hour: int = 30
    small_request_rows: int = 20
    denial_streak: int = 10
    bulk_release_rows: int = 1000
    rare_hour_share: float = 0.15
    business_hours: tuple[int, int] = (7, 20)
    baseline_days: int = 30
    min_history_days: int = 3
    z_medium: float = 5.0
    z_high: float = 10.0
    machine_clients: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go. ``file`` is relative to the node's state directory."""

    file: str = "governance/alerts.jsonl"
    webhook: str = ""
    deliver_at: Severity = Severity.MEDIUM


@dataclass(frozen=True)
class ContainmentSettings:
    """Automatic containment: throttle or suspend a principal pending an operator's review."""

    throttle_at: Severity = Severity.MEDIUM
    suspend_at: Severity = Severity.HIGH
    throttle_calls_per_minute: int = 6


@dataclass(frozen=True)
class GovernanceConfig:
    """The validated ``governance:`` section."""

    monitor: MonitorSettings = field(default_factory=MonitorSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    containment: ContainmentSettings = field(default_factory=ContainmentSettings)


def _convert(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, Severity):
        try:
            return Severity.parse(value)
        except ValueError as exc:
            raise GovernanceConfigError(key, str(exc)) from None
    if isinstance(default, bool) or isinstance(value, bool):
        raise GovernanceConfigError(key, "must be a number or text, not true/false")
    if isinstance(default, int) and isinstance(value, int) and value > 0:
        return value
    if isinstance(default, float) and isinstance(value, int | float) and value > 0:
        return float(value)
    if isinstance(default, str) and isinstance(value, str):
        return value
    if isinstance(default, tuple) and key.endswith("machine_clients"):
        if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
            return tuple(value)
        raise GovernanceConfigError(key, "must be a list of certificate names, e.g. [loan-desk]")
    if isinstance(default, tuple):
        if (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, int) and 0 <= v <= 24 for v in value)
            and value[0] < value[1]
        ):
            return (value[0], value[1])
        raise GovernanceConfigError(key, "must be [start hour, end hour], e.g. [7, 20]")
    raise GovernanceConfigError(key, f"must be a positive {type(default).__name__}")


def _section(name: str, raw: Any, cls: type[Any]) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, Mapping):
        raise GovernanceConfigError(name, "must be a mapping")
    defaults = cls()
    known = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise GovernanceConfigError(f"{name}.{key}", f"unknown; use one of {sorted(known)}")
        values[key] = _convert(f"{name}.{key}", value, getattr(defaults, key))
    return cls(**values)


def governance_config(raw: Mapping[str, Any] | None) -> GovernanceConfig:
    """Validate a node configuration's ``governance:`` mapping (``None``: all defaults).

    Raises
    ------
    GovernanceConfigError
        An unknown key, or a value of the wrong kind or range.
    """
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise GovernanceConfigError("", "must be a mapping")
    for key in raw:
        if key not in SECTIONS:
            raise GovernanceConfigError(str(key), f"unknown section; use one of {list(SECTIONS)}")
    config = GovernanceConfig(
        _section("monitor", raw.get("monitor"), MonitorSettings),
        _section("alerts", raw.get("alerts"), AlertSettings),
        _section("containment", raw.get("containment"), ContainmentSettings),
    )
    if config.containment.suspend_at < config.containment.throttle_at:
        raise GovernanceConfigError(
            "containment.suspend_at", "must not be below throttle_at (suspending is stronger)"
        )
    if config.monitor.z_high < config.monitor.z_medium:
        raise GovernanceConfigError("monitor.z_high", "must not be below z_medium")
    return config
