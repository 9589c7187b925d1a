"""Post-loan monitoring across real node processes over loopback mTLS, month by month.

The early-warning model is trained as a real ``vertical_lr`` job on the tables each node
writes from its own panel (``fedcredit monitor table``), deployed at every node, and the
bank's scheduler refreshes the book whenever a panel moves on: a new month at the bank, or a
holder's panel version changing (learnt with the sealed ``monitor_status`` probe). Every
party runs under ``tests.node.monitoring.wiretap``, so the last test can read what the
coordinator relayed and what each node opened.

The story, in phases each test brings about as far as it needs (``World.walk`` ..):

- ``walk``: months 2026-01 to 2026-04; the watched borrower stops paying tax from 2026-02
  (its government signals turn) and is 45 days overdue from 2026-04 (its bank signals turn);
  the third party's 2026-04 arrives late (a stale feed, then a refresh on the late panel);
- ``broken_month``: 2026-05; the government first publishes a file that does not load (its
  node keeps serving 2026-04: a stale feed), then the corrected one (a refresh on it);
- ``offline``: the government's node stops; a refresh then runs without it, and once it is
  back the scheduler refreshes on its feed returning.

Each phase publishes the holders' months first and waits until the bank has refreshed on
exactly those panel versions, then publishes the bank's month: so every refresh the tests
look at has one known trigger, however the machine's load delays the scheduler.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from coordinator.local.monitoring import PANELS, SECTIONS, full_panel, publish
from node.audit.reader import LogReader
from node.audit.search import SearchQuery
from node.cli.app import app
from node.monitoring.feed import FeedReport
from node.monitoring.holder import panel_version
from node.monitoring.panel import PanelCube
from node.monitoring.signals import compute_signals
from node.runtime.secrets import node_secret
from node.scoring.lending import subject_tokenizer
from protos.fedcredit.v1 import node_pb2
from tests.node.monitoring.federation import (
    EW_JOB,
    HOLDERS,
    MonitoringFederation,
    Receiver,
    monitoring_federation,
    train_and_deploy,
)

# On the shared 2-core machine under a load average of ~16 (2026-11): setup (tables, four
# processes, the training job) ~70 s, the walk ~12 s, the offline phase (a node restart)
# ~13 s, the module ~2 minutes; the project's 300 s per test leaves room for heavier load.
pytestmark = [pytest.mark.slow]
WALK = ("2026-01", "2026-02", "2026-03", "2026-04")
CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,40}$")
NUMBER = re.compile(rb"-?\d+\.\d+(?:e[-+]?\d+)?")


class World:
    """The running federation, its panels as published, and what the phases observed."""

    def __init__(self, fed: MonitoringFederation, codes: list[str], hook: type[Receiver]) -> None:
        self.fed = fed
        self.codes = codes
        self.hook = hook
        self.panels = {node: full_panel(fed, node) for node in PANELS}
        self.versions: dict[str, str] = {}  # each holder's panel version in service
        self.month = "2025-12"  # the bank's latest month
        self.watched = ""  # the borrower whose government signals turn
        self.levels: dict[str, dict[str, Any]] = {}  # the watched borrower at each month
        self.seen: dict[str, dict[str, Any]] = {}  # refreshes the phases waited for, by name
        self.phases: set[str] = set()

    # the bank's view -------------------------------------------------------------------

    def token(self, code: str) -> str:
        return subject_tokenizer(node_secret(self.fed.root / "state" / "bank")).token(code)

    def desk(self, *args: str, as_: str = "loan-desk") -> list[str]:
        address = f"127.0.0.1:{self.fed.node_ports['bank']}"
        return [*args, "--node", address, "--node-id", "bank", "--certs", str(self.fed.certs),
                "--as", as_]  # fmt: skip

    def refreshes(self) -> list[dict[str, Any]]:
        path = self.fed.root / "state" / "bank" / "monitoring" / "watch.sqlite"
        if not path.exists():
            return []
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT body FROM refreshes ORDER BY started").fetchall()
        return [json.loads(r[0]) for r in rows]

    def entry(self, code: str) -> dict[str, Any]:
        request = node_pb2.MonitorWatchlistRequest(min_level="green", limit=100_000)
        response = self.fed.node("bank").MonitorWatchlist(request, timeout=60)
        found = [e for e in response.entries if e.firm == self.token(code)]
        assert found, "the borrower is not in the bank's monitoring store"
        e = found[0]
        return {"level": e.level, "reasons": list(e.reasons), "as_of": e.as_of, "pd": e.pd}

    def audit(self, subject: str = "") -> list[Any]:
        reader = LogReader.open(self.fed.root / "state" / "bank" / "audit")
        return [e for _, e in reader.search(SearchQuery(subject=subject or None))]

    # publishing and waiting ------------------------------------------------------------

    def publish(self, node: str, through: str, broken: bool = False) -> None:
        """Publish ``node``'s panel through a month; a ``broken`` file does not load (a
        figure holds text), so the node keeps its last good panel and version."""
        frame = self.panels[node]
        if broken:
            frame = frame.astype({"tax_paid": object})
            frame.loc[frame.index[0], "tax_paid"] = "twelve"
        publish(self.fed, node, through, frame)
        if node == "bank":
            self.month = through
        elif not broken:
            live = self.fed.root / "live" / f"{PANELS[node]}.csv"
            stat = live.stat()
            self.versions[node] = panel_version(through, (stat.st_mtime_ns, stat.st_size))

    def settle(self, since: int, timeout: float = 240.0) -> dict[str, Any]:
        """The first refresh after the ``since``-th that ran as of the bank's latest month
        on exactly the holders' panel versions in service."""
        want = {h: self.versions[h] for h in HOLDERS}
        return self.wait(since, lambda r: r["as_of"] == self.month and r["versions"] == want,
                         timeout)  # fmt: skip

    def wait(
        self, since: int, match: Callable[[dict[str, Any]], bool], timeout: float = 240.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in self.refreshes()[since:] if match(r)]
            if found:
                return found[0]
            time.sleep(0.5)
        raise AssertionError(f"no matching refresh after #{since} within {timeout}s")

    def step(self, name: str, node: str, through: str, broken: bool = False) -> dict[str, Any]:
        """Publish one panel and return the refresh the bank ran on it."""
        since = len(self.refreshes())
        self.publish(node, through, broken)
        self.seen[name] = self.settle(since)
        return self.seen[name]

    # the phases ------------------------------------------------------------------------

    def walk(self) -> None:
        if "walk" in self.phases:
            return
        self.phases.add("walk")
        government, bank = self.panels["government"], self.panels["bank"]
        held = set(government["uscc"]) & set(bank["uscc"]) & set(self.panels["third_party"]["uscc"])
        request = node_pb2.MonitorWatchlistRequest(min_level="green", limit=100_000)
        book = self.fed.node("bank").MonitorWatchlist(request, timeout=60).entries
        by_token = {self.token(c): c for c in held}
        clean = bank.groupby("uscc")["overdue_days"].max() == 0
        calm = [
            (e.pd, by_token[e.firm])
            for e in book
            if e.level == "green" and e.firm in by_token and clean.get(by_token[e.firm])
        ]
        self.watched = min(calm)[1]  # the least risky: nothing else lists it early
        turned = (government["uscc"] == self.watched) & (government["month"] >= "2026-02-01")
        government.loc[turned, "tax_paid"] = 0.0
        overdue = (bank["uscc"] == self.watched) & (bank["month"] >= "2026-04-01")
        bank.loc[overdue, "overdue_days"] = 45
        for month in WALK:
            late = month == "2026-04"
            self.publish("government", month)
            self.step(f"holders {month}", "third_party", "2026-03" if late else month)
            self.step(f"bank {month}", "bank", month)
            self.levels[month] = self.entry(self.watched)
        self.step("late third party", "third_party", "2026-04")

    def broken_month(self) -> None:
        self.walk()
        if "broken" in self.phases:
            return
        self.phases.add("broken")
        self.publish("government", "2026-05", broken=True)
        self.step("holders 2026-05", "third_party", "2026-05")
        self.step("bank 2026-05", "bank", "2026-05")
        self.step("government corrected", "government", "2026-05")

    def offline(self) -> None:
        self.broken_month()
        if "offline" in self.phases:
            return
        self.phases.add("offline")
        self.fed.stop_party("government")
        try:
            self.seen["offline"] = json.loads(self.fed.cli(*self.desk("monitor", "refresh")))
            self.levels["offline"] = self.entry(self.watched)
        finally:
            since = len(self.refreshes())
            self.fed.start_node("government")
            self.fed.wait_online(["government"])
        self.seen["back"] = self.settle(since)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("monitoring")
    hook = type("Hook", (Receiver,), {"bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sinks: list[dict[str, object]] = [
        {"webhook": f"http://127.0.0.1:{server.server_address[1]}/alerts"},
        {"file": str(root / "alerts.jsonl")},
    ]
    fed, codes = monitoring_federation(root, sinks)
    try:
        train_and_deploy(fed, codes, EW_JOB)
        w = World(fed, codes, hook)
        for holder in HOLDERS:
            live = root / "live" / f"{PANELS[holder]}.csv"
            w.versions[holder] = panel_version("2025-12", (live.stat().st_mtime_ns,
                                                           live.stat().st_size))  # fmt: skip
        w.seen["first"] = w.settle(0)
        yield w
    finally:
        fed.stop()
        server.shutdown()
        server.server_close()


def test_government_signals_flag_a_borrower_before_its_bank_signals(world: World) -> None:
    world.walk()
    assert world.seen["first"]["trigger"] == "first refresh"
    listed = [m for m in WALK if world.levels[m]["level"] != "green"]
    bank_turned = [m for m in WALK if "BANK-DPD30" in world.levels[m]["reasons"]]
    assert bank_turned == ["2026-04"], world.levels
    assert listed and listed[0] < bank_turned[0], world.levels
    assert any(r.startswith("GOV-") for r in world.levels[listed[0]]["reasons"]), world.levels
    # the holders' new months were refreshed on as they came (the monitor_status probe),
    # then each bank month on its own
    for month in WALK:
        assert world.seen[f"holders {month}"]["trigger"].startswith("panel changed at ")
        assert world.seen[f"bank {month}"]["trigger"] == f"new month {month}"


def test_a_stale_feed_is_an_alert_then_a_late_panel_triggers_a_refresh(world: World) -> None:
    world.walk()
    stale, caught_up = world.seen["bank 2026-04"], world.seen["late third party"]
    assert stale["feed"] == {"government": [], "third_party": ["FEED-STALE"]}, stale["feed"]
    assert caught_up["trigger"] == "panel changed at third_party", caught_up
    assert caught_up["feed"] == {"government": [], "third_party": []}
    assert caught_up["as_of"] == "2026-04"
    # the walk's healthy feeds raise no data-quality alert at all (a seasonal swing of a
    # change signal is no jump)
    healthy = ["first", *(f"holders {m}" for m in WALK), *(f"bank {m}" for m in WALK[:-1]),
               "late third party"]  # fmt: skip
    walk = [world.seen[name] for name in healthy]
    assert all(not any(r["feed"].values()) for r in walk), [r["feed"] for r in walk]
    walked = {r["refresh_id"] for r in (*walk, stale, caught_up)}
    alerts = world.fed.node("bank").MonitorAlerts(
        node_pb2.MonitorAlertsRequest(kind="data_quality"), timeout=30
    )
    bodies = [json.loads(a.body_json) for a in alerts.alerts]
    assert [b["code"] for b in bodies if b["refresh_id"] in walked] == ["FEED-STALE"]
    # typed in the bank's access log, naming the holder, not a firm
    raised = [e for e in world.audit() if e.result == "alert raised: data_quality"
              and e.details["refresh"] in walked]  # fmt: skip
    assert [(e.details["code"], e.details["about"]) for e in raised] == [
        ("FEED-STALE", "third_party")
    ]
    assert raised[0].details["refresh"] == stale["refresh_id"] and not raised[0].subjects


def test_a_panel_file_that_does_not_load_leaves_the_last_good_one_in_service(
    world: World,
) -> None:
    world.broken_month()
    before, stale = world.seen["holders 2026-05"], world.seen["bank 2026-05"]
    corrected = world.seen["government corrected"]
    # the broken file changed nothing the bank could see: the government kept 2026-04
    assert before["trigger"] == "panel changed at third_party"
    assert before["versions"]["government"].startswith("2026-04/")
    assert stale["feed"] == {"government": ["FEED-STALE"], "third_party": []}
    # the corrected file is picked up live, and the probe triggers a refresh on it
    assert corrected["trigger"] == "panel changed at government"
    assert corrected["feed"] == {"government": [], "third_party": []}
    assert corrected["versions"]["government"].startswith("2026-05/")
    log = (world.fed.root / "logs" / "government.log").read_text()
    assert log.count("does not load, serving the last good one") == 1  # said once, not per probe


def test_alerts_reach_the_webhook_and_the_file_and_the_log_types_them(world: World) -> None:
    world.walk()
    received = [a for body in world.hook.bodies for a in json.loads(body)["alerts"]]
    token = world.token(world.watched)
    mine = [a for a in received if a["kind"] == "level_change" and a["firm"] == token]
    assert mine and mine[0]["from_level"] == "green"
    assert any(a.get("code") == "FEED-STALE" for a in received)
    lines = (world.fed.root / "alerts.jsonl").read_text().splitlines()
    assert {json.loads(line)["alert_id"] for line in lines} >= {a["alert_id"] for a in received}
    # one typed entry per refresh that changed levels, naming every borrower by token and
    # counting each transition
    changes = [e for e in world.audit(token) if e.result == "level change"]
    assert changes and changes[0].details["as_of"] == mine[0]["as_of"]
    step = f"{mine[0]['from_level']}>{mine[0]['to_level']}"
    assert changes[0].details[step] >= 1 and token in changes[0].subjects


def test_monitor_cli_lists_acts_and_refuses_bad_input(world: World) -> None:
    world.walk()
    listed = json.loads(
        world.fed.cli(*world.desk("monitor", "watchlist", "--format", "json", "--limit", "100000"))
    )
    token = world.token(world.watched)
    mine = [e for e in listed["watchlist"] if e["firm"] == token]
    assert mine and "BANK-DPD30" in mine[0]["reasons"] and mine[0]["level"] == "red"
    alerts = json.loads(world.fed.cli(*world.desk("monitor", "alerts", "--format", "json")))
    alert = next(a for a in alerts if a.get("firm") == token)
    assert "acknowledged" in world.fed.cli(*world.desk("monitor", "ack", alert["alert_id"]))
    out = world.fed.cli(*world.desk("monitor", "act", alert["alert_id"], "inspection"))
    assert "inspection_scheduled" in out
    acted = [e for e in world.audit(token) if e.result == "alert action: inspection"]
    assert acted and acted[0].actor.role == "loan_officer"
    assert acted[0].details == {"alert_id": alert["alert_id"], "state": "inspection_scheduled"}
    manual = json.loads(world.fed.cli(*world.desk("monitor", "refresh")))
    assert manual["as_of"] == world.month and manual["book"] == len(world.codes)
    # bad input: one clear line each, no traceback, nothing changed
    runner = CliRunner()
    for args, said in [
        (("monitor", "act", alert["alert_id"], "write_off"), "unknown action"),
        (("monitor", "act", alert["alert_id"], "acknowledge"), "inspection_scheduled"),
        (("monitor", "ack", "alert-0000000000000000"), "list the alerts"),
        (("monitor", "watchlist", "--min-level", "purple"), "min_level"),
        (("monitor", "refresh", "--as-of", "2026-13"), "not a month"),
        (("monitor", "refresh", "--as-of", "2027-01"), "after the bank's latest panel month"),
    ]:
        bad = runner.invoke(app, world.desk(*args))
        assert bad.exit_code != 0 and said in bad.output, (args, bad.output)
        assert "Traceback" not in bad.output and len(bad.output.strip().splitlines()) == 1
    stored = world.fed.node("bank").MonitorAlerts(node_pb2.MonitorAlertsRequest(), timeout=30)
    state = {a.alert_id: a.state for a in stored.alerts}
    assert state[alert["alert_id"]] == "inspection_scheduled"


def test_a_holder_offline_is_a_feed_alert_and_a_reason_never_a_silent_drop(world: World) -> None:
    world.offline()
    result = world.seen["offline"]
    assert result["feed"]["government"] == ["FEED-UNAVAILABLE"], result
    assert result["gaps"]["government"] > 0
    # the watched borrower keeps its level (no step-down while a feed is out), and says why
    assert world.levels["offline"]["level"] == "red"
    assert "NO-DATA-GOVERNMENT" in world.levels["offline"]["reasons"]
    # back online, the scheduler refreshes on its feed returning, and the gap is gone
    back = world.seen["back"]
    assert back["trigger"] == "feed back from government" and back["gaps"]["government"] == 0
    assert "NO-DATA-GOVERNMENT" not in world.entry(world.watched)["reasons"]


def test_a_failure_keeping_the_flags_loses_no_alert(world: World) -> None:
    """The month's flags are kept for ``review-flags`` after its alerts are stored and
    delivered: where keeping them fails (here SQLite refuses the write), the refresh's
    alerts are stored and sent all the same, and a refresh of the month again keeps them."""
    # prepare: the store refuses every flag-month write from now on
    world.offline()
    path = world.fed.root / "state" / "bank" / "monitoring" / "watch.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TRIGGER refuse_flags BEFORE INSERT ON flag_months "
            "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
        )
    try:
        # execute: the bank's 2026-06 ahead of the holders' 2026-05 (stale feeds: alerts)
        result = world.step("flags refused", "bank", "2026-06")
    finally:
        with sqlite3.connect(path) as db:
            db.execute("DROP TRIGGER refuse_flags")
    # assert: the refresh ran and every alert it raised is stored and in the file sink
    assert sum(result["alerts"].values()) > 0, result
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        stored = {
            r[0]
            for r in db.execute(
                "SELECT alert_id FROM alerts WHERE refresh_id = ?", (result["refresh_id"],)
            )
        }
        kept = {r[0] for r in db.execute("SELECT month FROM flag_months")}
    assert len(stored) == sum(result["alerts"].values())
    lines = (world.fed.root / "alerts.jsonl").read_text().splitlines()
    assert stored <= {json.loads(line)["alert_id"] for line in lines}
    assert "2026-06" not in kept and "2026-05" in kept
    # execute: the month refreshed again, the store accepting writes
    json.loads(world.fed.cli(*world.desk("monitor", "refresh")))
    # assert: its flags are kept now
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        assert db.execute("SELECT 1 FROM flag_months WHERE month = '2026-06'").fetchone()


