"""Benchmark: mask 1,000,000 rows x 20 mixed fields under a realistic release policy.

Run from the repository root::

    python scripts/bench/masking.py [--rows 1000000] [--repeats 3]

The policy (written to a temporary file and loaded like any node policy) releases a bank's
extract of government-style and bank-style fields: tokens, keyed hashes, the five Chinese
character masks, generalizations, date truncation and per-entity shift, noise, top/bottom
coding and plain numbers. The engine is timed end to end (decision plus every transformation)
on one process; the median of the repeats is quoted. The baseline is the obvious per-value
Python implementation of the same transformations (a loop over the rows with ``hmac`` and
string slicing), timed on a slice and quoted per value. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from node.data.synthetic import identity
from node.policy import PolicyEngine, Purpose, Role
from node.policy.transforms import TransformContext

TARGET_VALUES_PER_S = 2_000_000

POLICY = """
fedcredit_policy: 1
roles: {bank: [release]}
organizations: {bank-a: bank}
datasets:
  extract:
    id_field: uscc
    fields:
      uscc: {class: C3, kind: string}
      legal_rep_name: {class: C3, kind: string}
      legal_rep_id_number: {class: C3, kind: string}
      legal_rep_phone: {class: C3, kind: string}
      account_no: {class: C3, kind: string}
      firm_name: {class: C2, kind: string}
      address_code: {class: C2, kind: string}
      registration_date: {class: C2, kind: date}
      last_filing_date: {class: C2, kind: date}
      industry_code: {class: public, kind: string}
      tax_paid_12m: {class: C2, kind: numeric}
      tax_growth_12m: {class: C2, kind: numeric}
      ss_headcount: {class: C2, kind: numeric}
      electricity_kwh_12m: {class: C2, kind: numeric}
      court_amount_24m: {class: C2, kind: numeric}
      loan_amount: {class: C2, kind: numeric}
      invoice_total_12m: {class: C2, kind: numeric}
      overdue_count_12m: {class: C2, kind: numeric}
      ecommerce_rating: {class: C1, kind: numeric}
      legal_rep_age: {class: C2, kind: numeric}
    rules:
      - {fields: [uscc], to: {roles: [bank]}, purposes: [release], transform: token}
      - fields: [legal_rep_name]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: mask, style: person_name}
      - fields: [legal_rep_id_number]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: mask, style: resident_id}
      - fields: [legal_rep_phone]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: mask, style: mobile}
      - fields: [account_no]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: mask, style: bank_card}
      - {fields: [firm_name], to: {roles: [bank]}, purposes: [release], transform: hash}
      - fields: [address_code]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: region_prefix, level: city}
      - fields: [registration_date]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: date_truncate, unit: month}
      - fields: [last_filing_date]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: date_shift, max_days: 30}
      - {classes: [public], to: {roles: [bank]}, purposes: [release], transform: keep}
      - fields: [tax_paid_12m, loan_amount]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: bucket, width: 10000}
      - fields: [tax_growth_12m]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: clip, lower: -1, upper: 2}
      - fields: [ss_headcount]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: bucket, edges: [0, 10, 50, 100, 300, 1000], output: label}
      - fields: [electricity_kwh_12m]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: noise, scale: 500, round_to: 100}
      - fields: [court_amount_24m]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: clip, upper: 1000000}
      - fields: [invoice_total_12m, overdue_count_12m]
        to: {roles: [bank]}
        purposes: [release]
        transform: keep
      - {classes: [C1], to: {roles: [bank]}, purposes: [release], transform: keep}
      - fields: [legal_rep_age]
        to: {roles: [bank]}
        purposes: [release]
        transform: {type: age_band, width: 10}
