"""The demo's last step: deploy the trained vertical model and decide a few loan applications.

Each node deploys its own part of the job (as ``fedcredit models deploy`` does), the bank
registers three firms' loan-approval authorizations with the holders, and a loan officer's
certificate asks the bank's node for three decisions through ``Decide``, sealed to the
holders through the coordinator like any real one (docs/scoring.md).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from coordinator.local.federation import LocalFederation
from node.data.datasets import NodeDatasets
from node.models.deploy import deploy_job
from node.pki import issue_certificate
from node.runtime.config import load_node_config
from node.transport.client import open_channel
from protos.fedcredit.v1 import node_pb2, node_pb2_grpc

APPLICANTS = 3
DESK = "demo-loan-desk"


def demo_decisions(fed: LocalFederation, job_id: str, console: Console) -> list[dict[str, Any]]:
    """Deploy ``job_id`` at every node and decide a few applications; one row per decision."""
    console.rule("loan decisions")
    for node_id in fed.node_ports:
        config = load_node_config(fed.root / "config" / f"{node_id}.yaml")
        deployed = deploy_job(config.state_dir, NodeDatasets(config.datasets), job_id)
        console.print(f"{node_id}: deployed {deployed.label()} ({deployed.kind})")
    bank = fed.root / "config" / "bank.yaml"
    table = NodeDatasets(load_node_config(bank).datasets).get("bank").frame
    codes = table["uscc"].astype(str).tolist()[-APPLICANTS:]
    bank_org = next(p.organization for p in fed.parties if p.node_id == "bank")
    if not (fed.certs / f"{DESK}.crt").exists():
        issue_certificate(fed.certs, DESK, role="loan_officer", organization=bank_org)
    channel = open_channel(f"127.0.0.1:{fed.node_ports['bank']}", fed.certs, DESK, peer="bank")
    desk = node_pb2_grpc.NodeStub(channel)
    holders = [p.node_id for p in fed.parties if p.node_id != "bank"]
    now = time.time()
    desk.RegisterAuthorizations(
        node_pb2.AuthorizationBatch(
            grants=[
                node_pb2.AuthorizationGrant(
                    uscc=code, purposes=["loan_approval"], valid_from=now - 86_400,
                    valid_to=now + 90 * 86_400,
                    document_sha256=hashlib.sha256(f"demo form {code}".encode()).hexdigest(),
                    collector="demo-branch", collected_at=now - 86_400, holders=holders,
                )
                for code in codes
            ]
        ),
        timeout=30,
    )  # fmt: skip
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
