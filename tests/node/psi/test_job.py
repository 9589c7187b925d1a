"""PSI as a job: job-file validation, dataset lookup, node-config permits, policy gate."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pytest

from node.jobs.context import PartyContext
from node.jobs.hooks import MemoryHooks
from node.jobs.spec import parse_job_file
from node.psi import (
    PsiAborted,
    PsiPermits,
    PsiPolicyError,
    PsiResult,
    PsiSpecError,
    UnknownDatasetError,
    run_psi_coordinator_job,
    run_psi_party,
    validate_psi_job,
)
from node.transport.memory import MemoryHub

from .harness import JOIN_S, make_codes

JOB = """
type: psi
parties:
  bank: {dataset: applicants}
  gov: {dataset: tax, id_field: uscc}
psi: {batch_size: 64, timeout_s: 10}
"""
PERMITS = PsiPermits(frozenset({("applicants", "code"), ("tax", "uscc")}))


class Frames:
    def __init__(self, frames: dict[str, pd.DataFrame], id_columns: dict[str, str]) -> None:
        self.frames, self.id_columns = frames, id_columns

    def frame(self, name: str) -> Any:
        return self.frames[name]

    def id_column(self, name: str) -> str:
        return self.id_columns[name]


class Gate:
    def __init__(self, deny: bool = False) -> None:
        self.deny = deny

    def check(self, dataset: str, fields: Sequence[str], purpose: str) -> str:
        if self.deny:
            raise LookupError(f"no rule lets {fields} of {dataset} be used for {purpose}")
        return "policy-v1"


def run_nodes(datasets: dict[str, Frames], gates: dict[str, Gate]) -> dict[str, Any]:
    job = parse_job_file(JOB)
    hub = MemoryHub("job-psi", timeout=10.0)
    outcome: dict[str, Any] = {}

    def node(party: str) -> None:
        ctx = PartyContext(
            party=party, job_id="job-psi", attempt=1, parties=job.parties, spec=job.raw,
            channel=hub.channel(party), hooks=MemoryHooks(), datasets=datasets[party],
            gate=gates[party],
        )  # fmt: skip
        try:
            outcome[party] = run_psi_party(ctx, PERMITS)
        except Exception as exc:
            outcome[party] = exc

    def coordinator() -> None:
        try:
            outcome["coordinator"] = run_psi_coordinator_job(
                hub.channel("coordinator"), MemoryHooks(), job
            )
        except Exception as exc:
            outcome["coordinator"] = exc

    threads = [threading.Thread(target=node, args=(p,), daemon=True) for p in job.parties]
    threads.append(threading.Thread(target=coordinator, daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_S)
    assert not any(t.is_alive() for t in threads)
    return outcome


def datasets(n_common: int = 30) -> dict[str, Frames]:
    codes = make_codes(150, seed=21)
    bank = pd.DataFrame({"code": codes[:100], "x": range(100)})
    gov = pd.DataFrame({"uscc": codes[100 - n_common :], "y": range(50 + n_common)})
    return {
        "bank": Frames({"applicants": bank}, {"applicants": "code"}),
        "gov": Frames({"tax": gov}, {"tax": "uscc"}),
    }


def test_job_runs_on_each_nodes_dataset() -> None:
    # execute
    outcome = run_nodes(datasets(), {"bank": Gate(), "gov": Gate()})
    # assert
    bank, gov = outcome["bank"], outcome["gov"]
    assert isinstance(bank, PsiResult) and isinstance(gov, PsiResult)
    assert bank.size == gov.size == 30
    assert outcome["coordinator"]["intersection_size"] == 30


def test_unknown_dataset_ends_every_party() -> None:
    # prepare
    data = datasets()
    data["gov"] = Frames({}, {})
    # execute
    outcome = run_nodes(data, {"bank": Gate(), "gov": Gate()})
    # assert
    assert isinstance(outcome["gov"], UnknownDatasetError)
    assert isinstance(outcome["bank"], PsiAborted)
    assert "dataset" in str(outcome["bank"])
    assert isinstance(outcome["coordinator"], PsiAborted)


def test_policy_denial_ends_every_party() -> None:
    # execute
    outcome = run_nodes(datasets(), {"bank": Gate(deny=True), "gov": Gate()})
    # assert
    assert isinstance(outcome["bank"], PsiPolicyError)
    assert isinstance(outcome["gov"], PsiAborted)
    assert outcome["gov"].party == "bank"


def test_validate_refuses_a_party_without_dataset() -> None:
    # prepare
    job = parse_job_file("type: psi\nparties: {bank: {}, gov: {dataset: tax}}\n")
    # execute / assert
    with pytest.raises(PsiSpecError, match="bank"):
        validate_psi_job(job)
    validate_psi_job(parse_job_file(JOB))
