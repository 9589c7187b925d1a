"""Paths a user gives are relative to where they run the command; generated configs are absolute.

The local federation writes configuration files that daemons read from another folder, so a
relative path in them would point somewhere else (the bug a fresh clone hit with the default
``--workdir var/local-federation``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from coordinator.local.federation import FederationError
from tests.federation_fixtures import run_command, synthetic_federation

pytestmark = pytest.mark.slow

RELATIVE_RUN = ("--workdir", "var/fed", "--n-firms", "300", "--jobs", "check")


def test_federation_from_another_folder_with_a_relative_workdir(tmp_path: Path) -> None:
    # execute: the command as a user types it, from a folder that is not the repository
    run = run_command(tmp_path, "coordinator.cli.local", *RELATIVE_RUN)
    # assert: it worked, everything landed under the folder it was run from, and the
    # configuration files name absolute paths only
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    root = tmp_path / "var" / "fed"
    assert (root / "summary.json").is_file()
    assert not (root / "config" / "var").exists()
    bank = yaml.safe_load((root / "config" / "bank.yaml").read_text())
    paths = [bank["certs"]["dir"], bank["state_dir"], bank["policy"]]
    paths += [v for ds in bank["datasets"].values() for k, v in ds.items() if k != "psi_id_field"]
    assert all(Path(p).is_absolute() and Path(p).exists() for p in paths), paths
    assert "exit codes: {'government': 0, 'bank': 0, 'third_party': 0, 'coordinator': 0}" in (
        run.stdout
    )
    # a run without the early_warning job serves no panels and writes no tables
    assert not (root / "live").exists() and not (root / "tables").exists()
    assert "early warning" not in run.stdout and "_monthly" not in str(bank["datasets"])


def test_a_daemon_that_does_not_start_is_one_line_with_its_real_exit_code(
    tmp_path: Path,
) -> None:
    # prepare: the coordinator's certificate is gone
    fed = synthetic_federation(tmp_path, n_firms=300)
    (fed.certs / "coordinator.crt").unlink()
    # execute
    with pytest.raises(FederationError) as err:
        fed.start_coordinator()
    codes = fed.stop()
    # assert: one line naming the exit code, the cause and the log; stop reports the code
    message = str(err.value)
    assert "\n" not in message
    assert "coordinator did not start (exit 10)" in message
    assert "coordinator.crt" in message and "coordinator.log" in message
    assert codes == {"coordinator": 10}
