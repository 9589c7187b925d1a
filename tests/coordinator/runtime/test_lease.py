"""The coordinator lease on PostgreSQL: one holder; a standby takes over when it lets go or dies."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from coordinator.runtime.lease import AdvisoryLease, SoleLease, lease_for
from tests.postgres_fixtures import fresh_database, postgres_server

__all__ = ["postgres_server"]

pytestmark = pytest.mark.slow


def test_one_holder_and_the_standby_takes_over_on_release(postgres_server: str) -> None:
    # prepare
    url = fresh_database(postgres_server)
    active, standby = AdvisoryLease(url, poll_s=0.1), AdvisoryLease(url, poll_s=0.1)
    stop = threading.Event()
    assert active.acquire(stop)
    took_over = threading.Event()
    waiter = threading.Thread(target=lambda: standby.acquire(stop) and took_over.set())
    waiter.start()
    try:
        # execute / assert: the standby waits while the lease is held
        assert not took_over.wait(1.0)
        assert active.held()
        active.release()
        assert took_over.wait(30)
        assert standby.held() and not active.held()
    finally:
        stop.set()
        waiter.join()
        standby.release()


def test_the_lease_passes_on_when_its_holder_process_is_killed(postgres_server: str) -> None:
    # prepare: another process takes the lease and is killed without letting go
    url = fresh_database(postgres_server)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, threading, time\n"
            "from coordinator.runtime.lease import AdvisoryLease\n"
            "lease = AdvisoryLease(sys.argv[1])\n"
            "assert lease.acquire(threading.Event())\n"
            "print('held', flush=True)\n"
            "time.sleep(600)\n",
            url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        standby, stop = AdvisoryLease(url, poll_s=0.1), threading.Event()
        stop_later = threading.Timer(1.0, stop.set)
        stop_later.start()
        assert not standby.acquire(stop)  # held elsewhere: the standby waits
        stop_later.join()
        # execute
        holder.kill()
        holder.wait()
        started = time.monotonic()
        assert standby.acquire(threading.Event())
        # assert
        assert standby.held()
        assert time.monotonic() - started < 30
        standby.release()
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()


def test_sqlite_state_has_a_sole_lease(tmp_path: object) -> None:
    # execute
    lease = lease_for(None)
    # assert
    assert isinstance(lease, SoleLease) and lease.acquire(threading.Event()) and lease.held()
    assert isinstance(lease_for("postgresql://x@127.0.0.1/db"), AdvisoryLease)
