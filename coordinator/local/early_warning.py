"""The demo's early-warning step: the bank watches its book with the federated warning model.

The demo's clock stands at ``OBSERVED``: every node serves its monthly panel through that
month. Before the nodes start, each writes its early-warning table for the cut-off months
``CUTOFFS`` (those whose 6-month outcome the bank has seen by then, so no label looks past
the demo's present); ``scripts/jobs/early_warning.yaml`` trains the model on them as an
ordinary federated job. After it, where the federated model beats the bank alone on the job's
own figures (the deployment rule ``fedcredit models deploy`` applies, docs/early-warning.md),
each party deploys its part as ``sme-ew``, the bank registers every borrower's
post-loan-monitoring authorization with the holders, and a loan officer runs one refresh of
the whole book as of ``OBSERVED`` through the bank's node (``MonitorRefresh``, as ``fedcredit
monitor refresh`` does) and reads the watch list: levels, coded reasons and PDs, never a
partner's value. The alerts the refresh raised go to a file sink in the workdir.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.table import Table

from coordinator.local.federation import LocalFederation
from coordinator.local.lending import BANK, authorize, book_codes, deploy_parts, loan_desk
from coordinator.local.monitoring import (
    HORIZON,
    PANELS,
    SHIPPED_POLICY,
    BankWatch,
    publish,
    table_name,
    write_tables,
)
from node.monitoring.deployment import NoGainOverBankAlone, Yardstick, check_deployment
from node.monitoring.policy import LEVELS
from node.runtime.config import load_node_config
from protos.fedcredit.v1 import node_pb2, node_pb2_grpc

JOB: Final = "early_warning"  # the demo job (scripts/jobs/early_warning.yaml) it follows
MODEL: Final = "sme-ew"  # the name the shipped monitoring policy scores with
OBSERVED: Final = "2026-06"  # the demo's present: the refresh month, the panels' last month
CUTOFFS: Final = ("2025-10", "2025-12")  # first and last cut-off: each + 6 months <= OBSERVED
SHOWN: Final = 3  # watch-list rows printed per level (summary.json keeps up to SUMMARY_ROWS)
SUMMARY_ROWS: Final = 50
ALERT_FILE: Final = "alerts.jsonl"


def bank_watch(root: Path) -> BankWatch:
    """The demo bank's settings: a copy of the shipped policy in the workdir's config folder
    (so ``fedcredit monitor review-flags --write`` on the demo rewrites the copy, never the
    repository's file), alerts to a JSON-lines file in the workdir, refreshes on request
    only (the demo runs one)."""
    policy = root / "config" / SHIPPED_POLICY.name
    policy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHIPPED_POLICY, policy)
    return BankWatch(policy=policy, sinks=[{"file": str(root.resolve() / ALERT_FILE)}])


def prepare(fed: LocalFederation) -> None:
    """Publish every panel through ``OBSERVED`` and have each node write its table (before
    the nodes start: they serve the tables from then on)."""
    for node_id in PANELS:
        publish(fed, node_id, OBSERVED)
    write_tables(fed, *CUTOFFS)


def describe() -> str:
    first, last = CUTOFFS
    return (
        f"early-warning model: vertical_lr (scripts/jobs/{JOB}.yaml) on the bank's borrowers at "
        f"cut-off months {first} to {last}, label: default within {HORIZON} months, 3 epochs, "
        "a 1024-bit demo key (the product default is 2048)"
    )


def watch_book(fed: LocalFederation, job_id: str, console: Console) -> dict[str, Any]:
    """Deploy ``job_id`` as ``sme-ew``, authorize the book's monitoring, refresh it as of
    ``OBSERVED``; print and return the watch list with counts and alerts."""
    console.rule("early warning")
    console.print(describe(), highlight=False)
    holders = [p.node_id for p in fed.parties if p.node_id != BANK]
    bank_state = load_node_config(fed.root / "config" / f"{BANK}.yaml").state_dir
    try:
        found = check_deployment(bank_state, job_id, MODEL)  # as `models deploy` checks
    except NoGainOverBankAlone as refused:
        return own_model_stays(refused.yardstick, console)
    console.print(f"beats the bank alone: {found.describe()}", highlight=False)
    deployed = deploy_parts(fed, job_id, MODEL, dataset=table_name, nodes=[*holders, BANK])
    console.print(f"deployed {deployed[-1].label()} at {', '.join([*holders, BANK])}")
    codes = book_codes(fed)
    with loan_desk(fed) as channel:
        desk = node_pb2_grpc.NodeStub(channel)
        ack = authorize(desk, codes, "post_loan_monitoring", holders, days=365)
        stored = ", ".join(f"{h}: {v}" for h, v in sorted(ack.holders.items()))
        console.print(f"post-loan monitoring authorized for {len(codes):,} borrowers ({stored})")
        refreshed = desk.MonitorRefresh(node_pb2.MonitorRefreshRequest(as_of=OBSERVED), timeout=600)
        result = json.loads(refreshed.result_json)
        listed = desk.MonitorWatchlist(
            node_pb2.MonitorWatchlistRequest(min_level="yellow", limit=len(codes)), timeout=60
        )
    rows: list[dict[str, Any]] = [
        {"ref": e.ref, "level": e.level, "pd": round(e.pd, 4), "class": e.category,
         "since": e.since, "reasons": list(e.reasons)}
        for e in listed.entries
    ]  # fmt: skip
    counts = {level: int(listed.levels.get(level, 0)) for level in LEVELS}
    alert_file = fed.root / ALERT_FILE
    in_file = len(alert_file.read_text().splitlines()) if alert_file.exists() else 0
    print_watchlist(rows, counts, result, console)
    console.print(
        f"alerts raised: {_counted(result['alerts'])}; {in_file:,} in {alert_file}", highlight=False
    )
    reasons = Counter(code for row in rows for code in row["reasons"])
    return {
        "deployed": True,
        "as_of": result["as_of"],
        "model": deployed[-1].label(),
        "training": describe(),
        "book": result["book"],
        "levels": counts,
        "listed": len(rows),
        "reasons": dict(reasons.most_common()),
        "alerts": result["alerts"],
        "alert_file": str(alert_file),
        "alerts_in_file": in_file,
        "feed": result["feed"],
        "refresh_s": result["seconds"],
        "watchlist": rows[:SUMMARY_ROWS],
    }


def own_model_stays(found: Yardstick, console: Console) -> dict[str, Any]:
    """The deployment rule's verdict (on the figures ``found``) where the warning model does
    not beat the bank alone: nothing deployed, no watch list (the bank's own model keeps
    scoring the book); an outcome of the demo's data, not a failure of the run."""
    console.print(f"does not beat the bank alone: {found.describe()}", highlight=False)
    console.print(
        f"[yellow]watch list skipped: {MODEL} not deployed, the bank's own model keeps scoring "
        "the book (the deployment rule, docs/early-warning.md)[/yellow]",
        highlight=False,
    )
    return {
        "deployed": False,
        "verdict": found.describe(),
        "federated_auc": found.federated_auc,
        "bank_only_auc": found.bank_only_auc,
        "training": describe(),
    }


def print_watchlist(
    rows: list[dict[str, Any]], counts: dict[str, int], result: dict[str, Any], console: Console
) -> None:
    issues = [f"{h}: {', '.join(c)}" for h, c in result["feed"].items() if c]
    console.print(
        f"refresh as of {result['as_of']}: {result['book']:,} borrowers in "
        f"{result['seconds']:.1f}s, feeds {'; '.join(issues) or 'healthy'}",
        highlight=False,
    )
    table = Table("borrower", "level", "PD", "class", "reasons (coded)")
    shown = [row for level in reversed(LEVELS) for row in
             [r for r in rows if r["level"] == level][:SHOWN]]  # fmt: skip
    for row in shown:
        table.add_row(row["ref"], row["level"], f"{row['pd']:.3f}", row["class"],
                      " ".join(row["reasons"]))  # fmt: skip
    console.print(table)
    book = sum(counts.values()) or 1
    console.print(
        f"watch list: {len(rows):,} of {book:,} borrowers ({len(rows) / book:.1%}), above the "
        f"{SHOWN} with the highest PD of each level; whole book: "
        + ", ".join(f"{level} {n:,}" for level, n in counts.items()),
        highlight=False,
    )


def summary_line(watched: dict[str, Any]) -> str:
    """One line for the run's summary: the watch list as of the refresh, by level (or why
    there is none)."""
    if not watched["deployed"]:
        return f"early warning: {MODEL} not deployed, watch list skipped ({watched['verdict']})"
    levels = ", ".join(f"{level} {watched['levels'][level]:,}" for level in reversed(LEVELS[1:]))
    return (
        f"early warning as of {watched['as_of']}: {watched['listed']:,} of {watched['book']:,} "
        f"borrowers on the watch list ({levels}); {watched['alerts_in_file']:,} alerts in "
        f"{watched['alert_file']}"
    )


def _counted(alerts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {kind.replace('_', ' ')}" for kind, n in alerts.items())
