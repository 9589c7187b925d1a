"""No process outlives its owner: worker pools and daemons end when the process that started
them dies, even by SIGKILL (which runs no clean-up)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from coordinator.local import LocalFederation
from tests.federation_fixtures import quarantine_reason
from tests.processes import descendants, wait_gone

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
REPO_ROOT = Path(__file__).resolve().parents[3]

OWNER = """
import sys, time
from node.compute import worker_pool
if __name__ == "__main__":
    pool = worker_pool(2)
    assert sorted(pool.map(abs, range(-8, 0))) == list(range(1, 9))
    print("ready", flush=True)
    time.sleep(300)
"""


def _start_owner(tmp_path: Path, code: str) -> subprocess.Popen[str]:
    script = tmp_path / "owner.py"
    script.write_text(code)
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_killed_owner_leaves_no_worker_forkserver_or_tracker(tmp_path: Path) -> None:
    # prepare: a process with a busy-once pool (two workers, forkserver, resource tracker)
    owner = _start_owner(tmp_path, OWNER)
    below = descendants(owner.pid)
    assert len(below) >= 3, below  # forkserver, tracker and at least one worker
    # execute
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    owner.stdout.close()  # type: ignore[union-attr]
    # assert
    assert wait_gone(below) == [], {p: below[p] for p in wait_gone(below, 0)}


def _restore_bank(fed: LocalFederation, after: BaseException | None = None) -> None:
    """Bring the session federation's bank back online, and check that it is not quarantined
    (a later test must not inherit a quarantined bank). If that fails ``after`` the test's own
    failure, both are raised together so neither hides the other."""
    try:
        if "bank" not in fed.running():
            fed.start_node("bank")
            fed.wait_online(["bank"])
        assert quarantine_reason(fed, "bank") == "", "the restarted bank is quarantined"
    except Exception as restore_failure:
        if after is None:
            raise
        raise BaseExceptionGroup(
            "the test failed, and so did bringing the bank back", [after, restore_failure]
        ) from None


@pytest.mark.slow
def test_sigkilled_node_leaves_no_worker_behind(node_federation: LocalFederation) -> None:
    fed = node_federation  # the session's federation: the bank is back online at the end
    try:
        # prepare: a PSI job makes the bank node start its worker pool
        spec = (REPO_ROOT / "scripts" / "jobs" / "psi.yaml").read_text()
        job = fed.submit(spec, job_id="pool-lifetime-psi")
        assert fed.wait_job(job, timeout=120).state == "succeeded"
        below = descendants(fed.pid("bank"))
        assert any("forkserver" in cmd for cmd in below.values()), below
        # execute
        assert fed.stop_party("bank", signal.SIGKILL) == -signal.SIGKILL
        # assert
        left = wait_gone(below, timeout=60)
        assert left == [], {p: below[p] for p in left}
    except BaseException as failure:
        _restore_bank(fed, after=failure)
        raise
    _restore_bank(fed)


@pytest.mark.slow
def test_daemons_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    # prepare: a supervisor process running a coordinator and one node, then SIGKILLed
    supervisor = _start_owner(
        tmp_path,
        f"""
import time
from pathlib import Path
from coordinator.local.synthetic import synthetic_federation
if __name__ == "__main__":
    fed = synthetic_federation(Path({str(tmp_path / "fed")!r}), n_firms=300)
    fed.start_coordinator()
    fed.start_node("bank")
    print("ready", flush=True)
    time.sleep(300)
""",
    )
    below = descendants(supervisor.pid)
    assert len(below) >= 2, below
    supervisor.send_signal(signal.SIGKILL)
    supervisor.wait()
    supervisor.stdout.close()  # type: ignore[union-attr]
    # assert: both daemons noticed and shut down cleanly (their logs say so)
    assert wait_gone(below, timeout=30) == []
    log = (tmp_path / "fed" / "logs" / "bank.log").read_text()
    assert f"supervising process {supervisor.pid} ended, shutting down" in log
