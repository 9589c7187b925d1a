"""``fedcredit jobs`` / ``fedcredit nodes`` against a real local federation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coordinator.local import LocalFederation
from node.cli.app import app
from tests.federation_fixtures import CHECK_JOB

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def federation(node_federation: LocalFederation) -> LocalFederation:
    """The session's running federation (tests/conftest.py): these tests leave it as it was."""
    return node_federation


def _run(fed: LocalFederation, *args: str, as_: str = "operator") -> tuple[int, str]:
    """Exit code and what the terminal shows (stdout and stderr together)."""
    code, out, err = _run_split(fed, *args, as_=as_)
    return code, out + err


def _run_split(fed: LocalFederation, *args: str, as_: str = "operator") -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one command against the federation."""
    common = ["--coordinator", fed.address, "--certs", str(fed.certs), "--as", as_]
    result = CliRunner().invoke(app, [*args, *common])
    return result.exit_code, result.stdout, result.stderr


def test_nodes_list_shows_every_node_online(federation: LocalFederation) -> None:
    code, out = _run(federation, "nodes", "list", "--format", "json")
    assert code == 0, out
    nodes = {n["node_id"]: n for n in json.loads(out)}
    assert set(nodes) == {"government", "bank", "third_party"}
    assert all(n["online"] for n in nodes.values())


def test_submit_follows_the_job_to_success(federation: LocalFederation, tmp_path: Path) -> None:
    job = tmp_path / "check.yaml"
    job.write_text(CHECK_JOB)
    code, out, err = _run_split(
        federation, "jobs", "submit", str(job), "--job-id", "cli-check", "--format", "json"
    )
    assert code == 0, out + err
    # stdout is exactly one JSON document; the progress went to stderr
    assert json.loads(out)["state"] == "succeeded"
    assert "check" in err
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


def test_auditor_verifies_a_node_log_with_the_node_certificate(
    federation: LocalFederation, tmp_path: Path
) -> None:
    # prepare: the auditor has the node sign a checkpoint over its log so far
    from node.cli.audit import app as audit_app
    from node.transport.client import open_channel
    from protos.fedcredit.v1 import node_pb2, node_pb2_grpc

    address = f"127.0.0.1:{federation.node_ports['bank']}"
    with open_channel(address, federation.certs, "auditor", peer="bank") as channel:
        kept = node_pb2_grpc.NodeStub(channel).AuditCheckpoint(node_pb2.AuditCheckpointRequest())
    (tmp_path / "kept.checkpoint").write_bytes(kept.checkpoint)
    # execute / assert: verified offline with only the certificate the federation CA issued
    # and the checkpoint the auditor kept

    result = CliRunner().invoke(
        audit_app,
        [
            "verify",
            str(federation.root / "state" / "bank" / "audit"),
            "--public-key",
            str(federation.certs / "bank.crt"),
            "--checkpoint",
            str(tmp_path / "kept.checkpoint"),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] is True


def test_submit_prints_a_short_summary_not_raw_json(
    federation: LocalFederation, tmp_path: Path
) -> None:
    job = tmp_path / "check.yaml"
    job.write_text(CHECK_JOB)
    code, out, _err = _run_split(federation, "jobs", "submit", str(job), "--job-id", "cli-text")
    assert code == 0, out
    lines = out.strip().splitlines()
    assert lines[0] == "job cli-text (check): succeeded"
    assert "3 parties reached each other" in lines[1]
    assert len(lines) == 3 and "fedcredit jobs status cli-text --format json" in lines[2]


def test_psi_progress_bars_end_full_after_success(
    federation: LocalFederation, tmp_path: Path
) -> None:
    job = tmp_path / "psi.yaml"
    job.write_text((REPO_ROOT / "scripts" / "jobs" / "psi.yaml").read_text())
    code, out, err = _run_split(federation, "jobs", "submit", str(job), "--job-id", "cli-psi")
    assert code == 0, out + err
    bars = [line for line in err.splitlines() if " psi" in line]
    assert bars, err
    for line in bars:
        done, total = re.search(r"(\d+)/(\d+)", line).groups()  # type: ignore[union-attr]
        assert done == total, line


def test_jobs_list_shows_long_job_ids_whole_at_80_columns(
    federation: LocalFederation, tmp_path: Path
) -> None:
    job_id = "a-rather-long-job-identifier-that-someone-will-copy-" + "x" * 20
    federation.wait_job(federation.submit(CHECK_JOB, job_id=job_id), timeout=60)
    result = CliRunner().invoke(
        app,
        ["jobs", "list", "--coordinator", federation.address, "--certs", str(federation.certs)],
        env={"COLUMNS": "80"},
    )
    assert result.exit_code == 0, result.output
    assert job_id in result.stdout


def test_missing_certificate_is_one_line_naming_the_options(
    federation: LocalFederation, tmp_path: Path
) -> None:
    # the defaults: --certs certs --as operator, in a folder that has no such certificate
    result = CliRunner().invoke(
        app, ["jobs", "list", "--coordinator", federation.address, "--certs", str(tmp_path)]
    )
    assert result.exit_code == 10
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'operator'" in lines[0] and "--certs" in lines[0], lines


def test_missing_job_file_is_one_line(federation: LocalFederation, tmp_path: Path) -> None:
    code, _out, err = _run_split(federation, "jobs", "submit", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert err.strip().splitlines() == [
        f"cannot read the job file {tmp_path / 'nope.yaml'}: No such file or directory; "
        "check the path"
    ]
