"""The detectors through ``AccessMonitor.observe``: each rule fires on its attack, the
statistical detector on a principal far outside its own history, and ordinary traffic stays
quiet."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from node.governance.config import MonitorSettings
from node.governance.monitor import AccessEvent, AccessMonitor, Alert, EventKind, Severity

START = datetime(2026, 3, 2, tzinfo=UTC).timestamp()  # a Monday, 00:00 UTC
WHO = "bank-a/bank/bank"
HOUR = 3600.0
DAY = 86400.0


def _monitor() -> tuple[AccessMonitor, list[Alert]]:
    alerts: list[Alert] = []
    return AccessMonitor(MonitorSettings(), on_alert=alerts.append, tz=UTC), alerts


def _release(t: float, rows: int, query: str = "q", who: str = WHO) -> list[AccessEvent]:
    return [
        AccessEvent(t, who, EventKind.CALL),
        AccessEvent(t + 0.01, who, EventKind.RELEASE, rows=rows, fields=("a", "b"), query=query),
    ]


def _feed(monitor: AccessMonitor, events: list[AccessEvent]) -> None:
    for event in sorted(events, key=lambda e: e.time):
        monitor.observe(event)


def _ordinary_weeks(days: int = 14, seed: int = 0) -> list[AccessEvent]:
    """An analyst: ~20 releases of ~300 rows a weekday, 09:00-18:00, three recurring queries."""
    rng = np.random.default_rng(seed)
    events = []
    for d in range(days):
        if d % 7 >= 5:
            continue
        for _ in range(rng.poisson(20)):
            t = START + d * DAY + rng.uniform(9, 18) * HOUR
            rows = int(300 * np.exp(rng.normal(0, 0.5)))
            events += _release(t, rows, query=f"q{rng.integers(3)}")
    return events


def test_ordinary_traffic_raises_nothing_delivered() -> None:
    monitor, alerts = _monitor()
    _feed(monitor, _ordinary_weeks())
    assert [a for a in alerts if a.severity >= Severity.MEDIUM] == []


def test_a_burst_of_calls_is_high() -> None:
    monitor, alerts = _monitor()
    _feed(
        monitor, [AccessEvent(START + 10 * HOUR + i * 0.5, WHO, EventKind.CALL) for i in range(70)]
    )
    (alert,) = alerts
    assert alert.severity is Severity.HIGH and alert.findings[0].detector == "burst"


def test_a_named_machine_client_may_call_and_score_in_volume_but_is_still_watched() -> None:
    # prepare: the bank's loan system, named as a machine client
    desk = "bank-a/loan-desk/loan_officer"
    alerts: list[Alert] = []
    settings = MonitorSettings(machine_clients=("loan-desk",))
    monitor = AccessMonitor(settings, on_alert=alerts.append, tz=UTC)
    t = START + 10 * HOUR
    volume = [AccessEvent(t + i * 0.01, desk, EventKind.CALL) for i in range(500)]
    volume += [
        AccessEvent(t + 5 + i * 0.01, desk, EventKind.SCORE, rows=1, subjects=(f"ft:{i:032x}",))
        for i in range(500)
    ]
    # execute
    _feed(monitor, volume)
    quiet = list(alerts)
    _feed(monitor, [AccessEvent(t + 20 + i, desk, EventKind.DENIAL) for i in range(12)])
    # assert: volume is its job; a streak of refusals is not
    assert quiet == []
    assert [a.findings[0].detector for a in alerts] == ["denial_streak", "denial_streak"]


def test_walking_a_filter_through_its_values_is_high() -> None:
    monitor, alerts = _monitor()
    t = START + 10 * HOUR
    _feed(monitor, [e for i in range(40) for e in _release(t + i * 20, 3, query=f"code-{i}")])
    assert alerts[0].findings[0].detector == "narrow_queries"
    assert alerts[0].findings[0].value == 30  # fires at the threshold, not later


def test_scoring_many_firms_without_applications_is_enumeration() -> None:
    monitor, alerts = _monitor()
    t = START + 10 * HOUR
    events = [
        AccessEvent(t + i * 10, WHO, EventKind.SCORE, rows=1, subjects=(f"ft:{i:032x}",))
        for i in range(120)
    ]
    _feed(monitor, events)
    assert [a.findings[0].detector for a in alerts] == ["enumeration"]


def test_scores_that_answer_applications_are_not_enumeration() -> None:
    monitor, alerts = _monitor()
    t = START + 10 * HOUR
    events = [
        AccessEvent(t + i * 10, WHO, EventKind.SCORE, rows=1, subjects=(f"ft:{i:032x}",),
                    covered=True)
        for i in range(300)
    ]  # fmt: skip
    _feed(monitor, events)
    assert alerts == []


def test_a_streak_of_refusals_is_medium_then_high_and_containment_refusals_do_not_count() -> None:
    monitor, alerts = _monitor()
    t = START + 10 * HOUR
    contained = [AccessEvent(t + i, WHO, EventKind.DENIAL, contained=True) for i in range(30)]
    _feed(monitor, contained)
    assert alerts == []
    _feed(monitor, [AccessEvent(t + 100 + i, WHO, EventKind.DENIAL) for i in range(10)])
    assert [a.severity for a in alerts] == [Severity.MEDIUM, Severity.HIGH]


def test_refusals_far_apart_do_not_make_a_streak() -> None:
    monitor, alerts = _monitor()
    _feed(monitor, [AccessEvent(START + i * 3600, WHO, EventKind.DENIAL) for i in range(20)])
    assert alerts == []


def test_a_night_bulk_release_after_a_learned_day_pattern_is_high() -> None:
    # prepare: two weeks of business-hours work
    monitor, alerts = _monitor()
    _feed(monitor, _ordinary_weeks())
    alerts.clear()
    # execute: 20x the usual size at 03:00 on a weekday
    _feed(monitor, _release(START + 15 * DAY + 3 * HOUR, 6000, query="all"))
    # assert
    (alert,) = [a for a in alerts if a.severity >= Severity.MEDIUM]
    assert alert.findings[0].detector == "off_hours_bulk" and alert.severity is Severity.HIGH


def test_a_night_job_that_always_runs_at_night_is_not_off_hours() -> None:
    monitor, alerts = _monitor()
    events = [
        e for d in range(14) for e in _release(START + d * DAY + 2 * HOUR, 20000, query="nightly")
    ]
    _feed(monitor, events)
    assert [a for a in alerts if a.severity >= Severity.MEDIUM] == []


def test_scraping_far_above_its_own_history_is_caught_by_the_baseline() -> None:
    # prepare
    monitor, alerts = _monitor()
    _feed(monitor, _ordinary_weeks())
    alerts.clear()
    # execute: 150 releases of 2000 rows in one afternoon hour, at a pace no rule catches
    t = START + 15 * DAY + 14 * HOUR
    _feed(monitor, [e for i in range(150) for e in _release(t + i * 23, 2000, query="q1")])
    # assert
    detectors = {f.detector for a in alerts for f in a.findings}
    assert "baseline" in detectors
    assert max(a.severity for a in alerts) is Severity.HIGH


def test_the_same_finding_is_not_repeated_within_the_cooldown() -> None:
    monitor, alerts = _monitor()
    calls = [AccessEvent(START + 10 * HOUR + i * 0.2, WHO, EventKind.CALL) for i in range(300)]
    _feed(monitor, calls)
    assert len(alerts) == 1


def test_replay_builds_baselines_without_alerting() -> None:
    monitor, alerts = _monitor()
    for event in [AccessEvent(START + i * 0.5, WHO, EventKind.CALL) for i in range(100)]:
        monitor.observe(event, replay=True)
    assert alerts == []
    profile = monitor.profile(WHO)
    assert profile is not None and profile.hour is not None and profile.hour.calls == 100
