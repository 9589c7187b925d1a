"""Tests for the node's task runner: what a job attempt reports, whatever fails here."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest

from node.jobtypes import registry
from node.jobtypes.registry import Deferred, job_type
from node.runtime.tasks import Assignment, TaskRunner
from tests.node.jobs.refusals import refuse_stat_and_replace
from tests.relay_fixtures import silent_router

JOB = b"type: horizontal\nparties:\n  a: {dataset: d, label: y}\n  b: {dataset: d, label: y}\n"


def _runner(state_dir: Path, reports: list[tuple[Any, ...]]) -> TaskRunner:
    """Party ``a``'s task runner, its reports to the coordinator appended to ``reports``."""
    return TaskRunner(
        "a",
        silent_router("a"),
        datasets=None,  # type: ignore[arg-type]
        gate_for=lambda parties: None,  # type: ignore[arg-type,return-value]
        state_dir=state_dir,
        report=lambda *report: reports.append(report) or True,
        record=lambda kind, fields: None,
    )


def test_a_job_whose_code_cannot_load_reports_the_module_not_its_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # prepare: a horizontal job whose party code names a module this install lacks
    broken = Deferred("node.training.horizontal.not_installed:run_horizontal_party")
    kind = dataclasses.replace(job_type("horizontal"), run_party=broken)
    monkeypatch.setitem(registry._TYPES, "horizontal", kind)
    reports: list[tuple[Any, ...]] = []
    runner = _runner(tmp_path, reports)

    # execute
    with caplog.at_level(logging.ERROR, logger="fedcredit.jobtypes"):
        runner.assign(Assignment("j1", "horizontal", JOB, 1, ("a", "b")))
        runner.join(30)

    # assert: the failure names the module and the fix, and the traceback is in the log
    [(job_id, attempt, kind_, *_, error)] = reports
    assert (job_id, attempt, kind_) == ("j1", 1, "failed")
    assert error.startswith(
        "JobCodeUnavailable: cannot load node.training.horizontal.not_installed here (no module"
    )
    assert "pip install -e ." in error
    assert "withheld" not in error and "inputs" not in error
    [logged] = [r for r in caplog.records if r.name == "fedcredit.jobtypes"]
    assert logged.levelno == logging.ERROR and logged.exc_info is not None


def test_a_job_whose_summary_cannot_be_kept_still_reports_its_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # prepare: a job whose party part finishes at once with its summary (its protocol is not
    # what is tested), and a results folder that refuses stat and replace
    done = dataclasses.replace(job_type("horizontal"), run_party=lambda ctx: {"aligned_rows": 3})
    monkeypatch.setitem(registry._TYPES, "horizontal", done)
    refuse_stat_and_replace(monkeypatch, tmp_path / "jobs" / "results")
    reports: list[tuple[Any, ...]] = []
    runner = _runner(tmp_path, reports)

    # execute
    with caplog.at_level(logging.ERROR, logger="fedcredit.node.jobs.summaries"):
        runner.assign(Assignment("j1", "horizontal", JOB, 1, ("a", "b")))
        runner.join(30)

    # assert: the coordinator hears of the success, and the node's log says what was lost
    assert [r[:3] for r in reports] == [("j1", 1, "succeeded")]
    assert "summary of job j1 not kept" in caplog.text and "PermissionError" in caplog.text
