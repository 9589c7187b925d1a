"""Benchmark of the access log at 1,000,000 entries (issue 7).

Measures, on a fresh log in a temporary directory:

- durable appends per second: ``append_many`` in batches of 1,000 (each batch one fsynced
  SQLite transaction), and ``append`` from 8 threads at once (group commit);
- full verification (``verify_log``: re-hash every entry, rebuild the tree, compare with the
  signed checkpoint and the stored tree) in entries per second;
- inclusion proof time (built from stored nodes) and size, at the full size.

Baselines, measured the same way: one fsync per append (no batching), and an inclusion proof
recomputed from all leaf hashes in memory (what a log without stored nodes must do).

Usage: ``python scripts/bench/audit_log.py [--entries N]``. The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit import merkle
from node.audit.entry import AccessEntry, Action, Actor
from node.audit.log import AccessLog
from node.audit.reader import LogReader
from node.audit.tokens import FirmTokenizer
from node.audit.verify import verify_log

BATCH = 1000
THREADS = 8
PER_THREAD = 500
PROOFS = 1000
TARGETS = {
    "appends_per_s": 20_000,
    "verify_seconds_at_1m": 20.0,
    "inclusion_proof_ms": 1.0,
    "proof_hashes": 20,
}


def make_entries(n: int, rng: random.Random) -> list[AccessEntry]:
    """Return ``n`` varied node-RPC entries (a tenth name firm tokens)."""
    tok = FirmTokenizer(b"bench-token-key-bench-token-key!!")
    actors = [Actor(f"Org {i}", f"node-{i}", r) for i in range(4) for r in ("trainer", "bank")]
    firms = [tok.token(f"firm-{i}") for i in range(200)]
    actions = list(Action)
    out = []
    for i in range(n):
        out.append(
            AccessEntry(
                actor=actors[i % len(actors)],
                action=actions[i % len(actions)],
                purpose="training" if i % 3 else "scoring",
                result="allowed" if i % 17 else "denied: field not permitted",
                job_id=f"job-{i // 5000}",
                dataset=("tax", "power", "loans")[i % 3],
                fields=("amount", "term", "monthly_tax"),
                rows=rng.randrange(0, 100_000),
                policy_version="2026.11.1",
                subjects=(firms[i % 200],) if i % 10 == 0 else (),
                details={"rpc": "Release", "round": i % 50},
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.entries
    rng = random.Random(7)
    key = Ed25519PrivateKey.generate()
    pool = make_entries(20_000, rng)
    workdir = Path(tempfile.mkdtemp(prefix="fedcredit-audit-bench-"))
    try:
        # 1. durable batched appends
        log = AccessLog.open(workdir / "log", key, "bench-node")
        batch_rates = []
        t_all = time.perf_counter()
        for start in range(0, n, BATCH):
            count = min(BATCH, n - start)
            offset = start % (len(pool) - BATCH)
            t0 = time.perf_counter()
            log.append_many(pool[offset : offset + count])
            batch_rates.append(count / (time.perf_counter() - t0))
        overall_rate = n / (time.perf_counter() - t_all)

        # 2. concurrent single appends (group commit)
        def worker(w: int) -> None:
            for i in range(PER_THREAD):
                log.append(pool[(w * PER_THREAD + i) % len(pool)])

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(THREADS)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        concurrent_rate = THREADS * PER_THREAD / (time.perf_counter() - t0)

        # baseline: one fsync per append, single thread
        t0 = time.perf_counter()
        single = 0
        while time.perf_counter() - t0 < 2.0:
            log.append(pool[single % len(pool)])
            single += 1
        single_rate = single / (time.perf_counter() - t0)
        cp = log.checkpoint()
        log.close()
        size = cp.size
        db_bytes = sum(p.stat().st_size for p in (workdir / "log").iterdir())

        # 3. full verification
        with LogReader.open(workdir / "log") as reader:
            t0 = time.perf_counter()
            report = verify_log(reader, key.public_key(), cp)
            verify_s = time.perf_counter() - t0
            assert report.ok and report.entries_checked == size

            # 4. inclusion proofs from stored nodes
            proof_ms, verify_ms, hashes = [], [], []
            for index in (rng.randrange(size) for _ in range(PROOFS)):
                t0 = time.perf_counter()
                proof = reader.inclusion_proof(index, size)
                proof_ms.append((time.perf_counter() - t0) * 1000)
                data = reader.entry_bytes(index)
                t0 = time.perf_counter()
                merkle.verify_inclusion(merkle.leaf_hash(data), index, size, proof, cp.root)
                verify_ms.append((time.perf_counter() - t0) * 1000)
                hashes.append(len(proof))

            # baseline: recompute the proof from every leaf hash (no stored nodes)
            leaves = [leaf for _, _, leaf in reader.store.iter_entries(0, size, batch=65536)]
            index = rng.randrange(size)
            t0 = time.perf_counter()
            ranges = merkle.inclusion_ranges(index, size)
            naive = [merkle.root_from_hashes(leaves[s:e]) for s, e in ranges]
            naive_ms = (time.perf_counter() - t0) * 1000
            assert naive == reader.inclusion_proof(index, size)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    figures = {
        "entries": size,
        "appends_per_s": round(statistics.median(batch_rates)),
        "appends_per_s_overall": round(overall_rate),
        "appends_per_s_8_threads_single_append": round(concurrent_rate),
        "verify_seconds": round(verify_s, 2),
        "verify_entries_per_s": round(size / verify_s),
        "inclusion_proof_ms": round(statistics.median(proof_ms), 4),
        "inclusion_verify_ms": round(statistics.median(verify_ms), 4),
        "proof_hashes": int(statistics.median(hashes)),
        "proof_bytes": int(statistics.median(hashes)) * merkle.HASH_SIZE,
        "db_bytes_per_entry": round(db_bytes / size),
    }
    baseline = {
        "appends_per_s_fsync_each": round(single_rate),
        "inclusion_proof_ms_recomputed": round(naive_ms, 1),
    }
    rows = [
        ("durable appends/s, batches of 1000 (median batch)", figures["appends_per_s"],
         f">= {TARGETS['appends_per_s']}"),
        ("durable appends/s, overall", figures["appends_per_s_overall"], ""),
        ("durable appends/s, 8 threads x append()",
         figures["appends_per_s_8_threads_single_append"], ""),
        ("durable appends/s, 1 thread, fsync each (baseline)",
         baseline["appends_per_s_fsync_each"], ""),
        (f"verify {size:,} entries, seconds", figures["verify_seconds"],
         f"< {TARGETS['verify_seconds_at_1m']}"),
        ("verify entries/s", figures["verify_entries_per_s"], ""),
        ("inclusion proof ms (median of 1000)", figures["inclusion_proof_ms"],
         f"< {TARGETS['inclusion_proof_ms']}"),
        ("inclusion proof ms, recomputed from leaves (baseline)",
         baseline["inclusion_proof_ms_recomputed"], ""),
        ("inclusion verify ms (median)", figures["inclusion_verify_ms"], ""),
        ("proof hashes / bytes", f"{figures['proof_hashes']} / {figures['proof_bytes']}",
         f"~{TARGETS['proof_hashes']}"),
        ("store bytes per entry", figures["db_bytes_per_entry"], ""),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>14}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value!s:>14}  {target}")
    print(json.dumps({**figures, "baseline": baseline, "targets": TARGETS}))


if __name__ == "__main__":
    main()
