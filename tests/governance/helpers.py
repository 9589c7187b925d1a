"""Helpers of the governance cross-process tests: releases over mTLS, the witness, the CLI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from coordinator.local import LocalFederation
from node.audit.checkpoint import SignedCheckpoint
from node.governance.evidence import load_witnessed
from node.transport.client import open_channel
from protos.fedcredit.v1 import node_pb2, node_pb2_grpc

REPO = Path(__file__).resolve().parents[2]
# Every field the shipped government policy releases to a bank.
RELEASE_FIELDS = (
    "uscc", "firm_name", "legal_rep_name", "legal_rep_id_number", "legal_rep_phone",
    "address_code", "registration_date", "industry_code", "tax_paid_12m", "tax_growth_12m",
    "tax_arrears_months", "ss_headcount", "ss_headcount_change_6m", "electricity_kwh_12m",
    "electricity_growth_12m", "court_judgments_24m", "court_amount_24m",
)  # fmt: skip


def node_stub(fed: LocalFederation, node_id: str, as_: str) -> node_pb2_grpc.NodeStub:
    """The Node service of ``node_id``, called with the ``as_`` certificate."""
    channel = open_channel(f"127.0.0.1:{fed.node_ports[node_id]}", fed.certs, as_, peer=node_id)
    return node_pb2_grpc.NodeStub(channel)


def authorize(fed: LocalFederation) -> None:
    """Every government firm authorizes bank-a for loan approval, registered through the
    bank's loan desk (releases only carry authorized firms, docs/authorization.md)."""
    now = time.time()
    codes = pd.read_csv(fed.root / "data" / "government.csv", dtype=str)["uscc"].tolist()
    grants = [
        node_pb2.AuthorizationGrant(
            uscc=code, purposes=["loan_approval"], valid_from=now - 3600, valid_to=now + 86_400,
            document_sha256="ab" * 32, collector="branch-1", collected_at=now - 3600,
            holders=["government"],
        )
        for code in codes
    ]  # fmt: skip
    ack = node_stub(fed, "bank", "loan-desk").RegisterAuthorizations(
        node_pb2.AuthorizationBatch(grants=grants), timeout=120
    )
    assert ack.holders["government"].startswith("stored"), ack.holders


def release(
    fed: LocalFederation, as_: str, fmt: str = "parquet", filter: str = ""
) -> node_pb2.ReleaseResponse:
    """A release of every government field the policy lets a bank have."""
    request = node_pb2.ReleaseRequest(
        dataset="government", fields=RELEASE_FIELDS, purpose="release", format=fmt, filter=filter
    )
    return node_stub(fed, "government", as_).Release(request, timeout=60)


def decode(reply: node_pb2.ReleaseResponse) -> pd.DataFrame:
    """The released table as the recipient reads it."""
    if reply.format == "csv":
        return pd.read_csv(io.BytesIO(reply.table))
    return pd.read_parquet(io.BytesIO(reply.table))


def wait_witnessed(fed: LocalFederation, node_id: str, size: int, timeout: float = 60) -> None:
    """Until the witness accepted a checkpoint of ``node_id`` covering ``size`` entries."""
    folder = fed.root / "state" / node_id / "governance"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = load_witnessed(folder)
        if held is not None and held.size >= size:
            return
        time.sleep(0.5)
    raise AssertionError(f"the witness accepted no checkpoint of {node_id} covering {size}")


def witness_checkpoint(fed: LocalFederation, node_id: str) -> SignedCheckpoint:
    """What the coordinator's witness holds for ``node_id`` (read from its database)."""
    from coordinator.witness import CheckpointWitness

    witness = CheckpointWitness(fed.root / "state" / "coordinator" / "witness.sqlite")
    try:
        held = witness.latest(node_id)
    finally:
        witness.close()
    assert held is not None
    return held


def fedcredit(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the ``fedcredit`` command as the operator would (a separate process)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "fedcredit"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
