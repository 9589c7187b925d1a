"""Alert sinks against a local HTTP receiver and a file; feed-health issues; no values out."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from node.monitoring.alerts import drift_alerts, feed_alerts, level_alerts
from node.monitoring.feed import FeedReport, feed_issues
from node.monitoring.policy import FeedLimits
from node.monitoring.sinks import FileSink, SinkFailed, WebhookSink
from node.monitoring.store import MonitoringStore


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    status: ClassVar[int] = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _alerts() -> list[dict[str, object]]:
    return level_alerts(
        "refresh-1", "2026-03", ["ft:" + "a" * 32], ["book-0"],
        np.array([0], np.int8), np.array([2], np.int8), [["EW-PD", "GOV-TAX-PAID"]],
    )  # fmt: skip


def test_alerts_reach_a_local_webhook_signed(receiver: tuple[str, type[_Receiver]]) -> None:
    # prepare
    url, handler = receiver
    alerts = _alerts()
    # execute
    WebhookSink(url, 5.0, b"hook-secret").deliver(alerts)
    # assert
    ((headers, body),) = handler.received
    assert json.loads(body)["alerts"][0]["to_level"] == "orange"
    expected = hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
    assert headers["X-Fedcredit-Signature"] == f"sha256={expected}"


def test_a_refusing_or_absent_receiver_fails_the_delivery(
    receiver: tuple[str, type[_Receiver]],
) -> None:
    url, handler = receiver
    handler.status = 503
    with pytest.raises(SinkFailed, match="HTTP 503"):
        WebhookSink(url).deliver(_alerts())
    with pytest.raises(SinkFailed, match="not reached"):
        WebhookSink("http://127.0.0.1:9/alerts", 1.0).deliver(_alerts())


def test_file_sink_and_store_track_deliveries(tmp_path: Path) -> None:
    store = MonitoringStore(tmp_path / "watch.sqlite")
    try:
        alerts = _alerts()
        store.add_alerts(alerts)
        sink = FileSink(tmp_path / "out" / "alerts.jsonl")
        pending = list(store.undelivered(sink.name))
        sink.deliver(pending)
        store.mark_delivered([a["alert_id"] for a in pending], sink.name)
        assert list(store.undelivered(sink.name)) == []
        lines = (tmp_path / "out" / "alerts.jsonl").read_text().splitlines()
        assert json.loads(lines[0])["reasons"] == ["EW-PD", "GOV-TAX-PAID"]
        store.transition(alerts[0]["alert_id"], "bank-a/desk/loan_officer", "acknowledge",
                         "acknowledged", "")  # fmt: skip
        assert store.alert(str(alerts[0]["alert_id"]))["history"][0]["state"] == "acknowledged"
    finally:
        store.close()


def _report(**changes: object) -> FeedReport:
    base = {"latest_month": "2026-03", "months_behind": 0, "asked": 100, "matched": 90,
            "admitted": 90, "missing_share": 0.0}  # fmt: skip
    return FeedReport.from_dict({**base, **changes})


def test_a_stale_feed_is_a_data_quality_alert() -> None:
    # prepare: the government's panel ends two months before the refresh month; a holder
    # reports neither missing records nor PSI figures for months its panel lacks
    report = _report(latest_month="2026-01", months_behind=2)
    # execute
    issues = feed_issues("government", report, "", FeedLimits(), 0.25)
    alerts = feed_alerts("refresh-1", "2026-03", issues)
    # assert: one problem, one alert
    assert [a["code"] for a in alerts] == ["FEED-STALE"]
    assert all(a["kind"] == "data_quality" and a["holder"] == "government" for a in alerts)


def test_a_drift_is_raised_when_it_starts_not_at_every_refresh() -> None:
    # prepare: the PD drifted already; an input starts to; a holder's score is not measured
    drifting = {"score:pd", "score:government"}
    psi = {"score:pd": 0.31, "input:tp:invoice_total__chg3m": 0.4, "score:tp": 0.02}
    # execute
    alerts, still = drift_alerts("refresh-2", "2026-03", psi, 0.25, drifting)
    # assert
    assert [a["subject"] for a in alerts] == ["input:tp:invoice_total__chg3m"]
    assert still == {"score:pd", "score:government", "input:tp:invoice_total__chg3m"}
    calmer, after = drift_alerts("refresh-3", "2026-04", {"score:pd": 0.05}, 0.25, still)
    assert calmer == [] and after == {"score:government", "input:tp:invoice_total__chg3m"}


def test_other_feed_issues() -> None:
    limits = FeedLimits()
    assert [i.code for i in feed_issues("tp", None, "offline", limits, 0.25)] == [
        "FEED-UNAVAILABLE"
    ]
    assert feed_issues("tp", _report(), "", limits, 0.25, previous_unmatched=0.1) == []
    jumpy = _report(matched=30, jump_psi={"invoice_total__lvl": 0.4})
    codes = [i.code for i in feed_issues("tp", jumpy, "", limits, 0.25, previous_unmatched=0.1)]
    assert codes == ["FEED-UNMATCHED", "FEED-UNMATCHED-JUMP", "FEED-JUMP"]
