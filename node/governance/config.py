"""The ``governance:`` section of a node's configuration: detector thresholds, alert sinks and
containment, validated once at start-up with defaults that hold without tuning.

Every threshold is per principal (one certificate: organization/node/role). The defaults
and why they are what they are are in ``docs/governance.md``; the statistical detector
adapts to each principal's own history, the rules are absolute limits no ordinary use
reaches.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, model_validator

from node.governance.severity import Severity
from node.validation import FileModel, Invalid, as_tuple


def _severity(value: object) -> object:
    """``low``/``medium``/``high`` as a ``Severity``."""
    if isinstance(value, str):
        try:
            return Severity.parse(value)
        except ValueError:
            raise Invalid("must be one of low, medium, high", "e.g. medium") from None
    return value


Level = Annotated[Severity, BeforeValidator(_severity)]
Positive = Annotated[int, Field(gt=0)]
Hour = Annotated[int, Field(ge=0, le=24)]


class MonitorSettings(FileModel):
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

    burst_calls_per_minute: Positive = Field(60, description="Calls within 60 s: scraping.")
    enumeration_firms_per_hour: Positive = Field(
        100,
        description="Distinct firms scored in an hour with neither an application on file "
        "nor a post-loan monitoring authorization.",
    )
    narrow_queries_per_hour: Positive = Field(
        30, description="Distinct small release queries in an hour."
    )
    small_request_rows: Positive = Field(20, description="A release of at most this is small.")
    denial_streak: Positive = Field(10, description="Refusals in a row without a success.")
    bulk_release_rows: Positive = Field(
        1000, description="A release of at least this many rows may be an off-hours bulk one."
    )
    rare_hour_share: float = Field(
        0.15, gt=0, description="Share of active days below which an hour of day is rare."
    )
    business_hours: Annotated[tuple[Hour, Hour], BeforeValidator(as_tuple)] = Field(
        (7, 20), description="[start hour, end hour] before the history is long enough."
    )
    baseline_days: Positive = Field(30, description="History the statistical detector learns.")
    min_history_days: Positive = Field(3, description="Days before learned hours apply.")
    z_medium: float = Field(5.0, gt=0, description="Robust z-score that raises medium.")
    z_high: float = Field(10.0, gt=0, description="Robust z-score that raises high.")
    machine_clients: Annotated[
        tuple[Annotated[str, Field(min_length=1)], ...], BeforeValidator(as_tuple)
    ] = Field((), description="Certificate names of machine clients (no volume rules).")

    @model_validator(mode="after")
    def _ordered(self) -> MonitorSettings:
        if self.business_hours[0] >= self.business_hours[1]:
            raise Invalid("must be [start hour, end hour]", "e.g. [7, 20]", key="business_hours")
        if self.z_high < self.z_medium:
            raise Invalid("must not be below z_medium", f"e.g. {self.z_medium * 2:g}", key="z_high")
        return self


class AlertSettings(FileModel):
    """Where alerts go. ``file`` is relative to the node's state directory."""

    file: str = Field("governance/alerts.jsonl", description="Alerts as JSON lines.")
    webhook: str = Field("", description="URL each delivered alert is posted to; none: ''.")
    deliver_at: Level = Field(
        Severity.MEDIUM,
        examples=["medium"],
        description="Lowest severity delivered: low, medium or high.",
    )


class ContainmentSettings(FileModel):
    """Automatic containment: throttle or suspend a principal pending an operator's review."""

    throttle_at: Level = Field(
        Severity.MEDIUM, examples=["medium"], description="Throttle from this severity."
    )
    suspend_at: Level = Field(
        Severity.HIGH, examples=["high"], description="Suspend from this severity."
    )
    throttle_calls_per_minute: Positive = Field(6, description="A throttled principal's rate.")

    @model_validator(mode="after")
    def _suspend_is_stronger(self) -> ContainmentSettings:
        if self.suspend_at < self.throttle_at:
            raise Invalid(
                "must not be below throttle_at (suspending is stronger)",
                f"e.g. {self.throttle_at.label}",
                key="suspend_at",
            )
        return self


class GovernanceConfig(FileModel):
    """Monitor, alerts and containment of the access log's watcher (docs/governance.md)."""

    monitor: MonitorSettings = MonitorSettings()
    alerts: AlertSettings = AlertSettings()
    containment: ContainmentSettings = ContainmentSettings()
