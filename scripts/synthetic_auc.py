"""Bank-only vs all-holders AUC on the synthetic federation (the figures in docs/synthetic-data.md).

Run from the repository root::

    python scripts/synthetic_auc.py                 # default federation: 20,000 firms, seed 7
    python scripts/synthetic_auc.py --n-firms 100000 --seed 1

Prints a table, then as the last line one JSON object with the figures. Needs scikit-learn
(the ``dev`` or ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node.data.synthetic import SyntheticConfig, build_federation
from node.data.synthetic.separability import separability


def main(argv: list[str] | None = None) -> int:
    """Generate the federation, time it, fit both models, print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-firms", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3, help="generation timings (median)")
    args = parser.parse_args(argv)

    config = SyntheticConfig(n_firms=args.n_firms, seed=args.seed)
    timings = []
    for _ in range(max(1, args.repeats)):
        start = time.perf_counter()
        federation = build_federation(config)
        timings.append(time.perf_counter() - start)
    report = separability(federation)
    bank = federation.bank

    rows = [
        ("firms in the economy", f"{config.n_firms:,}"),
        ("government / bank / third party rows", f"{len(federation.government):,} / "
         f"{len(bank):,} / {len(federation.third_party):,}"),
        ("default rate at the bank", f"{bank['default_12m'].mean():.2%}"),
        ("firms at all three holders (evaluated)", f"{report.n_rows:,}"),
        ("defaults among them", f"{report.n_defaults:,}"),
        ("bank-only logistic regression AUC", f"{report.bank_only_auc:.3f}"),
        ("all-holders logistic regression AUC", f"{report.all_holders_auc:.3f}"),
        ("gap", f"{report.gap:+.3f}"),
        (f"generation time, median of {len(timings)}", f"{statistics.median(timings):.2f} s"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    print(f"synthetic federation, seed {config.seed} (5-fold out-of-fold AUC)")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    print(
        json.dumps(
            {
                "n_firms": config.n_firms,
                "seed": config.seed,
                "evaluated_rows": report.n_rows,
                "defaults": report.n_defaults,
                "bank_default_rate": round(float(bank["default_12m"].mean()), 4),
                "bank_only_auc": round(report.bank_only_auc, 4),
                "all_holders_auc": round(report.all_holders_auc, 4),
                "auc_gap": round(report.gap, 4),
                "generate_seconds_median": round(statistics.median(timings), 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