"""


@dataclass(frozen=True)
class Caller:
    organization: str
    node_id: str
    role: str


def make_frame(n: int, seed: int = 1) -> pd.DataFrame:
    """Synthetic rows with the shapes of the federation's tables (valid ids, Chinese names)."""
    rng = np.random.default_rng(seed)
    divisions = np.array(["110105", "310115", "440305", "330106", "320102", "510107"])
    division = divisions[rng.integers(0, len(divisions), n)]
    birth_days = rng.integers(-9000, 12000, n)  # 1945..2002
    births = np.datetime64("1970-01-01") + birth_days.astype("timedelta64[D]")
    body = np.char.add(
        division.astype("U6"),
        np.char.add(
            np.datetime_as_string(births, unit="D").astype("U10").astype(object).astype(str),
            rng.integers(100, 999, n).astype(str),
        ),
    )
    body = np.char.replace(body, "-", "")
    weights = np.array([pow(2, 17 - i, 11) for i in range(17)])
    digits = np.frombuffer("".join(body.tolist()).encode(), dtype=np.uint8).reshape(n, 17) - 48
    check = np.array(list("10X98765432"))[(digits * weights).sum(axis=1) % 11]
    reg_days = rng.integers(10000, 20000, n).astype("timedelta64[D]")
    filing_days = rng.integers(19000, 20300, n).astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "uscc": pd.array(identity.uscc_codes(rng, n), dtype="str"),
            "legal_rep_name": pd.array(identity.person_names(rng, n), dtype="str"),
            "legal_rep_id_number": pd.array(np.char.add(body, check), dtype="str"),
            "legal_rep_phone": pd.array(identity.mobile_numbers(rng, n), dtype="str"),
            "account_no": pd.array(identity.account_numbers(rng, n), dtype="str"),
            "firm_name": pd.array(
                np.char.add("企业", rng.integers(0, n // 2 + 1, n).astype(str)), dtype="str"
            ),
            "address_code": pd.array(division, dtype="str"),
            "registration_date": pd.array(
                np.datetime_as_string(np.datetime64("1970-01-01") + reg_days, unit="D"),
                dtype="str",
            ),
            "last_filing_date": pd.array(
                np.datetime_as_string(np.datetime64("1970-01-01") + filing_days, unit="D"),
                dtype="str",
            ),
            "industry_code": pd.array(
                np.array(["C13", "F51", "G54", "M73", "I65"])[rng.integers(0, 5, n)], dtype="str"
            ),
            "tax_paid_12m": rng.lognormal(11, 1.5, n).round(2),
            "tax_growth_12m": rng.normal(0.05, 0.4, n).round(4),
            "ss_headcount": rng.integers(0, 800, n),
            "electricity_kwh_12m": rng.lognormal(10, 1, n).round(1),
            "court_amount_24m": np.where(rng.random(n) < 0.05, rng.lognormal(11, 2, n), 0.0),
            "loan_amount": rng.lognormal(13, 1, n).round(-3),
            "invoice_total_12m": rng.lognormal(13, 1.2, n).round(2),
            "overdue_count_12m": rng.poisson(0.3, n),
            "ecommerce_rating": np.where(
                rng.random(n) < 0.3, np.nan, rng.uniform(3, 5, n).round(1)
            ),
            "legal_rep_age": rng.integers(20, 80, n),
        }
    )


# -- baseline: the obvious per-value Python implementation ------------------------------------


def _mask(v: str, head: int, tail: int) -> str:
    if len(v) <= head + tail:
        return "*" * len(v)
    return v[:head] + "*" * (len(v) - head - tail) + (v[-tail:] if tail else "")


