"""Benchmark: ECDH-PSI between two parties, 1,000,000 ids against 100,000 (50,000 in common).

Runs the leader (100,000 ids, the bank), the follower (1,000,000 ids) and the coordinator's
summary role as threads of one process over an in-memory hub, sharing one worker pool, end to
end: validate, hash, blind, exchange, double-blind, intersect, deliver the shared index. Then
runs the baseline, ``openmined-psi`` (ECDH, raw data structure: no false positives), on the
same sets in the same process. Prints a table and, as its last line, one JSON object.

Usage (from the repository root)::

    python scripts/bench/psi.py [--big 1000000] [--small 100000] [--common 50000]
                                [--repeats 1] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from node.compute import default_workers, worker_pool
from node.data import uscc
from node.jobs.hooks import MemoryHooks
from node.psi import (
    PsiResult,
    PsiSpec,
    run_psi_coordinator,
    run_psi_follower,
    run_psi_leader,
)
from node.transport.memory import MemoryHub


def make_sets(big: int, small: int, common: int, seed: int) -> tuple[list[str], list[str]]:
    """Distinct valid codes: ``small`` at one party, ``big`` at the other, ``common`` shared."""
    rng = random.Random(seed)
    codes: set[str] = set()
    while len(codes) < big + small - common:
        codes.add(uscc.generate(rng))
    pool = sorted(codes)
    rng.shuffle(pool)
    shared = pool[:common]
    small_ids = shared + pool[common:small]
    big_ids = shared + pool[small:]
    rng.shuffle(small_ids)
    rng.shuffle(big_ids)
    return big_ids, small_ids


def run_ours(big_ids: list[str], small_ids: list[str], executor: Any) -> tuple[float, int]:
    spec = PsiSpec(leader="bank", followers=("gov",), timeout_s=600.0)
    hub = MemoryHub("bench-psi", timeout=600.0)
    results: dict[str, Any] = {}

    def party(name: str, fn: Any, ids: list[str]) -> None:
        try:
            results[name] = fn(hub.channel(name), MemoryHooks(), spec, ids, executor)
        except Exception as exc:  # reported below
            results[name] = exc

    def coordinator() -> None:
        results["coordinator"] = run_psi_coordinator(
            hub.channel("coordinator"), MemoryHooks(), spec
        )

    threads = [
        threading.Thread(target=party, args=("bank", run_psi_leader, small_ids)),
        threading.Thread(target=party, args=("gov", run_psi_follower, big_ids)),
        threading.Thread(target=coordinator),
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    for name in ("bank", "gov"):
        if not isinstance(results.get(name), PsiResult):
            raise SystemExit(f"our PSI failed at {name}: {results.get(name)!r}")
    bank, gov = results["bank"], results["gov"]
    same = [small_ids[i] for i in bank.rows] == [big_ids[i] for i in gov.rows]
    if not same:
        raise SystemExit("our PSI delivered different row orders to the two parties")
    return seconds, bank.size


def run_baseline(big_ids: list[str], small_ids: list[str]) -> tuple[float, int]:
    """openmined-psi: the big set is the server's, the small set the client's (who learns)."""
    import private_set_intersection.python as psi

    started = time.perf_counter()
    server = psi.server.CreateWithNewKey(True)
    client = psi.client.CreateWithNewKey(True)
    setup = server.CreateSetupMessage(0.0, len(small_ids), big_ids, psi.DataStructure.RAW)
    request = client.CreateRequest(small_ids)
    response = server.ProcessRequest(request)
    found = client.GetIntersection(setup, response)
    return time.perf_counter() - started, len(found)


def _worker_peak(pause: float) -> tuple[int, float]:
    """Run in a worker: its pid and peak resident memory in MiB (the pause spreads the probes)."""
    time.sleep(pause)
    return os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def peak_rss_mb(executor: Any, workers: int) -> tuple[float, float]:
    """Peak resident memory of this process and the sum over the pool's workers, in MiB.

    Workers are started by a fork server, so they are not this process's children and
    ``RUSAGE_CHILDREN`` does not see them: each worker reports its own peak instead.
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    peaks: dict[int, float] = {}
    for _ in range(5):
        futures = [executor.submit(_worker_peak, 0.2) for _ in range(workers)]
        peaks.update(f.result() for f in futures)
        if len(peaks) >= workers:
            break
    return own, sum(peaks.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--common", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    big_ids, small_ids = make_sets(args.big, args.small, args.common, seed=20261129)
    total = len(big_ids) + len(small_ids)
    workers = default_workers()

    times: list[float] = []
    with worker_pool(workers) as executor:
        list(executor.map(abs, range(workers)))  # start the workers before timing
        for _ in range(args.repeats):
            seconds, found = run_ours(big_ids, small_ids, executor)
            if found != args.common:
                raise SystemExit(f"our PSI found {found} common ids, expected {args.common}")
            times.append(seconds)
        own_mb, worker_mb = peak_rss_mb(executor, workers)
    ours = statistics.median(times)

    base_times: list[float] = []
    if not args.skip_baseline:
        for _ in range(args.repeats):
            seconds, found = run_baseline(big_ids, small_ids)
            if found != args.common:
                raise SystemExit(f"openmined-psi found {found} common ids, expected {args.common}")
            base_times.append(seconds)
    base = statistics.median(base_times) if base_times else float("nan")

    print(
        f"ECDH-PSI, {args.big:,} ids x {args.small:,} ids, {args.common:,} in common, "
        f"{workers} workers, median of {args.repeats}"
    )
    print(f"{'implementation':<34}{'seconds':>10}{'ids/s':>12}")
    print(f"{'fedcredit (X25519, 2 parties)':<34}{ours:>10.1f}{total / ours:>12,.0f}")
    if base_times:
        print(f"{'openmined-psi 2.0.4 (ECDH, raw)':<34}{base:>10.1f}{total / base:>12,.0f}")
        print(f"speedup (baseline seconds / ours): {base / ours:.2f}x")
    print(
        f"peak RSS: main process {own_mb:,.0f} MiB (both parties and the data), "
        f"workers {worker_mb:,.0f} MiB together"
    )
    figures = {
        "ids": total,
        "seconds": round(ours, 2),
        "ids_per_s": round(total / ours),
        "peak_rss_mb": round(own_mb + worker_mb),
        "peak_rss_main_mb": round(own_mb),
        "peak_rss_workers_mb": round(worker_mb),
        "baseline_seconds": round(base, 2) if base_times else None,
        "baseline_ids_per_s": round(total / base) if base_times else None,
        "speedup": round(base / ours, 2) if base_times else None,
        "workers": workers,
        "repeats": args.repeats,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
