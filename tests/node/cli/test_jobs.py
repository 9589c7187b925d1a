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