def baseline_row(row: dict, key: bytes, token_key: bytes) -> dict:
    """One row through per-value Python versions of the same transformations."""
    out = {}
    out["uscc"] = "tk_" + hmac.new(token_key, row["uscc"].encode(), "sha256").hexdigest()[:32]
    out["legal_rep_name"] = _mask(row["legal_rep_name"], 1, 0)
    out["legal_rep_id_number"] = _mask(row["legal_rep_id_number"], 3, 4)
    out["legal_rep_phone"] = _mask(row["legal_rep_phone"], 3, 4)
    out["account_no"] = _mask(row["account_no"], 6, 4)
    out["firm_name"] = hmac.new(key, row["firm_name"].encode(), "sha256").hexdigest()
    out["address_code"] = row["address_code"][:4] + "00"
    out["registration_date"] = row["registration_date"][:8] + "01"
    d = pd.Timestamp(row["last_filing_date"])
    h = hmac.new(key, row["uscc"].encode(), "sha256").digest()
    out["last_filing_date"] = str((d + pd.Timedelta(days=int.from_bytes(h[:8]) % 60 - 30)).date())
    out["industry_code"] = row["industry_code"]
    out["tax_paid_12m"] = (row["tax_paid_12m"] // 10000) * 10000
    out["loan_amount"] = (row["loan_amount"] // 10000) * 10000
    out["tax_growth_12m"] = min(max(row["tax_growth_12m"], -1), 2)
    hc = row["ss_headcount"]
    out["ss_headcount"] = next(
        f"[{a}, {b})" for a, b in [(0, 10), (10, 50), (50, 100), (100, 300), (300, 1e9)] if hc < b
    )
    out["electricity_kwh_12m"] = (
        round((row["electricity_kwh_12m"] + np.random.laplace(0, 500)) / 100) * 100
    )
    out["court_amount_24m"] = min(row["court_amount_24m"], 1_000_000)
    out["invoice_total_12m"] = row["invoice_total_12m"]
    out["overdue_count_12m"] = row["overdue_count_12m"]
    out["ecommerce_rating"] = row["ecommerce_rating"]
    a = row["legal_rep_age"] // 10 * 10
    out["legal_rep_age"] = f"{a}-{a + 9}"
    return out


def pin_to_one_core() -> str:
    """Run on one CPU (the target is per core): pin the process and Arrow's thread pools."""
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity on this platform)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    args = parser.parse_args()
    pinning = pin_to_one_core()

    t0 = time.perf_counter()
    frame = make_frame(args.rows)
    gen_s = time.perf_counter() - t0
    n_fields = frame.shape[1]
    values = args.rows * n_fields

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(POLICY, encoding="utf-8")
        engine = PolicyEngine.load(path, os.urandom(32))
    caller = Caller("bank-a", "bench", "bank")

    # per-field breakdown (one pass)
    policy = engine.policy
    ctx = TransformContext(os.urandom(32), "bank-a", frame, "uscc")
    per_field: list[tuple[str, str, float]] = []
    for name in frame.columns:
        rule = policy.lookup("extract", name, Purpose.RELEASE, Role.BANK, "bank-a")
        assert rule is not None
        ctx.field = name
        t = time.perf_counter()
        rule.transform.apply(frame[name], ctx)
        per_field.append((name, rule.transform.describe(), time.perf_counter() - t))

    # end to end, median of the repeats
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        masked = engine.apply(caller, "release", "extract", frame)
        times.append(time.perf_counter() - t)
    assert masked.frame.shape == frame.shape
    median_s = statistics.median(times)
    values_per_s = values / median_s

    # baseline on a slice
    rows = frame.head(args.baseline_rows).to_dict("records")
    key, token_key = os.urandom(32), os.urandom(32)
    t = time.perf_counter()
    for row in rows:
        baseline_row(row, key, token_key)
    base_s = time.perf_counter() - t
    baseline_values_per_s = len(rows) * n_fields / base_s

    print(f"masking benchmark: {args.rows:,} rows x {n_fields} fields = {values:,} values")
    print(f"(data generation {gen_s:.1f} s, not timed; {pinning})\n")
    print(f"{'field':<22} {'transformation':<48} {'s':>7} {'Mvalues/s':>10}")
    for name, how, sec in per_field:
        print(f"{name:<22} {how[:48]:<48} {sec:7.3f} {args.rows / sec / 1e6:10.2f}")
    print()
    print(f"end to end (engine.apply), runs: {', '.join(f'{x:.2f}' for x in times)} s")
    print(f"median {median_s:.2f} s  ->  {values_per_s:,.0f} values/s")
    print(f"baseline per-value Python on {len(rows):,} rows: {baseline_values_per_s:,.0f} values/s")
    print(f"target {TARGET_VALUES_PER_S:,} values/s on one core")
    print(
        json.dumps(
            {
                "rows": args.rows,
                "fields": n_fields,
                "values": values,
                "median_s": round(median_s, 3),
                "values_per_s": round(values_per_s),
                "baseline_values_per_s": round(baseline_values_per_s),
                "speedup_vs_baseline": round(values_per_s / baseline_values_per_s, 1),
                "target_values_per_s": TARGET_VALUES_PER_S,
                "meets_target": values_per_s >= TARGET_VALUES_PER_S,
            }
        )
    )


if __name__ == "__main__":
    main()
