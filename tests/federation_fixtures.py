"""Builders for real local federations used by cross-process tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from coordinator.local import LocalFederation
from coordinator.local.csv import csv_federation, default_credit_banks
from coordinator.local.synthetic import synthetic_federation

__all__ = [
    "CHECK_JOB",
    "default_credit_banks",
    "default_credit_vertical",
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
