"""Benchmark of the node's door: how long ``NodeGovernance.admit`` holds a call.

Before admitting a call the door makes sure the access monitor has read every entry the log
holds (containment acts on the call after the one that raised an alert). This measures what
that costs the calls of a bank's loan system scoring a book in batches of 5,000 firms: each
batch leaves three entries (the door's call entry, the score entry and the answer's release
entry, each release and score naming 5,000 firm tokens), on a log already holding
``--history`` such batches and ``--small`` ordinary calls, with the monitor's follower thread
running as in a node.

Two pacings: ``gap`` (the client spends ``--gap-ms`` writing the answer to its file before
the next call, as ``fedcredit decide batch`` does) and ``back-to-back`` (no gap: the door must
read the previous batch's entries itself, whoever does it). Reported per pacing: median and
p90 wall-clock ms inside ``admit`` on the request thread, and the process CPU seconds of the
whole run (request and follower threads).

Baseline (``door_reads``), same log, same calls, same threads: the door as it was, reading
every new entry itself on the request thread while the follower thread polls every 0.2 s.

Usage: ``python scripts/bench/door_catchup.py [--batches N] [--gap-ms G]``. The last line
printed is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit import AccessLog, Actor
from node.audit.entry import Action
from node.audit.sink import AuditSink
from node.governance.config import GovernanceConfig, MonitorSettings
from node.governance.monitor.follower import POLL_S, LogFollower
from node.governance.service import NodeGovernance
from node.transport.errors import ServiceError

FIRMS = 5000
NODE = Actor("bank-a", "bank", "bank")
LOANS = Actor("bank-a", "loans", "loan_system")
METHOD = "/fedcredit.v1.Node/DecideBatch"


class Caller:
    organization, node_id, role = LOANS.organization, LOANS.node, LOANS.role


def batch(sink: AuditSink, k: int) -> None:
    """The entries one DecideBatch of ``FIRMS`` applications leaves in the log."""
    tokens = tuple(f"ft:{(k * FIRMS + i) % 10**9:032x}" for i in range(FIRMS))
    sink.rpc(METHOD, LOANS, True, "")
    sink.subject_use(
        LOANS, Action.SCORE, "scoring", "decided", subjects=tokens,
        details={"decisions": FIRMS, "application": True},
    )  # fmt: skip
    sink.record(
        "release",
        {"purpose": "scoring", "dataset": "decisions", "rows": FIRMS, "sha256": "0" * 64,
         "release_id": f"{k:032x}", "query_digest": "q", "subjects": list(tokens)},
        actor=LOANS,
    )  # fmt: skip


class ReadingDoor(LogFollower):
    """The baseline: the door reads new entries itself; the thread polls every ``POLL_S``."""

    def catch_up(self) -> None:
        self.poll()

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            self.poll()


def run(gov: NodeGovernance, sink: AuditSink, first: int, n: int, gap_s: float) -> list[float]:
    held: list[float] = []
    for k in range(first, first + n):
        batch(sink, k)  # the previous call's entries are durable before its answer leaves
        if gap_s:
            time.sleep(gap_s)  # the client writes the answer to its file
        began = time.perf_counter()
        try:
            gov.admit(METHOD, Caller())
        except ServiceError as exc:
            raise SystemExit(f"the bench's loan system was contained: {exc}") from None
        held.append((time.perf_counter() - began) * 1000)
    return held


def measure(
    args: argparse.Namespace, settings: MonitorSettings, *, baseline: bool
) -> tuple[int, float, dict[str, dict[str, float]]]:
    """One door on a fresh log: (log size, warm-up seconds, figures per pacing)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log = AccessLog.open(root / "audit", Ed25519PrivateKey.generate(), NODE.node)
        sink = AuditSink(log, NODE)
        for k in range(args.history):
            batch(sink, k)
        for _ in range(args.small):
            sink.rpc("/fedcredit.v1.Node/GetCapabilities", LOANS, True, "")
        gov = NodeGovernance(
            GovernanceConfig(monitor=settings), root, os.urandom(32), log, sink.record,
            NODE.label(),
        )  # fmt: skip
        if baseline:
            gov.follower = ReadingDoor(log, gov.monitor, NODE.label())
        began = time.perf_counter()
        gov.start()
        warm_s = time.perf_counter() - began
        size = log.size()
        figures: dict[str, dict[str, float]] = {}
        first = args.history
        for name, gap in (("gap", args.gap_ms / 1000), ("back_to_back", 0.0)):
            cpu = time.process_time()
            held = run(gov, sink, first, args.batches, gap)
            first += args.batches
            figures[name] = {
                "median_ms": round(statistics.median(held), 2),
                "p90_ms": round(statistics.quantiles(held, n=10)[-1], 2),
                "cpu_s": round(time.process_time() - cpu, 2),
            }
        gov.stop()
        log.close()
    return size, warm_s, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--history", type=int, default=100, help="batches already in the log")
    parser.add_argument("--small", type=int, default=20_000, help="small calls already logged")
    parser.add_argument("--gap-ms", type=float, default=30.0)
    args = parser.parse_args()
    settings = MonitorSettings(
        enumeration_firms_per_hour=10**9, bulk_release_rows=10**9, burst_calls_per_minute=10**6
    )
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for door in ("door_reads", "follower_reads"):
        size, warm_s, figures[door] = measure(args, settings, baseline=door == "door_reads")
    print(f"log: {size} entries ({args.history} batches of {FIRMS} firms, {args.small} calls);"
          f" monitor warmed in {warm_s:.1f} s; load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"{'door':<16}{'pacing':<14}{'median ms':>11}{'p90 ms':>9}{'CPU s':>8}")
    for door, by_pacing in figures.items():
        for name, f in by_pacing.items():
            print(f"{door:<16}{name:<14}{f['median_ms']:>11.2f}{f['p90_ms']:>9.2f}"
                  f"{f['cpu_s']:>8.2f}")  # fmt: skip
    gap = {d: f["gap"]["median_ms"] for d, f in figures.items()}
    ratio = round(gap["door_reads"] / max(gap["follower_reads"], 0.01), 1)
    print(json.dumps({"log_entries": size, "batches": args.batches, "gap_ms": args.gap_ms,
                      "door": figures, "baseline": "door_reads", "gap_median_ratio": ratio,
                      "load_average": round(os.getloadavg()[0], 2)}))  # fmt: skip


if __name__ == "__main__":
    main()
