"""``fedcredit diagnose`` loads every job type's code, so a broken install shows before a job."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from node.diagnose.findings import Level
from node.diagnose.local import job_code_finding, job_findings
from node.jobtypes import registry
from node.jobtypes.registry import Deferred, job_type, known_job_types
from tests.node.scoring.delivery import NotConsulted


def test_this_install_loads_every_job_types_code() -> None:
    finding = job_code_finding()
    assert finding.level is Level.OK, finding.line()
    assert all(name in finding.found for name in known_job_types())


def test_a_module_that_does_not_load_fails_the_check_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # prepare: secureboost's party code names a module this install lacks
    broken = Deferred("node.training.secureboost.not_installed:run_secureboost_party")
    kind = dataclasses.replace(job_type("secureboost"), run_party=broken)
    monkeypatch.setitem(registry._TYPES, "secureboost", kind)

    # execute
    finding = job_code_finding()

    # assert: a failure naming the module and the fix, not an unexpected error
    assert finding.level is Level.FAIL
    assert finding.found.startswith(
        "cannot load node.training.secureboost.not_installed here (no module named"
    )
    assert "pip install -e ." in finding.found


def test_a_job_whose_field_code_does_not_load_is_one_failed_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # prepare: the code naming the fields a check job uses is missing from this install
    broken = Deferred("node.training.not_installed:field_uses")
    kind = dataclasses.replace(job_type("check"), uses=broken)
    monkeypatch.setitem(registry._TYPES, "check", kind)
    job = tmp_path / "check.yaml"
    job.write_text("type: check\nparties: {government: {}, bank: {}}\n")

    # execute: of the node's config only its id is read before the fields are; its policy
    # and identity are not reached for a job it cannot read
    config = SimpleNamespace(node_id="bank")
    findings = job_findings(job, config, NotConsulted(), NotConsulted(), None)  # type: ignore[arg-type]

    # assert: one failed check naming the module, not an unexpected error
    [finding] = findings
    assert finding.level is Level.FAIL
    assert finding.found.startswith("cannot load node.training.not_installed here")
