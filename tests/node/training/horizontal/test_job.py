"""Tests for horizontal training as a job type (job file in, JSON summaries out)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from node.jobs.context import PartyContext
from node.jobs.exceptions import JobSpecError
from node.jobs.hooks import MemoryHooks
from node.jobs.spec import parse_job_file
from node.training.horizontal.job import run_horizontal_coordinator, validate_horizontal_job
from node.training.horizontal.party import run_horizontal_party
from node.transport.memory import MemoryHub

JOB = """
type: horizontal
parties:
  guest: {dataset: loans, label: y}
  host_1: {dataset: loans, label: y}
horizontal: {rounds: 2, key_bits: 2048, quorum: 2, round_timeout_s: 20}
"""


class Datasets:
    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def frame(self, name: str) -> pd.DataFrame:
        if name != "loans":
            raise KeyError(name)
        return self._frame

    def id_column(self, name: str) -> str:
        return "id"

    def names(self) -> list[str]:
        return ["loans"]

    def psi_id_field(self, name: str) -> str | None:
        return None


class Gate:
    def __init__(self) -> None:
        self.checked: list[tuple[str, list[str], str]] = []

    def check(self, dataset: str, fields: list[str], purpose: str) -> str:
        self.checked.append((dataset, list(fields), purpose))
        return "v1"


@pytest.mark.slow
def test_job_runs_from_the_job_file_and_returns_json_summaries(
    default_credit_dir: Path,
) -> None:
    # prepare: two banks with 600 real rows each; a real 2048-bit key as a job would use
    job = parse_job_file(JOB)
    validate_horizontal_job(job)
    hub = MemoryHub(timeout=60)
    gates = {b: Gate() for b in job.parties}
    results: dict[str, Any] = {}

    def bank(name: str) -> None:
        frame = pd.read_csv(default_credit_dir / f"default_credit_homo_{name}.csv", nrows=600)
        ctx = PartyContext(
            party=name,
            job_id="j1",
            attempt=1,
            parties=job.parties,
            spec=job.raw,
            channel=hub.channel(name),
            hooks=MemoryHooks(),
            datasets=Datasets(frame),
            gate=gates[name],
        )
        results[name] = run_horizontal_party(ctx)

    threads = [threading.Thread(target=bank, args=(b,)) for b in job.parties]
    for t in threads:
        t.start()
    # execute
    summary = run_horizontal_coordinator(hub.channel("coordinator"), MemoryHooks(), job)
    for t in threads:
        t.join(timeout=120)
    # assert
    assert summary["rounds_completed"] == 2
    assert results["guest"]["rounds_completed"] == 2
    assert gates["guest"].checked[0][0] == "loans" and gates["guest"].checked[0][2] == "training"
    assert "y" in gates["guest"].checked[0][1] and "id" not in gates["guest"].checked[0][1]
    assert json.loads(json.dumps(summary)) == summary


@pytest.mark.parametrize(
    "parties",
    ["guest: {label: y}\n  host_1: {dataset: d, label: y}", "guest: {dataset: d}\n  host_1: {}"],
)
def test_party_without_dataset_or_label_is_refused(parties: str) -> None:
    job = parse_job_file(f"type: horizontal\nparties:\n  {parties}\n")
    with pytest.raises(JobSpecError, match="must name"):
        validate_horizontal_job(job)
