"""``fedcredit policy reload`` against a running node process."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coordinator.local import LocalFederation
from coordinator.local.federation import POLICY_DIR
from node.cli.app import app
from tests.federation_fixtures import synthetic_federation

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalFederation, Path]]:
    """A coordinator and the bank node, whose policy is a copy the test may edit."""
    root = tmp_path_factory.mktemp("fed")
    fed = synthetic_federation(root, n_firms=300)
    policy = root / "bank-policy.yaml"
    shutil.copy(POLICY_DIR / "bank.yaml", policy)
    fed.parties = [
        dataclasses.replace(p, policy=policy) if p.node_id == "bank" else p for p in fed.parties
    ]
    try:
        fed.start_coordinator()
        fed.start_node("bank")
        yield fed, policy
    finally:
        fed.stop()


def _reload(fed: LocalFederation, as_: str = "operator") -> tuple[int, str, str]:
    node = f"127.0.0.1:{fed.node_ports['bank']}"
    args = ["--node", node, "--node-id", "bank", "--certs", str(fed.certs), "--as", as_]
    result = CliRunner().invoke(app, ["policy", "reload", *args])
    return result.exit_code, result.stdout, result.stderr


def test_reload_reports_unchanged_then_the_new_version(
    bank: tuple[LocalFederation, Path],
) -> None:
    fed, policy = bank
    code, out, _ = _reload(fed)
    assert code == 0 and "bank: policy unchanged" in out
    policy.write_text(policy.read_text() + "\n# reviewed\n")
    code, out, _ = _reload(fed)
    assert code == 0 and "bank: policy reloaded, version" in out


def test_invalid_policy_is_refused_in_one_line_and_the_old_one_stays(
    bank: tuple[LocalFederation, Path],
) -> None:
    fed, policy = bank
    good = policy.read_text()
    policy.write_text(good.replace("fedcredit_policy: 1", "fedcredit_policy: 99"))
    try:
        code, _, err = _reload(fed)
        assert code == 5
        assert len(err.strip().splitlines()) == 1 and "policy not reloaded" in err
    finally:
        policy.write_text(good)
    code, out, _ = _reload(fed)
    assert code == 0, out


def test_only_an_operator_may_reload(bank: tuple[LocalFederation, Path]) -> None:
    code, _, err = _reload(bank[0], as_="auditor")
    assert code == 1 and "PERMISSION_DENIED" in err
