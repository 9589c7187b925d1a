"""The Ray engine is a drop-in Executor: same results as local worker processes, bit for bit.

A local Ray instance (two CPUs, no dashboard) is started once for this module and stopped at
its end, where the fixture checks that no Ray process is left behind.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import Executor

import numpy as np
import pytest

from node.compute import worker_pool
from node.compute.ray_engine import RayExecutor
from node.crypto.paillier import decrypt_many, encrypt_many, generate_keypair
from node.psi import PsiResult, PsiSpec
from node.psi.scalars import invertible_scalar
from node.psi.workers import blind_codes, reblind_points, unblind_points
from node.training.vertical.ops import PaillierOps
from tests.node.psi.harness import make_codes, run_job

pytestmark = pytest.mark.slow

# 1024-bit Paillier keys: the engines move integers and do not depend on the key size, and a
# smaller key keeps the bulk work of these tests to seconds.
KEY_BITS = 1024


# What Ray starts: its daemons and its workers (named "ray::..." once they run a task).
RAY_PROCESSES = ("raylet", "gcs_server", "default_worker.py", "log_monitor.py", "ray::", "agent")


@pytest.fixture(scope="module")
def ray_pool() -> Iterator[Executor]:
    executor = RayExecutor(num_cpus=2)
    yield executor
    executor.shutdown(cancel_futures=True)
    deadline = time.monotonic() + 30
    while _ray_descendants() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _ray_descendants() == [], "Ray processes outlived the executor's shutdown"
    with pytest.raises(RuntimeError, match="after shutdown"):
        executor.submit(pow, 2, 5)


@pytest.fixture(scope="module")
def local_pool() -> Iterator[Executor]:
    with worker_pool(2) as executor:
        yield executor


def test_psi_blinding_is_bit_identical(ray_pool: Executor, local_pool: Executor) -> None:
    # prepare
    salt, scalar = os.urandom(32), os.urandom(32)
    alpha, *undo = invertible_scalar()
    codes = make_codes(3000, seed=41)
    chunks = [codes[i : i + 500] for i in range(0, len(codes), 500)]

    def run(pool: Executor) -> list[bytes]:
        blinded = [pool.submit(blind_codes, salt, scalar, c) for c in chunks]
        again = [pool.submit(reblind_points, alpha, f.result()) for f in blinded]
        back = [pool.submit(unblind_points, *undo, f.result()) for f in again]
        return [f.result() for f in back]

    # execute
    on_ray, on_local = run(ray_pool), run(local_pool)
    # assert
    assert on_ray == on_local
    assert on_ray == [blind_codes(salt, scalar, c) for c in chunks]


def test_psi_job_on_ray_finds_the_reference_intersection(ray_pool: Executor) -> None:
    # prepare
    codes = make_codes(2500, seed=42)
    bank, gov = codes[:900], codes[400:]
    spec = PsiSpec(leader="bank", followers=("gov",), batch_size=200, timeout_s=60.0)
    # execute
    run = run_job(spec, {"bank": bank, "gov": gov}, pool=ray_pool, timeout=60.0)
    # assert
    leader, follower = run.outcome["bank"], run.outcome["gov"]
    assert isinstance(leader, PsiResult) and isinstance(follower, PsiResult)
    assert leader.rows is not None and follower.rows is not None
    assert {bank[i] for i in leader.rows} == set(bank) & set(gov)
    assert [bank[i] for i in leader.rows] == [gov[i] for i in follower.rows]


def test_paillier_bulk_work_is_bit_identical(ray_pool: Executor, local_pool: Executor) -> None:
    # prepare: encryption is randomised, so it is compared through decryption; every step
    # after it (decryption, homomorphic weighted sums) is deterministic and compared bit for bit
    public, private = generate_keypair(KEY_BITS)
    values = [(-1) ** i * (i * 7919) for i in range(1200)]
    cells = encrypt_many(public, values, pool=local_pool, chunk=300)
    scalars = np.arange(len(values) * 3, dtype=np.int64).reshape(len(values), 3) % 97
    ops = PaillierOps(public)
    # execute
    encrypted_on_ray = encrypt_many(public, values, pool=ray_pool, chunk=300)
    decrypted = {
        name: decrypt_many(private, cells, pool=pool, signed=True, chunk=300)
        for name, pool in (("ray", ray_pool), ("local", local_pool))
    }
    sums = {
        name: ops.inner(cells, scalars, pool)
        for name, pool in (("ray", ray_pool), ("local", local_pool))
    }
    # assert
    assert decrypted["ray"] == decrypted["local"] == values
    assert decrypt_many(private, encrypted_on_ray, signed=True) == values
    assert encrypted_on_ray != cells  # fresh randomness, as in local workers
    assert sums["ray"] == sums["local"] == ops.inner(cells, scalars, None)


def test_task_errors_reach_the_caller_as_themselves(ray_pool: Executor) -> None:
    # execute
    future = ray_pool.submit(reblind_points, os.urandom(32), bytes(33))
    # assert: the worker's own ValueError, not Ray's wrapper
    with pytest.raises(ValueError, match="whole number of 32-byte points") as info:
        future.result()
    assert type(info.value) is ValueError


def test_ray_workers_run_at_the_priority_of_local_workers(
    ray_pool: Executor, local_pool: Executor
) -> None:
    # execute: Ray's default would renice its workers to 15
    niceness = {
        name: pool.submit(os.nice, 0).result(timeout=60)
        for name, pool in (("ray", ray_pool), ("local", local_pool))
    }
    # assert
    assert niceness["ray"] == niceness["local"]


def test_a_cancelled_task_never_delivers(ray_pool: Executor) -> None:
    # prepare
    future = ray_pool.submit(time.sleep, 30)
    # execute
    cancelled = future.cancel()
    # assert
    assert cancelled and future.cancelled()
    assert ray_pool.submit(pow, 3, 4).result(timeout=60) == 81


def _ray_descendants() -> list[str]:
    """Command lines of this process's descendants that belong to Ray."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                parents[int(entry)] = int(stat.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmd:
                commands[int(entry)] = cmd.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    found: list[str] = []
    for pid, command in commands.items():
        chain, seen = pid, 0
        while chain not in (0, 1, os.getpid()) and seen < 64:
            chain, seen = parents.get(chain, 0), seen + 1
        head = " ".join(command.split()[:2])
        if chain == os.getpid() and any(name in head for name in RAY_PROCESSES):
            found.append(command)
    return found
