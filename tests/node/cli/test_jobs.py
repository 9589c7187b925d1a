"""``fedcredit jobs`` / ``fedcredit nodes`` against a real local federation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coordinator.local import LocalFederation
from node.cli.app import app
from tests.federation_fixtures import CHECK_JOB, synthetic_federation

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    fed = synthetic_federation(tmp_path_factory.mktemp("fed"), n_firms=300)
    try:
        fed.start()
        yield fed
    finally:
        fed.stop()


def _run(fed: LocalFederation, *args: str, as_: str = "operator") -> tuple[int, str]:
    common = ["--coordinator", fed.address, "--certs", str(fed.certs), "--as", as_]
    result = CliRunner().invoke(app, [*args, *common])
    return result.exit_code, result.output


def test_nodes_list_shows_every_node_online(federation: LocalFederation) -> None:
    code, out = _run(federation, "nodes", "list", "--format", "json")
    assert code == 0, out
    nodes = {n["node_id"]: n for n in json.loads(out)}
    assert set(nodes) == {"government", "bank", "third_party"}
    assert all(n["online"] for n in nodes.values())


def test_submit_follows_the_job_to_success(federation: LocalFederation, tmp_path: Path) -> None:
    job = tmp_path / "check.yaml"
    job.write_text(CHECK_JOB)
    code, out = _run(
        federation, "jobs", "submit", str(job), "--job-id", "cli-check", "--format", "json"
    )
    assert code == 0, out
    assert '"state": "succeeded"' in out
    code, out = _run(federation, "jobs", "status", "cli-check", "--format", "json")
    assert json.loads(out)["state"] == "succeeded"


def test_refusal_is_one_clear_line_and_exit_1(federation: LocalFederation, tmp_path: Path) -> None:
    job = tmp_path / "check.yaml"
    job.write_text(CHECK_JOB)
    code, out = _run(federation, "jobs", "submit", str(job), as_="auditor")
    assert code == 1
    assert "PERMISSION_DENIED" in out and "may not call SubmitJob" in out


def test_bad_job_file_is_refused_before_anything_starts(
    federation: LocalFederation, tmp_path: Path
) -> None:
    job = tmp_path / "bad.yaml"
    job.write_text("type: nonsense\nparties: {bank: {}}\n")
    code, out = _run(federation, "jobs", "submit", str(job))
    assert code == 1
    assert "unknown job type 'nonsense'" in out
