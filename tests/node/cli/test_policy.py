"""Tests of ``fedcredit policy``: validate and dry-run, on the shipped policies and real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from node.cli.policy import EXIT_BAD_INPUT, EXIT_INVALID_POLICY, app
from node.data.synthetic import SyntheticConfig, build_federation

POLICIES = Path(__file__).resolve().parents[3] / "policies"
runner = CliRunner()


@pytest.fixture(scope="module")
def government_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = build_federation(SyntheticConfig(n_firms=60, seed=9)).government
    path = tmp_path_factory.mktemp("data") / "government.csv"
    frame.to_csv(path, index=False)
    return path


def test_validate_prints_the_version() -> None:
    result = runner.invoke(app, ["validate", str(POLICIES)])
    assert result.exit_code == 0, result.output
    assert "valid: 3 file(s)" in result.output and "version " in result.output


def test_validate_json() -> None:
    result = runner.invoke(app, ["validate", str(POLICIES / "bank.yaml"), "--format", "json"])
    assert result.exit_code == 0
    payload = json.loads(result.output)
    assert payload["valid"] and len(payload["version"]) == 64 and "bank" in payload["datasets"]


def test_validate_reports_file_line_and_key(tmp_path: Path) -> None:
    # prepare
    bad = tmp_path / "bad.yaml"
    bad.write_text("fedcredit_policy: 1\nroles:\n  bank: [lending]\n", encoding="utf-8")
    # execute
    result = runner.invoke(app, ["validate", str(bad), "--format", "json"])
    # assert
    assert result.exit_code == EXIT_INVALID_POLICY
    payload = json.loads(result.output)
    assert (payload["line"], payload["key"]) == (3, "roles.bank[0]")


def test_dry_run_shows_masked_values_per_role(government_csv: Path) -> None:
    # prepare
    raw = government_csv.read_text(encoding="utf-8").splitlines()[1].split(",")
    id_number = raw[3]
    # execute
    result = runner.invoke(
        app,
        ["dry-run", str(POLICIES), str(government_csv), "--dataset", "government",
         "--role", "bank", "--role", "third_party", "--rows", "2"],
        env={"COLUMNS": "250"},
    )  # fmt: skip
    # assert
    assert result.exit_code == 0, result.output
    assert "to role bank" in result.output and "to role third_party" in result.output
    assert "denied: role may not release" in result.output
    assert id_number[:3] + "*" in result.output  # resident id masked, head kept
    assert id_number not in result.output


def test_dry_run_refuses_unknown_dataset_and_role(government_csv: Path) -> None:
    r1 = runner.invoke(app, ["dry-run", str(POLICIES), str(government_csv), "--dataset", "x"])
    r2 = runner.invoke(
        app,
        ["dry-run", str(POLICIES), str(government_csv), "--dataset", "government", "--role", "x"],
    )
    r3 = runner.invoke(
        app,
        ["dry-run", str(POLICIES), str(government_csv), "--dataset", "government",
         "--purpose", "audit"],
    )  # fmt: skip
    assert r1.exit_code == r2.exit_code == r3.exit_code == EXIT_BAD_INPUT


def test_dry_run_refuses_an_invalid_policy(tmp_path: Path, government_csv: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("nope: 1\n", encoding="utf-8")
    result = runner.invoke(app, ["dry-run", str(bad), str(government_csv), "--dataset", "g"])
    assert result.exit_code == EXIT_INVALID_POLICY
