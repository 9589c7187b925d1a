"""Post-loan monitoring across real node processes over loopback mTLS, month by month.

The early-warning model is trained as a real ``vertical_lr`` job on the tables each node
writes from its own panel (``fedcredit monitor table``), deployed at every node, and the
bank's scheduler refreshes the book whenever a panel moves on: a new month at the bank, or a
holder's panel version changing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from node.audit.reader import LogReader
from node.audit.search import SearchQuery
from node.cli.app import app
from node.runtime.secrets import node_secret
from node.scoring.lending import subject_tokenizer
from protos.fedcredit.v1 import node_pb2
from tests.node.monitoring.federation import (
    EW_JOB,
    PANELS,
    MonitoringFederation,
    monitoring_federation,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
DOC = "ab" * 32
WALK = ("2026-01", "2026-02", "2026-03", "2026-04")


class _Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        type(self).bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class World:
    """The running federation and what the walk observed."""

    def __init__(self, fed: MonitoringFederation, codes: list[str], hook: type[_Receiver]) -> None:
        self.fed = fed
        self.codes = codes
        self.hook = hook
        self.watched = ""  # the borrower whose government signals turn
        self.levels: dict[str, dict[str, Any]] = {}
        self.refreshes: list[dict[str, Any]] = []

    def token(self, code: str) -> str:
        return subject_tokenizer(node_secret(self.fed.root / "state" / "bank")).token(code)

    def desk(self, *args: str) -> list[str]:
        address = f"127.0.0.1:{self.fed.node_ports['bank']}"
        return [*args, "--node", address, "--node-id", "bank", "--certs", str(self.fed.certs),
                "--as", "loan-desk"]  # fmt: skip

    def refresh_rows(self) -> list[dict[str, Any]]:
        path = self.fed.root / "state" / "bank" / "monitoring" / "watch.sqlite"
        if not path.exists():
            return []
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT body FROM refreshes ORDER BY started").fetchall()
        return [json.loads(r[0]) for r in rows]

    def wait_refresh(self, done: int, timeout: float = 600.0) -> dict[str, Any]:
        """Wait for the scheduler's refresh number ``done + 1``; return its record."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.refresh_rows()
            if len(rows) > done:
                return rows[done]
            time.sleep(0.5)
        raise AssertionError(f"no refresh after {done} within {timeout}s")

    def entry(self, code: str) -> dict[str, Any]:
        request = node_pb2.MonitorWatchlistRequest(min_level="green", limit=100_000)
        response = self.fed.node("bank").MonitorWatchlist(request, timeout=60)
        token = self.token(code)
        found = [e for e in response.entries if e.firm == token]
        assert found, "the borrower is not in the bank's monitoring store"
        e = found[0]
        return {"level": e.level, "reasons": list(e.reasons), "as_of": e.as_of}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("monitoring")
    hook = type("Hook", (_Receiver,), {"bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sinks: list[dict[str, object]] = [
        {"webhook": f"http://127.0.0.1:{server.server_address[1]}/alerts"},
        {"file": str(root / "alerts.jsonl")},
    ]
    fed, codes = monitoring_federation(root, sinks)
    try:
        # each node writes its early-warning table from its own panel (a backtest: cutoffs
        # whose following 6 months are known), offline, before the nodes start
        for node in PANELS:
            fed.publish(node, "2026-12")
            config = fed.write_node_config(node)
            extra = ["--defaults", "bank_defaults"] if node == "bank" else []
            fed.cli("monitor", "table", "--config", str(config), "--from", "2025-01",
                    "--to", "2026-06", "--out", str(root / "tables"), *extra)  # fmt: skip
            fed.publish(node, "2025-12")
        fed.start()
        status = fed.wait_job(fed.submit(EW_JOB, job_id="ew"), timeout=900)
        assert status.state == "succeeded", status.error
        now = time.time()
        grants = [
            node_pb2.AuthorizationGrant(
                uscc=code, purposes=["post_loan_monitoring"], valid_from=now - 86_400,
                valid_to=now + 365 * 86_400, document_sha256=DOC, collector="branch-1",
                collected_at=now - 86_400, holders=["government", "third_party"],
            )
            for code in codes
        ]  # fmt: skip
        ack = fed.node("bank").RegisterAuthorizations(
            node_pb2.AuthorizationBatch(grants=grants), timeout=120
        )
        assert all(v.startswith("stored") for v in ack.holders.values()), ack.holders
        for node in ("government", "third_party", "bank"):  # the bank last: then it refreshes
            fed.cli("models", "deploy", "--config", str(fed.config(node)), "--job", "ew",
                    "--name", "sme-ew", "--dataset", f"{node}_ew")  # fmt: skip
        w = World(fed, codes, hook)
        first = w.wait_refresh(0)
        assert first["as_of"] == "2025-12" and first["trigger"] == "first refresh", first
        w.refreshes.append(first)
        yield w
    finally:
        fed.stop()
        server.shutdown()
        server.server_close()


def _walk(w: World) -> None:
    """Publish each month (holders first, the bank last) and follow the scheduler's refreshes.

    The watched borrower's tax payments stop from 2026-02 (its government signals turn); its
    bank account shows nothing until it is 45 days overdue in 2026-04. The third party's feed
    does not arrive for 2026-04 (a stale feed), then arrives late."""
    if w.levels:
        return
    government = w.fed.full_panel("government")
    bank = w.fed.full_panel("bank")
    held = set(government["uscc"]) & set(bank["uscc"])
    green = [c for c in w.codes if c in held and w.entry(c)["level"] == "green"]
    bank_clean = bank.groupby("uscc")["overdue_days"].max() == 0
    w.watched = next(c for c in green if bank_clean.get(c, False))
    turned = (government["uscc"] == w.watched) & (government["month"] >= "2026-02-01")
    government.loc[turned, "tax_paid"] = 0.0
    overdue = (bank["uscc"] == w.watched) & (bank["month"] >= "2026-04-01")
    bank.loc[overdue, "overdue_days"] = 45
    for month in WALK:
        w.fed.publish("government", month, government)
        w.fed.publish("third_party", month if month != "2026-04" else "2026-03")
        w.fed.publish("bank", month, bank)
        w.refreshes.append(w.wait_refresh(len(w.refreshes)))
        w.levels[month] = w.entry(w.watched)
    w.fed.publish("third_party", "2026-04")
    w.refreshes.append(w.wait_refresh(len(w.refreshes)))


def test_government_signals_flag_a_borrower_before_its_bank_signals(world: World) -> None:
    _walk(world)
    listed = [m for m in WALK if world.levels[m]["level"] != "green"]
    bank_turned = [m for m in WALK if "BANK-DPD30" in world.levels[m]["reasons"]]
    assert bank_turned == ["2026-04"], world.levels
    assert listed and listed[0] < bank_turned[0], world.levels
    assert any(r.startswith("GOV-") for r in world.levels[listed[0]]["reasons"]), world.levels
    # each month's refresh was the scheduler's, on the bank's new month
    assert [r["as_of"] for r in world.refreshes[1:5]] == list(WALK)
    assert all(r["trigger"].startswith("new month") for r in world.refreshes[1:5])


def test_a_stale_feed_is_an_alert_then_a_late_panel_triggers_a_refresh(world: World) -> None:
    _walk(world)
    stale, caught_up = world.refreshes[4], world.refreshes[5]
    assert stale["feed"]["third_party"] == ["FEED-STALE"], stale["feed"]
    assert caught_up["trigger"] == "panel changed at third_party", caught_up
    assert caught_up["feed"]["third_party"] == [] and caught_up["as_of"] == "2026-04"
    alerts = world.fed.node("bank").MonitorAlerts(
        node_pb2.MonitorAlertsRequest(kind="data_quality"), timeout=30
    )
    codes = [json.loads(a.body_json)["code"] for a in alerts.alerts]
    assert "FEED-STALE" in codes
    # typed in the bank's access log
    reader = LogReader.open(world.fed.root / "state" / "bank" / "audit")
    raised = [
        e for _, e in reader.search(SearchQuery()) if e.result == "alert raised: data_quality"
    ]
    assert any(e.details.get("code") == "FEED-STALE" for e in raised)


def test_alerts_reach_the_webhook_and_the_file(world: World) -> None:
    _walk(world)
    received = [a for body in world.hook.bodies for a in json.loads(body)["alerts"]]
    token = world.token(world.watched)
    assert any(a["kind"] == "level_change" and a["firm"] == token for a in received)
    assert any(a.get("code") == "FEED-STALE" for a in received)
    lines = (world.fed.root / "alerts.jsonl").read_text().splitlines()
    assert {json.loads(line)["alert_id"] for line in lines} >= {a["alert_id"] for a in received}
    reader = LogReader.open(world.fed.root / "state" / "bank" / "audit")
    changes = [
        e for _, e in reader.search(SearchQuery(subject=token)) if e.result == "level change"
    ]
    assert changes


def test_monitor_cli_lists_acts_and_refuses_bad_input(world: World) -> None:
    _walk(world)
    listed = json.loads(
        world.fed.cli(*world.desk("monitor", "watchlist", "--format", "json", "--limit", "100000"))
    )
    token = world.token(world.watched)
    mine = [e for e in listed["watchlist"] if e["firm"] == token]
    assert mine and "BANK-DPD30" in mine[0]["reasons"]
    alerts = json.loads(world.fed.cli(*world.desk("monitor", "alerts", "--format", "json")))
    alert = next(a for a in alerts if a.get("firm") == token)
    assert "acknowledged" in world.fed.cli(*world.desk("monitor", "ack", alert["alert_id"]))
    out = world.fed.cli(*world.desk("monitor", "act", alert["alert_id"], "inspection"))
    assert "inspection_scheduled" in out
    bad = CliRunner().invoke(app, world.desk("monitor", "act", alert["alert_id"], "write_off"))
    assert bad.exit_code != 0 and "unknown action" in bad.output and "Traceback" not in bad.output
    reader = LogReader.open(world.fed.root / "state" / "bank" / "audit")
    acted = [e for _, e in reader.search(SearchQuery(subject=token))
             if e.result == "alert action: inspection"]  # fmt: skip
    assert acted and acted[0].actor.role == "loan_officer"
    manual = json.loads(world.fed.cli(*world.desk("monitor", "refresh")))
    assert manual["as_of"] == "2026-04" and manual["book"] == len(world.codes)


def test_a_holder_offline_is_a_feed_alert_and_a_reason_never_a_silent_drop(world: World) -> None:
    _walk(world)
    world.fed.stop_party("government")
    try:
        result = json.loads(world.fed.cli(*world.desk("monitor", "refresh")))
    finally:
        world.fed.start_node("government")
        world.fed.wait_online(["government"])
    assert result["feed"]["government"] == ["FEED-UNAVAILABLE"], result
    assert result["gaps"]["government"] > 0
    # the watched borrower keeps its level (no step-down while a feed is out), and says why
    entry = world.entry(world.watched)
    assert entry["level"] != "green" and "NO-DATA-GOVERNMENT" in entry["reasons"]


def test_no_partner_value_or_code_leaves_in_alerts_logs_watchlist_or_relay(world: World) -> None:
    _walk(world)
    code = world.watched
    government = world.fed.full_panel("government")
    mine = government[(government["uscc"] == code) & (government["tax_paid"] > 0)]
    values = [f"{v:.2f}" for v in mine["tax_paid"]] + [f"{v:.1f}" for v in mine["electricity_kwh"]]
    needles = [code.encode(), *(v.encode() for v in values if len(v) >= 7)]
    assert len(needles) > 5
    places: list[Path] = [world.fed.root / "alerts.jsonl", *(world.fed.root / "logs").glob("*")]
    for party in ("bank", "coordinator"):
        places += [p for p in (world.fed.root / "state" / party).rglob("*") if p.is_file()]
    blobs = [(str(p), p.read_bytes()) for p in places]
    blobs += [("webhook", b"".join(world.hook.bodies))]
    listing = world.desk(
        "monitor", "watchlist", "--format", "json", "--min-level", "green", "--limit", "100000"
    )
    blobs += [("watchlist", world.fed.cli(*listing).encode())]
    for where, blob in blobs:
        for needle in needles:
            assert needle not in blob, (where, needle)
