"""Builders for real local federations used by cross-process tests."""

from __future__ import annotations

from pathlib import Path

from coordinator.local import LocalFederation
from coordinator.local.csv import csv_federation, default_credit_banks
from coordinator.local.synthetic import synthetic_federation

__all__ = [
    "CHECK_JOB",
    "default_credit_banks",
    "default_credit_vertical",
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
