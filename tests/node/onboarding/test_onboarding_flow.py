"""Three CSV files to a finished vertical job, as docs/onboarding.md tells a user to do it:
write one project file, run ``fedcredit init``, run ``fedcredit-federation --project``.
Real processes, real certificates, real mTLS; only the Paillier key is smaller (1024 bits, set
in the job file the way a user would) to keep the test's run time reasonable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from node.data.synthetic import generate_federation
from tests.federation_fixtures import run_command

pytestmark = pytest.mark.slow

PROJECT = """
parties:
  bank: {role: bank, organization: bank-a, data: data/bank.csv, label: default_12m}
  government: {role: government, organization: gov-dc, data: data/government.csv}
  third_party: {role: third_party, organization: third-party, data: data/third_party.csv}
coordinator: {listen: "127.0.0.1:0"}
"""


def test_three_csv_files_to_a_finished_vertical_job(tmp_path: Path) -> None:
    # prepare: three tables of the same firms, and the one file the user writes
    generate_federation(tmp_path / "data", n_firms=1000, seed=11)
    (tmp_path / "project.yaml").write_text(PROJECT)
    # execute: command 1
    init = run_command(tmp_path, "node.cli.app", "init", "project.yaml")
    assert init.returncode == 0, init.stderr
    out = tmp_path / "federation"
    # assert: identifiers are held back, and every proposed rule validates
    bank_schema = yaml.safe_load((out / "schemas" / "bank.yaml").read_text())
    classes = {f["name"]: f["class"] for f in bank_schema["fields"]}
    assert bank_schema["id_column"] == "uscc" and bank_schema["id_is_uscc"] is True
    assert classes["account_no"] == classes["contact_phone"] == "C3"
    job = yaml.safe_load((out / "jobs" / "vertical_lr.yaml").read_text())
    assert "account_no" not in job["vertical"]["label_holder"]["features"]
    government = job["vertical"]["feature_holders"][0]
    assert "legal_rep_id_number" not in government["features"]
    for party in ("bank", "government", "third_party"):
        check = run_command(
            tmp_path, "node.cli.app", "policy", "validate", str(out / "policies" / f"{party}.yaml")
        )
        assert check.returncode == 0, check.stderr
    # the one edit of a generated file: a smaller key for test speed
    vertical = out / "jobs" / "vertical_lr.yaml"
    vertical.write_text(
        vertical.read_text().replace("key_bits: 2048", "key_bits: 1024, allow_weak_key: true")
    )
    # execute: command 2
    run = run_command(tmp_path, "coordinator.cli.local", "--project", "project.yaml")
    # assert: the job succeeded and the federated model beats the bank alone
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    result = summary["jobs"]["vertical_lr"]
    assert result["state"] == "succeeded"
    bank = result["result"]["parties"]["bank"]
    assert bank["metrics"]["auc"] > bank["bank_only"]["auc"]
    assert all(entry["ok"] for entry in summary["audit"])
    assert "vertical scorecard" in run.stdout


def test_init_refuses_to_overwrite_reviewed_policies(tmp_path: Path) -> None:
    generate_federation(tmp_path / "data", n_firms=300, seed=3)
    (tmp_path / "project.yaml").write_text(PROJECT)
    assert run_command(tmp_path, "node.cli.app", "init", "project.yaml").returncode == 0
    again = run_command(tmp_path, "node.cli.app", "init", "project.yaml")
    assert again.returncode == 3
    lines = again.stderr.strip().splitlines()
    assert len(lines) == 1 and "pass --force" in lines[0]


def test_project_file_typo_is_one_line_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "project.yaml").write_text(PROJECT.replace("parties:", "partys:"))
    done = run_command(tmp_path, "node.cli.app", "init", "project.yaml")
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [
        f"fedcredit: {tmp_path / 'project.yaml'} partys: unknown key; did you mean 'parties'?"
    ]
