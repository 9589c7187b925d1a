"""The monitor reads the real access log: each entry kind maps to the right event, the node's
own entries are skipped, and start-up replays the baseline window without alerting."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from node.audit import AccessLog, Actor
from node.audit.entry import Action
from node.audit.sink import AuditSink
from node.governance.config import GovernanceConfig, MonitorSettings
from node.governance.monitor import AccessMonitor, Alert, EventKind, event_from_entry
from node.governance.monitor.events import MONITORING_PURPOSE
from node.governance.monitor.follower import LogFollower, first_index_since
from node.governance.service import NodeGovernance
from node.monitoring.holder import PURPOSE as HOLDER_PURPOSE
from node.transport.errors import ServiceError

from ..conftest import GOVERNMENT, Caller

BANK = Actor("bank-a", "bank", "bank")
OWN = GOVERNMENT.label()


def _traffic(sink: AuditSink) -> None:
    """What one allowed release, one refused call and one score leave in the log."""
    sink.rpc("/fedcredit.v1.Node/Release", BANK, True, "")
    sink.record("read", {"purpose": "release", "decision_id": "d1"}, actor=BANK)
    sink.record(
        "release",
        {
            "rows": 3,
            "fields": ["a"],
            "query_digest": "abc",
            "sha256": "0" * 64,
            "subjects": ["ft:" + "1" * 32],
        },
        actor=BANK,
    )
    # the consent layer's notes on the same release's firms: not a second release, and the
    # firms it withheld are not a refused request
    sink.record("release", {"release_id": "r1", "subjects": ["ft:" + "1" * 32]}, actor=BANK)
    sink.record("denial", {"release_id": "r1", "subjects": ["ft:" + "3" * 32]}, actor=BANK)
    refusal = "contained: ... suspended pending review (error access.suspended). Fix: ..."
    sink.rpc("/fedcredit.v1.Node/Release", BANK, False, refusal)
    sink.record(
        "score", {"rows": 1, "subjects": ["ft:" + "2" * 32], "application": True}, actor=BANK
    )
    sink.record("admin", {"operation": "node_started"})


def test_entries_map_to_events(access_log: AccessLog, sink: AuditSink) -> None:
    _traffic(sink)
    events = [event_from_entry(i, access_log.entry(i), OWN) for i in range(access_log.size())]
    kinds = [None if e is None else e.kind for e in events]
    assert kinds == [
        EventKind.CALL,
        None,  # the policy decision repeats the call
        EventKind.RELEASE,
        None,  # the consent notes
        None,
        EventKind.DENIAL,
        EventKind.SCORE,
        None,  # the node's own entry
    ]
    release, denial, score = events[2], events[5], events[6]
    assert release is not None and release.query == "abc" and release.rows == 3
    assert release.subjects == ("ft:" + "1" * 32,) and release.log_index == 2
    assert denial is not None and denial.contained
    assert score is not None and score.covered


def test_the_follower_feeds_new_entries_once(access_log: AccessLog, sink: AuditSink) -> None:
    monitor = AccessMonitor(MonitorSettings())
    follower = LogFollower(access_log, monitor, OWN)
    _traffic(sink)
    assert follower.poll() == 8
    assert follower.poll() == 0
    profile = monitor.profile(BANK.label())
    assert profile is not None and profile.hour is not None
    assert (profile.hour.calls, profile.hour.rows, profile.hour.denials) == (1, 4, 0)


def test_replay_starts_at_the_window_and_alerts_nothing(
    access_log: AccessLog, sink: AuditSink
) -> None:
    # prepare: a burst that would alert if it were live
    for _ in range(70):
        sink.rpc("/fedcredit.v1.Node/GetCapabilities", BANK, True, "")
    alerts: list[Alert] = []
    monitor = AccessMonitor(MonitorSettings(), on_alert=alerts.append)
    follower = LogFollower(access_log, monitor, OWN)
    # execute
    replayed = follower.replay(0.0)
    # assert
    assert replayed == 70 and alerts == []
    assert first_index_since(access_log, "2100-01-01") == access_log.size()
    assert first_index_since(access_log, "1970-01-01") == 0


def test_alert_and_containment_entries_are_the_nodes_own(
    access_log: AccessLog, sink: AuditSink
) -> None:
    sink.record("alert", {"principal": BANK.label(), "severity": "high", "result": "raised"})
    sink.record("containment", {"principal": BANK.label(), "operation": "suspended"})
    assert [access_log.entry(i).action for i in range(2)] == [Action.ALERT, Action.CONTAINMENT]
    assert all(event_from_entry(i, access_log.entry(i), OWN) is None for i in range(2))


def test_the_door_judges_the_call_after_an_alert_while_the_thread_follows(
    tmp_path: Path, access_log: AccessLog, sink: AuditSink
) -> None:
    # prepare: a node's governance with its follower thread running, bursts alert at 8 calls
    config = GovernanceConfig(monitor=MonitorSettings(burst_calls_per_minute=8))
    governance = NodeGovernance(config, tmp_path, os.urandom(32), access_log, sink.record, OWN)
    governance.start()
    caller = Caller(BANK.organization, BANK.node, BANK.role)
    refused_at = None
    try:
        # execute: calls as the door logs them, each admitted first, whatever the thread does
        for call in range(1, 13):
            try:
                governance.admit("/fedcredit.v1.Node/GetCapabilities", caller)
            except ServiceError as exc:
                assert exc.code == "access.suspended"
                refused_at = call
                break
            sink.rpc("/fedcredit.v1.Node/GetCapabilities", BANK, True, "")
            if call % 3 == 0:
                time.sleep(0.05)  # sometimes the thread has read the entry, sometimes not
    finally:
        governance.stop()
    # assert: the 8th call raised the alert; the 9th is the first refused
    assert refused_at == 9


def test_stop_runs_no_poll_after_it(access_log: AccessLog, sink: AuditSink) -> None:
    # prepare: a running follower whose polls note whether stop had been asked when they began
    follower = LogFollower(access_log, AccessMonitor(MonitorSettings()), OWN)
    feed, polled = follower._feed, threading.Event()
    after_stop: list[bool] = []

    def noting(replay: bool = False) -> tuple[int, int]:
        after_stop.append(follower._stop.is_set())
        try:
            return feed(replay)
        finally:
            polled.set()

    follower._feed = noting  # type: ignore[method-assign]
    follower.start()
    assert polled.wait(10.0)
    # execute: entries are waiting when the node stops (the thread sleeps in its wait)
    sink.rpc("/fedcredit.v1.Node/GetCapabilities", BANK, True, "")
    follower.stop()
    # assert: stop woke the thread to end it, not to read them
    assert after_stop and not any(after_stop)


def test_a_score_is_covered_by_an_application_or_by_a_monitoring_answers_authorizations(
    access_log: AccessLog, sink: AuditSink
) -> None:
    """The basis that keeps a score out of ``enumeration``: a monitoring answer's checked
    authorizations count, the same key on a loan score does not (its basis is the
    application), nor does a monitoring answer without them."""
    firms = tuple(f"ft:{i:032d}" for i in range(3))
    shapes = [
        # the monitoring holder's answer (node.monitoring.holder), and the same without records
        (MONITORING_PURPOSE, {"refresh": "r1", "authorizations": "auth-1,auth-2"}, True),
        (MONITORING_PURPOSE, {"refresh": "r1"}, False),
        # a scoring holder's answer: the application decides, not the authorizations it lists
        ("scoring", {"application_refs": "", "authorizations": "auth-1"}, False),
        ("scoring", {"application_refs": "app-1", "authorizations": "auth-1"}, True),
    ]
    for purpose, details, _ in shapes:
        sink.subject_use(BANK, Action.SCORE, purpose, "allowed", subjects=firms, details=details)
    events = [event_from_entry(i, access_log.entry(i), OWN) for i in range(access_log.size())]
    assert [e is not None and e.covered for e in events] == [c for *_, c in shapes]


def test_the_monitoring_purpose_is_the_one_the_holder_logs() -> None:
    assert MONITORING_PURPOSE == HOLDER_PURPOSE
