"""Shared test fixtures (the real data set the repository ships), and the run's last check:
no process the tests started is still running when they end.

The test process makes itself a *child subreaper* (Linux): a process orphaned anywhere below it
(a node's worker pool after the node was killed, say) is re-parented to the test process rather
than to init, so the final check sees every leftover, not only direct children.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from node.data import bundled
from tests.processes import live_children

if TYPE_CHECKING:
    from coordinator.local import LocalFederation

REPO_ROOT = Path(__file__).resolve().parents[1]
_PR_SET_CHILD_SUBREAPER = 36
# How long processes that are already shutting down get before they count as left over.
_LEFTOVER_GRACE_S = 20.0


@pytest.fixture(scope="session")
def default_credit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The vertically and horizontally split default_credit data, decompressed once per run."""
    return bundled.extract(tmp_path_factory.mktemp("default_credit"))


@pytest.fixture(scope="session")
def node_federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFederation]:
    """Coordinator, government, bank and third-party nodes (300 synthetic firms) as processes
    on loopback mTLS, shared by every test that only needs a running federation: starting and
    stopping one costs tens of seconds. Its users leave it as they found it (a party they
    restart is back online and not quarantined, a node they quarantine is released, a file
    they add to its certificate or config folder is removed) and name their jobs uniquely."""
    from tests.federation_fixtures import synthetic_federation  # starts no process on import

    fed = synthetic_federation(tmp_path_factory.mktemp("shared-federation"), n_firms=300)
    try:
        fed.start()
        yield fed
    finally:
        fed.stop()
    assert fed.running() == []


def pytest_configure(config: pytest.Config) -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _own_helpers() -> set[int]:
    """The test process's own multiprocessing helpers, which end when it ends."""
    forkserver = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    tracker = getattr(multiprocessing.resource_tracker._resource_tracker, "_pid", None)
    return {p for p in (forkserver, tracker) if p}


def leftover_processes(grace: float = _LEFTOVER_GRACE_S) -> dict[int, str]:
    """Children of this process still running after ``grace`` seconds (helpers excepted)."""
    deadline = time.monotonic() + grace
    while True:
        left = {p: c for p, c in live_children(os.getpid()).items() if p not in _own_helpers()}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not Path("/proc").is_dir():
        return
    left = leftover_processes()
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"{len(left)} process(es) started by the tests are still running (killed now):"]
    lines += [f"  {pid}: {cmd[:160]}" for pid, cmd in sorted(left.items())]
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if reporter is not None:
        for line in lines:
            reporter.write_line(line, red=True)
    else:
        print("\n".join(lines), file=sys.stderr)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
