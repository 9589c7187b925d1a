"""The detectors: absolute rules and the statistical comparison with a principal's history.

Each returns ``Finding``s; the monitor turns them into one alert per principal and event.
Rules fire on behaviour no ordinary client shows whatever its history (a burst of calls,
walking through many firms or filter values, a streak of refusals, a bulk release in the
middle of the principal's night). The statistical detector fires when the running hour is
far outside the principal's own active hours, in robust z-scores on a log scale; two
features far out at once is high.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from node.governance.config import MonitorSettings
from node.governance.monitor.events import AccessEvent, EventKind
from node.governance.monitor.profile import FEATURES, PrincipalProfile
from node.governance.severity import Severity

# Smallest spread assumed on the log scale (a factor of about 1.6), so a principal with a
# very regular history is not flagged for ordinary variation.
MIN_SPREAD: Final = 0.5
# An off-hours release is bulk from this many times the principal's median release size: a
# lognormal size spread of sigma 0.6 exceeds it once in several thousand releases.
BULK_FACTOR: Final = 8.0
# Counts below these never make a statistical finding, however unusual for the principal.
STAT_FLOORS: Final = {"calls": 20, "rows": 1000, "denials": 5, "firms": 20, "queries": 10}


@dataclass(frozen=True)
class Finding:
    """One detector's reason to alert: which, how bad, what it measured and the limit."""

    detector: str
    severity: Severity
    value: float
    threshold: float
    summary: str

    def to_dict(self) -> dict[str, object]:
        """Plain form for alerts."""
        return {
            "detector": self.detector,
            "severity": self.severity.label,
            "value": round(self.value, 3),
            "threshold": round(self.threshold, 3),
            "summary": self.summary,
        }


@dataclass(frozen=True)
class Context:
    """What the rules need about the moment of the event, taken before it was counted."""

    hour_of_day: int
    hour_share: float
    usual_release: float
    seasoned: bool  # enough history for learned hours and the statistical detector
    new_fields: tuple[str, ...]


def rules(
    event: AccessEvent, profile: PrincipalProfile, ctx: Context, s: MonitorSettings
) -> list[Finding]:
    """The absolute rules, evaluated after ``event`` was counted."""
    out: list[Finding] = []
    # a machine client's volume is its job; its other habits are still watched
    parts = event.principal.split("/")  # organization/node/role
    machine = len(parts) == 3 and parts[1] in s.machine_clients
    calls = len(profile.calls)
    if event.kind is EventKind.CALL and not machine and calls >= s.burst_calls_per_minute:
        out.append(
            Finding("burst", Severity.HIGH, calls, s.burst_calls_per_minute,
                    f"{calls} calls within 60 s")
        )  # fmt: skip
    firms = len(profile.small_firms)
    if event.subjects and not machine and firms >= s.enumeration_firms_per_hour:
        out.append(
            Finding("enumeration", Severity.HIGH, firms, s.enumeration_firms_per_hour,
                    f"{firms} distinct firms scored within an hour without an application or "
                    "authorization")
        )  # fmt: skip
    queries = len(profile.small_queries)
    if event.query and queries >= s.narrow_queries_per_hour:
        out.append(
            Finding("narrow_queries", Severity.HIGH, queries, s.narrow_queries_per_hour,
                    f"{queries} distinct small release queries within an hour")
        )  # fmt: skip
    streak = profile.denial_streak
    if event.kind is EventKind.DENIAL and not event.contained:
        if streak >= s.denial_streak:
            out.append(
                Finding("denial_streak", Severity.HIGH, streak, s.denial_streak,
                        f"{streak} refusals in a row")
            )  # fmt: skip
        elif streak >= max(2, s.denial_streak // 2):
            out.append(
                Finding("denial_streak", Severity.MEDIUM, streak, s.denial_streak // 2,
                        f"{streak} refusals in a row")
            )  # fmt: skip
    if event.kind is EventKind.RELEASE:
        out += _off_hours(event, ctx, s)
    if ctx.seasoned and ctx.new_fields:
        out.append(
            Finding("new_fields", Severity.LOW, len(ctx.new_fields), 0,
                    f"first request for {', '.join(ctx.new_fields[:5])}")
        )  # fmt: skip
    return out


def _off_hours(event: AccessEvent, ctx: Context, s: MonitorSettings) -> list[Finding]:
    if ctx.seasoned:
        bulk = max(float(s.bulk_release_rows), BULK_FACTOR * ctx.usual_release)
        rare = ctx.hour_share < s.rare_hour_share
        severity = Severity.HIGH
        why = f"active at this hour on {ctx.hour_share:.0%} of its active days"
    else:
        bulk = float(s.bulk_release_rows)
        start, end = s.business_hours
        rare = not start <= ctx.hour_of_day < end
        # Without history the clock alone is weak evidence (night batch jobs are normal for
        # some principals): recorded, not delivered, until the principal's hours are learned.
        severity = Severity.LOW
        why = f"outside business hours {start}:00-{end}:00 (no history yet)"
    if rare and event.rows >= bulk:
        return [
            Finding("off_hours_bulk", severity, event.rows, bulk,
                    f"release of {event.rows} rows at {ctx.hour_of_day:02d}:00; {why}")
        ]  # fmt: skip
    return []


def statistical(profile: PrincipalProfile, s: MonitorSettings) -> list[Finding]:
    """The running hour against the principal's own active hours (robust z on log1p)."""
    stats = profile.baseline()
    tally = profile.hour
    if stats is None or tally is None:
        return []
    median, mad = stats
    z = (tally.vector() - median) / np.maximum(mad, MIN_SPREAD)
    far = []
    for i, feature in enumerate(FEATURES):
        if z[i] >= s.z_medium and tally.value(feature) >= STAT_FLOORS[feature]:
            far.append((feature, float(z[i])))
    if not far:
        return []
    worst = max(z for _, z in far)
    severity = Severity.HIGH if worst >= s.z_high or len(far) >= 2 else Severity.MEDIUM
    text = ", ".join(f"{f} {tally.value(f)} (z {v:.1f})" for f, v in far)
    return [Finding("baseline", severity, worst, s.z_medium, f"this hour: {text}")]
