"""Cost of the per-firm authorization check on the scoring path and at batch scale.

Builds a holder's authorization store with N records (default 1,000,000 firms, one grant
each, a tenth of them expired), then measures one ``ConsentStore.check`` at a time (p50/p99
over 20,000 random firms) and ``check_many`` over batches of 100,000. Baseline: the same
question asked of the store's own SQLite table through its subject index, one query per firm
(what a straightforward implementation would do), in the same process.
Last line: JSON with ``check_us_p99`` and ``batch_checks_per_s`` beside the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from node.audit.tokens import FirmTokenizer
from node.consent.record import Authorization, Evidence
from node.consent.store import ConsentStore, token_keys


def build(path: Path, n: int, now: float) -> list[str]:
    tokenizer = FirmTokenizer(os.urandom(32))
    tokens = [tokenizer.token(f"91110000{i:09d}X") for i in range(n)]
    evidence = Evidence("ab" * 32, "branch-1", now - 86_400)
    records = [
        Authorization(f"auth-{i:016x}", t, "bank-a", ("loan_approval",),
                      now - 86_400, now + (-3_600 if i % 10 == 0 else 86_400 * 365), evidence)
        for i, t in enumerate(tokens)
    ]  # fmt: skip
    store = ConsentStore(path)
    store.add(records)
    store.close()
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "authorizations.sqlite"
        t0 = time.perf_counter()
        tokens = build(path, args.records, now)
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        store = ConsentStore(path)
        loaded = time.perf_counter() - t0
        rng = np.random.default_rng(1)
        sample = [tokens[i] for i in rng.integers(0, len(tokens), 20_000)]
        single = []
        for token in sample:
            t = time.perf_counter_ns()
            store.check(token, "bank-a", "scoring", now)
            single.append((time.perf_counter_ns() - t) / 1000)
        batch = [tokens[i] for i in rng.integers(0, len(tokens), 100_000)]
        hi, lo = token_keys(batch)
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            allowed, _ = store.check_many(hi, lo, "bank-a", "scoring", now)
            runs.append(time.perf_counter() - t)
        db = store._db  # the baseline asks the same table, through its index
        base = []
        for token in sample[:5000]:
            t = time.perf_counter_ns()
            db.execute(
                "SELECT record_id FROM authorizations WHERE subject = ? AND recipient = ? "
                "AND valid_from <= ? AND valid_to > ? AND revoked_at IS NULL "
                "AND purposes LIKE '%loan_approval%' LIMIT 1",
                (token, "bank-a", now, now),
            ).fetchone()
            base.append((time.perf_counter_ns() - t) / 1000)
    p99 = float(np.percentile(single, 99))
    per_s = len(batch) / statistics.median(runs)
    base_p99 = float(np.percentile(base, 99))
    base_per_s = 1e6 / statistics.median(base)
    print(f"store: {args.records:,} records (built {built:.1f} s, loaded {loaded:.1f} s)")
    print(f"{'':24}{'p50 us':>10}{'p99 us':>10}{'checks/s':>14}")
    print(f"{'check / check_many':24}{statistics.median(single):10.1f}{p99:10.1f}{per_s:14,.0f}")
    print(f"{'SQLite index (baseline)':24}{statistics.median(base):10.1f}{base_p99:10.1f}"
          f"{base_per_s:14,.0f}")  # fmt: skip
    print(f"allowed in the batch: {allowed.mean():.3f} (a tenth expired)")
    print(json.dumps({
        "records": args.records, "check_us_p50": round(statistics.median(single), 2),
        "check_us_p99": round(p99, 2), "batch_checks_per_s": round(per_s),
        "baseline_sqlite_check_us_p99": round(base_p99, 2),
        "baseline_sqlite_checks_per_s": round(base_per_s),
        "speedup_batch_vs_baseline": round(per_s / base_per_s, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
