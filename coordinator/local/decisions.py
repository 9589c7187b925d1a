"""The demo's last step: deploy the trained vertical model and decide a few loan applications.

Each node deploys its own part of the job (as ``fedcredit models deploy`` does), the bank
registers three firms' loan-approval authorizations with the holders, and a loan officer's
certificate asks the bank's node for three decisions through ``Decide``, sealed to the
holders through the coordinator like any real one (docs/scoring.md).
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.table import Table

from coordinator.local.federation import LocalFederation
from coordinator.local.lending import BANK, authorize, book_codes, deploy_parts, loan_desk
from protos.fedcredit.v1 import node_pb2, node_pb2_grpc

APPLICANTS = 3


def demo_decisions(fed: LocalFederation, job_id: str, console: Console) -> list[dict[str, Any]]:
    """Deploy ``job_id`` at every node and decide a few applications; one row per decision."""
    console.rule("loan decisions")
    for node_id, deployed in zip(fed.node_ports, deploy_parts(fed, job_id, "sme-pd"), strict=True):
        console.print(f"{node_id}: deployed {deployed.label()} ({deployed.kind})")
    codes = book_codes(fed)[-APPLICANTS:]
    channel = loan_desk(fed)
    desk = node_pb2_grpc.NodeStub(channel)
    holders = [p.node_id for p in fed.parties if p.node_id != BANK]
    authorize(desk, codes, "loan_approval", holders, days=90, timeout=30)
    rows = []
    shown = Table("application", "decision", "PD", "points", "limit", "reasons", "gaps", "ms")
    for k, code in enumerate(codes):
        started = time.perf_counter()
        answer = desk.Decide(
            node_pb2.DecideRequest(
                uscc=code, application_ref=f"DEMO-{k + 1}", amount=500_000, term_months=12
            ),
            timeout=30,
        )
        ms = (time.perf_counter() - started) * 1000
        reasons = ", ".join(r.code for r in answer.reasons)
        gaps = ", ".join(f"{g.party}: {g.reason}" for g in answer.gaps) or "-"
        shown.add_row(
            answer.application_ref, answer.decision, f"{answer.pd:.3f}", f"{answer.points:.0f}",
            f"{answer.suggested_limit:,.0f}", reasons, gaps, f"{ms:.0f}",
        )  # fmt: skip
        rows.append(
            {"ref": answer.application_ref, "decision": answer.decision, "pd": answer.pd,
             "record": answer.record_id, "versions": dict(answer.versions)}
        )  # fmt: skip
    channel.close()
    console.print(shown)
    return rows
