"""Builders for real local federations used by cross-process tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import grpc

from coordinator.local import LocalFederation
from coordinator.local.csv import csv_federation, default_credit_banks
from coordinator.local.synthetic import synthetic_federation

__all__ = [
    "CHECK_JOB",
    "default_credit_banks",
    "default_credit_firms",
    "default_credit_vertical",
    "offer_forked_checkpoint",
    "quarantine_reason",
    "run_command",
    "synthetic_federation",
    "wait_for_progress",
]

CHECK_JOB = "type: check\nparties:\n  government: {}\n  bank: {}\n  third_party: {}\n"


def wait_for_progress(
    fed: LocalFederation, job_id: str, stage: str, step: int
) -> dict[str, object]:
    """Follow a job's events until some party reports ``stage`` at ``step`` or beyond."""
    import json

    from protos.fedcredit.v1 import coordinator_pb2

    for event in fed.coordinator().WatchJob(coordinator_pb2.GetJobRequest(job_id=job_id)):
        detail = json.loads(event.detail_json or "{}")
        if event.kind == "progress" and detail.get("stage") == stage and detail["step"] >= step:
            return {"party": event.party, **detail}
    raise AssertionError(f"job {job_id} ended before {stage} reached {step}")


def default_credit_vertical(root: Path, data: Path, host: Path | None = None) -> LocalFederation:
    """The vertical split: the bank with the guest file, a government node with the host file."""
    return csv_federation(
        root,
        {
            "bank": ("bank", "bank-a", data / "default_credit_hetero_guest.csv", "y"),
            "government": (
                "government",
                "gov-dc",
                host or data / "default_credit_hetero_host.csv",
                None,
            ),
        },
    )


def default_credit_firms(data: Path, dest: Path, firms: int) -> Path:
    """The vertical split cut to its first ``firms`` firms (both files, the same firms), in
    ``dest``: for tests whose point is what happens around a job (a kill, a resume), not the
    model's quality on all 30,000 firms. Both files list the firms in the same order."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("default_credit_hetero_guest.csv", "default_credit_hetero_host.csv"):
        with (data / name).open() as src, (dest / name).open("w") as out:
            out.writelines(line for _, line in zip(range(firms + 1), src, strict=False))
    return dest


def run_command(cwd: Path, module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a fedcredit command (by module) as a user would, from ``cwd``, on a wide terminal."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "COLUMNS": "200"},
    )


def quarantine_reason(fed: LocalFederation, node_id: str) -> str:
    """Why the coordinator holds ``node_id`` in quarantine, as the operator's ``ListNodes``
    reports it ("" when it does not)."""
    from protos.fedcredit.v1 import coordinator_pb2, coordinator_pb2_grpc

    with fed.channel() as ch:
        stub = coordinator_pb2_grpc.CoordinatorStub(ch)
        nodes = stub.ListNodes(coordinator_pb2.ListNodesRequest(), timeout=10).nodes
    return {n.node_id: n.quarantine_reason for n in nodes}[node_id]


def offer_forked_checkpoint(fed: LocalFederation, node_id: str) -> grpc.RpcError:
    """Publish, as ``node_id``, a checkpoint of the size the witness holds for it with another
    root, properly signed with the node's key; return the witness's refusal.

    The node publishes every few seconds, so the size read may be overtaken before the fork
    arrives; that fork is refused as stale (which quarantines nothing) and is offered again.
    """
    from coordinator.witness import CheckpointWitness
    from node.audit.checkpoint import Checkpoint, sign_checkpoint
    from node.pki import load_identity_files
    from node.transport.client import open_channel
    from protos.fedcredit.v1 import coordinator_pb2, coordinator_pb2_grpc

    keys = load_identity_files(fed.certs, node_id)
    store = fed.root / "state" / "coordinator" / "witness.sqlite"
    refusal: grpc.RpcError | None = None
    for _ in range(5):
        held = None
        deadline = time.monotonic() + 30
        while held is None and time.monotonic() < deadline:
            witness = CheckpointWitness(store)
            try:
                held = witness.latest(node_id)
            finally:
                witness.close()
            time.sleep(0.5)
        assert held is not None, f"the witness holds no checkpoint of {node_id}"
        fork = sign_checkpoint(
            Checkpoint(node_id, held.size, bytes(32), held.checkpoint.time), keys.sign_key
        )
        request = coordinator_pb2.PublishCheckpointRequest(checkpoint=fork.to_bytes())
        with open_channel(fed.address, fed.certs, node_id) as ch:
            try:
                coordinator_pb2_grpc.CoordinatorStub(ch).PublishCheckpoint(request, timeout=10)
            except grpc.RpcError as exc:
                refusal = exc
        if refusal is not None and "is older than the accepted size" not in refusal.details():
            return refusal
    raise AssertionError(f"no fork of {node_id}'s checkpoint reached the witness: {refusal}")
