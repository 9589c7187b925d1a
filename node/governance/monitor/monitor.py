"""The access monitor: per-principal profiles, detectors, and one alert per finding burst.

``observe(event)`` folds an event into its principal's profile, runs the rules and the
statistical detector and returns an ``Alert`` when something fired that was not already
reported (the same detector for the same principal is quiet for ``COOLDOWN`` unless it gets
worse). The alert goes to ``on_alert`` (the node records it, delivers it and contains); in
replay mode (warming the baselines from the log at start-up) nothing is alerted.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Final

from node.governance.config import MonitorSettings
from node.governance.monitor.detectors import Context, Finding, rules, statistical
from node.governance.monitor.events import AccessEvent, EventKind
from node.governance.monitor.profile import PrincipalProfile
from node.governance.severity import Severity

COOLDOWN: Final = 600.0  # seconds a detector stays quiet for a principal it already reported


@dataclass(frozen=True)
class Alert:
    """Something a principal did that an operator should look at."""

    alert_id: str
    time: float
    principal: str
    severity: Severity
    findings: tuple[Finding, ...]
    log_index: int | None

    @property
    def at(self) -> str:
        """The alert time in UTC, ISO 8601."""
        return datetime.fromtimestamp(self.time, UTC).isoformat(timespec="microseconds")

    def summary(self) -> str:
        """One line naming every finding."""
        return "; ".join(f"{f.detector}: {f.summary}" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """Plain form for sinks and reports."""
        return {
            "alert_id": self.alert_id,
            "at": self.at,
            "principal": self.principal,
            "severity": self.severity.label,
            "findings": [f.to_dict() for f in self.findings],
            "log_index": self.log_index,
        }


class AccessMonitor:
    """Watches every principal of one node. Thread-safe.

    Parameters
    ----------
    settings
        Detector thresholds.
    on_alert
        Receives each alert (not called in replay).
    tz
        The node's time zone for hours of the day (default: the host's).
    """

    def __init__(
        self,
        settings: MonitorSettings,
        on_alert: Callable[[Alert], None] | None = None,
        tz: tzinfo | None = None,
    ) -> None:
        self.settings = settings
        self._on_alert = on_alert
        self._tz = tz
        self._profiles: dict[str, PrincipalProfile] = {}
        self._reported: dict[tuple[str, str], tuple[float, Severity]] = {}
        self._lock = threading.Lock()

    def _hour(self, t: float) -> int:
        return datetime.fromtimestamp(t, self._tz).hour  # tz None: the host's local time

    def profile(self, principal: str) -> PrincipalProfile | None:
        """The profile of ``principal``, if it was ever seen."""
        return self._profiles.get(principal)

    def observe(self, event: AccessEvent, replay: bool = False) -> Alert | None:
        """Count ``event`` and return the alert it raises, if any.

        With ``replay`` the event only builds the baseline (start-up from the log).
        """
        with self._lock:
            s = self.settings
            profile = self._profiles.get(event.principal)
            if profile is None:
                profile = self._profiles[event.principal] = PrincipalProfile(
                    event.principal, s.baseline_days
                )
            hour = self._hour(event.time)
            seasoned = len(profile.active_days) >= s.min_history_days
            ctx = Context(
                hour_of_day=hour,
                hour_share=profile.hour_share(hour),
                usual_release=profile.usual_release(),
                seasoned=seasoned,
                new_fields=tuple(f for f in event.fields if f not in profile.fields_seen)
                if event.kind in (EventKind.RELEASE, EventKind.SCORE)
                else (),
            )
            profile.add(event, hour, s.small_request_rows)
            if replay:
                return None
            findings = rules(event, profile, ctx, s)
            if seasoned:
                findings += statistical(profile, s)
            fresh = [f for f in findings if self._fresh(event.principal, f, event.time)]
            if not fresh:
                return None
            alert = Alert(
                uuid.uuid4().hex,
                event.time,
                event.principal,
                max(f.severity for f in fresh),
                tuple(fresh),
                event.log_index,
            )
        if self._on_alert is not None:
            self._on_alert(alert)
        return alert

    def _fresh(self, principal: str, finding: Finding, t: float) -> bool:
        key = (principal, finding.detector)
        last = self._reported.get(key)
        if last is not None and t - last[0] < COOLDOWN and finding.severity <= last[1]:
            return False
        self._reported[key] = (t, finding.severity)
        return True
