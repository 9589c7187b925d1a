"""Every failure a user can provoke from a fedcredit command is one clear line, never a
Python traceback: the commands are run as a user runs them, as real processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.cli.exit_codes import ExitCode
from node.cli.guard import explain, run_guarded
from node.pki import create_ca, issue_certificate
from tests.federation_fixtures import run_command, synthetic_federation

PROGRAMS = {
    "fedcredit": "node.cli.app",
    "fedcredit-node": "node.cli.node_daemon",
    "fedcredit-coordinator": "coordinator.cli.daemon",
    "fedcredit-federation": "coordinator.cli.local",
}


def _run(program: str, *args: str, cwd: Path) -> tuple[int, list[str]]:
    """Exit code and the non-empty stderr lines of one command run from ``cwd``."""
    done = run_command(cwd, PROGRAMS[program], *args)
    assert "Traceback" not in done.stderr + done.stdout
    return done.returncode, [line for line in done.stderr.splitlines() if line.strip()]


@pytest.mark.slow
def test_jobs_list_with_the_default_certificate_absent(tmp_path: Path) -> None:
    code, lines = _run("fedcredit", "jobs", "list", cwd=tmp_path)
    assert code == ExitCode.CERTIFICATE
    assert len(lines) == 1 and "no usable certificate 'operator' in certs/" in lines[0]


@pytest.mark.slow
def test_jobs_submit_with_a_missing_job_file(tmp_path: Path) -> None:
    code, lines = _run("fedcredit", "jobs", "submit", "partys.yaml", cwd=tmp_path)
    assert code == ExitCode.USAGE
    assert lines == [
        "cannot read the job file partys.yaml: No such file or directory; check the path"
    ]


@pytest.mark.slow
def test_jobs_list_with_no_coordinator_running(tmp_path: Path) -> None:
    create_ca(tmp_path / "certs")
    issue_certificate(tmp_path / "certs", "operator", role="operator", organization="ops")
    code, lines = _run("fedcredit", "jobs", "list", "--coordinator", "127.0.0.1:9", cwd=tmp_path)
    assert code == ExitCode.FAILED
    assert len(lines) == 1 and "refused (UNAVAILABLE)" in lines[0]
    assert "is the server running at the --coordinator address?" in lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("program", ["fedcredit-node", "fedcredit-coordinator"])
def test_daemon_with_a_missing_config(program: str, tmp_path: Path) -> None:
    code, lines = _run(program, "--config", "nope.yaml", cwd=tmp_path)
    assert code == ExitCode.CONFIG
    assert lines == [
        f"{program}: configuration error: nope.yaml: cannot be read: "
        "No such file or directory; check the path"
    ]


@pytest.mark.slow
def test_second_node_on_one_state_folder_is_refused(tmp_path: Path) -> None:
    # prepare: the bank node runs (no coordinator is needed for it to hold its state folder)
    fed = synthetic_federation(tmp_path, n_firms=300)
    fed.coordinator_port = 9
    try:
        fed.start_node("bank")
        # execute: a second bank on the same configuration, hence the same state folder
        code, lines = _run(
            "fedcredit-node", "--config", str(tmp_path / "config" / "bank.yaml"), cwd=tmp_path
        )
    finally:
        fed.stop()
    # assert
    assert code == ExitCode.STATE_IN_USE
    assert len(lines) == 1 and lines[0].startswith("fedcredit-node: state folder ")
    assert "in use by another fedcredit process (pid " in lines[0]


def test_unforeseen_error_is_one_line_without_its_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # a library error may quote a data value; the guard names its type and place only
    def boom() -> None:
        raise ValueError("could not convert string to float: '91110000MA01234567'")

    with pytest.raises(SystemExit) as exit_:
        run_guarded(boom, "fedcredit")
    assert exit_.value.code == ExitCode.FAILED
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "91110000MA01234567" not in err[0]
    assert err[0].startswith("fedcredit: unexpected error (ValueError")
    assert "FEDCREDIT_DEBUG=1" in err[0]


def test_known_errors_keep_their_message_and_code() -> None:
    from node.runtime.config import ConfigError

    code, line = explain(ConfigError("node.yaml", "is required", key="node_id"))
    assert code == ExitCode.CONFIG and line == "node.yaml node_id: is required"


def test_every_exit_code_is_documented_once() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "operations.md").read_text()
    rows = [line for line in doc.splitlines() if line.startswith("| ") and "| `" in line]
    documented = {
        int(r.split("|")[1]): r.split("`")[1] for r in rows if r.split("|")[1].strip().isdigit()
    }
    assert documented == {c.value: c.name for c in ExitCode}
