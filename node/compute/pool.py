"""A process pool for per-row crypto that is safe next to gRPC's threads.

Worker processes are started with ``forkserver`` rather than ``fork``: forking a process that
already runs gRPC threads can deadlock the child, and ``spawn`` pays an interpreter start per
worker on every pool. Work items should be chunks of thousands of rows, so that pickling cost
stays small next to the big-integer arithmetic.

No worker outlives the process that owns the pool, even one killed with SIGKILL (which runs no
clean-up): each worker watches its owner (:mod:`node.compute.lifeline`) and exits when it ends.
The kernel's parent-death signal is no help here, because a worker's parent is the forkserver,
and the forkserver waits for its workers (they hold its liveness pipe) before it leaves; once
the workers are gone, the forkserver and the resource tracker see their pipes close and exit.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from node.compute.lifeline import on_exit_of

ENV_WORKERS = "FEDCREDIT_WORKERS"


def default_workers() -> int:
    """Worker count: ``$FEDCREDIT_WORKERS`` if set, else one per available core."""
    env = os.environ.get(ENV_WORKERS)
    if env:
        value = int(env)
        if value < 1:
            raise ValueError(f"{ENV_WORKERS} must be a positive integer, got {env!r}")
        return value
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """Return a new process pool with ``workers`` processes (default: ``default_workers()``).

    Its workers end when the process calling this ends.
    """
    return ProcessPoolExecutor(
        max_workers=workers or default_workers(),
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=die_with_owner,
        initargs=(os.getpid(),),
    )


def die_with_owner(owner: int) -> None:
    """Worker initializer: exit at once when the pool's owner ``owner`` has ended."""
    if not on_exit_of(owner, lambda: os._exit(1)):
        os._exit(1)