# the leak scan ---------------------------------------------------------------------------


def _partner_values(world: World, firms: list[str]) -> set[bytes]:
    """What the bank must never learn of ``firms``: the holders' figures as their files
    hold them, and the signals computed from them, as the text a leak would carry."""
    out: set[bytes] = set()
    for holder in HOLDERS:
        live = world.fed.root / "live" / f"{PANELS[holder]}.csv"
        raw = pd.read_csv(live, dtype=str)
        mine = raw[raw["uscc"].isin(firms)].drop(columns=["uscc", "month"])
        out |= {v.encode() for v in mine.to_numpy().ravel() if isinstance(v, str)}
        panel = pd.read_csv(live, dtype={"uscc": str})
        figures = [c for c in panel.columns if c not in ("uscc", "month")]
        kinds = {f: SECTIONS[holder].get("figures", {}).get(f, "amount") for f in figures}
        cube = PanelCube.from_frame(panel, "uscc", "month", figures)
        rows = [cube.codes.index(c) for c in firms if c in cube.codes]
        for month in cube.months[-6:]:
            signals = compute_signals(cube, rows, month, kinds).to_numpy().ravel()
            out |= {repr(float(v)).encode() for v in signals if np.isfinite(v)}
    # values short enough to turn up by chance (0.0, 12.0, 1.5) say nothing
    return {v for v in out if len(v.lstrip(b"-").replace(b".", b"")) >= 6}


def _leaks(blob: bytes, codes: list[bytes], values: set[bytes]) -> list[bytes]:
    found = [c for c in codes if c in blob]
    return found + sorted(set(NUMBER.findall(blob)) & values)


def _opened(world: World, party: str) -> list[dict[str, Any]]:
    path = world.fed.root / "wire" / f"{party}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_no_partner_value_or_code_leaves_in_stores_logs_sinks_watchlist_or_wire(
    world: World,
) -> None:
    world.offline()
    rng = np.random.default_rng(0)
    sample = [world.watched, *rng.choice(sorted(set(world.codes) - {world.watched}), 25)]
    values = _partner_values(world, sample)
    codes = [c.encode() for c in world.codes]
    # the scan finds what it looks for where it is: in the holders' own panels
    for holder in HOLDERS:
        own = (world.fed.root / "live" / f"{PANELS[holder]}.csv").read_bytes()
        assert len(_leaks(own, codes, values)) > 100, holder
    # at rest: the bank's and the coordinator's state, every process's log, both sinks and
    # what the loan desk reads
    places: list[Path] = [world.fed.root / "alerts.jsonl", *(world.fed.root / "logs").glob("*")]
    for party in ("bank", "coordinator"):
        places += [p for p in (world.fed.root / "state" / party).rglob("*") if p.is_file()]
    blobs = [(str(p), p.read_bytes()) for p in places]
    blobs += [("webhook", b"\n".join(world.hook.bodies))]
    listing = world.desk(
        "monitor", "watchlist", "--format", "json", "--min-level", "green", "--limit", "100000"
    )
    blobs += [("watchlist", world.fed.cli(*listing).encode())]
    blobs += [("alerts", world.fed.cli(*world.desk("monitor", "alerts", "--format", "json",
                                                   "--limit", "100000")).encode())]  # fmt: skip
    for where, blob in blobs:
        assert not _leaks(blob, codes, values), where
    # on the wire, as the coordinator relays it: sealed envelopes between the bank and each
    # holder, whose route is all it reads
    relayed = _opened(world, "coordinator")
    routes = {(e["from"], e["to"]) for e in relayed}
    assert {("bank", h) for h in HOLDERS} | {(h, "bank") for h in HOLDERS} <= routes
    for e in relayed:
        sealed = base64.b64decode(e["sealed"])
        assert b'"v":' not in sealed and not _leaks(sealed, codes, values), e["from"]
    # opened by the holders: firms by pair pseudonym only
    asked = [e for h in HOLDERS for e in _opened(world, h) if e["topic"].startswith("monitor")]
    assert {e["topic"] for e in asked} == {"monitor", "monitor_end", "monitor_status"}
    for e in asked:
        payload = json.loads(e["payload"])
        assert set(payload) <= {"v", "id", "refresh", "as_of", "model", "job", "firms", "chunks"}
        assert not set(payload.get("firms", [])) & set(world.codes)
        assert not _leaks(e["payload"].encode(), codes, values)
    # opened by the bank: partial log-odds, coded reasons and flags, counts and PSI figures
    answers = [json.loads(e["payload"]) for e in _opened(world, "bank")
               if e["topic"] == "monitored"]  # fmt: skip
    kinds = {frozenset(a) for a in answers if not a["error"]}
    assert kinds == {
        frozenset({"v", "id", "error", "version", "status", "score", "reasons", "flags"}),
        frozenset({"v", "id", "error", "feed"}),
        frozenset({"v", "id", "error", "latest_month", "version"}),  # the status probe
    }
    prefixes = ("GOV-", "TP-")
    for a in answers:
        if "status" in a:
            assert set(a["status"]) <= {"ok", "no_record", "unauthorized"}
            assert all(isinstance(s, float | int) and np.isfinite(s) for s in a["score"])
            coded = [c for firm in (*a["reasons"], *a["flags"]) for c in firm]
            assert all(CODE.match(c) and c.startswith(prefixes) for c in coded), coded
        if "feed" in a:
            report = FeedReport.from_dict(a["feed"])
            assert report.to_dict() == a["feed"]  # nothing beyond the report's fields
        assert not _leaks(json.dumps(a).encode(), codes, values)
