"""Benchmark: trace leaked releases back to their recipient, and catch abnormal access.

Run from the repository root::

    python scripts/bench/traceability.py [--recipients 50] [--rows 10000] [--trials 200]

**Fingerprints.** A synthetic government table of ``--rows`` firms is released through the
real path (``build_release`` with the node's ``GovernedReleases`` marker) under the shipped
``policies/government.yaml`` to ``--recipients`` bank organizations: every recipient receives
the same rows (the hardest case: only the fingerprint tells the copies apart). The default
policy gives three released fields a tolerance (two growth rates, 0.001; electricity, 100 kWh),
so each release carries its mark in three of its 17 columns. Each attack takes a random
recipient's copy (two for collusion), mangles it and hands the result to ``trace_table``, the
function behind ``fedcredit trace``, which tests it against all recorded releases:

- ``as_released``: the copy unchanged (where the baseline works);
- ``subset_10pct``: 10 % of the rows; ``reorder``: rows and columns shuffled;
- ``drop_columns``: a random half of the columns dropped, keeping at least one carrier column
  (a copy without any carrier column holds no fingerprint at all, see docs/governance.md);
- ``noise_30pct``: in every numeric column 30 % of the values rounded to 2 significant
  digits or scaled by a random factor in [0.95, 1.05];
- ``format_change``: written and read back in another format than the release's (releases
  alternate Parquet and CSV; targets CSV, Excel .xlsx, JSON, Parquet in turn), with the real
  writers and the tracer's reader;
- ``collusion_2``: two recipients' copies merged cell by cell (each value from either copy);
  ``collusion_2_average``: their numeric values averaged; ``combined``: 10 % subset, shuffled,
  half the columns dropped, 30 % noise and a format change at once.

A trial succeeds when the accused set is exactly the leaker (for collusion: non-empty and
only colluders). ``false_accusations`` counts accusations over ``--innocent`` leaks of data
never released: subsets of unmarked extracts of the same rows and of a second synthetic
economy marked under keys the node never issued. The baseline is what the node had before:
comparing the leaked file's SHA-256 with the hashes in the release records. Embedding speed
is the marker alone (the policy's masking is timed separately), against the obvious per-cell
Python loop (HMAC per value) on the same rows and columns.

**Monitor.** A month of synthetic traffic for ``--principals`` principals of four kinds
(analysts pulling extracts in business hours, loan-scoring systems, nightly batch extracts,
round-the-clock services; volumes, sizes, hours, recurring queries and 1-2 % refusals drawn
per principal) is fed through ``AccessMonitor.observe`` in time order, with ``--attacks`` of
each kind injected after the first week: scraping (20x the principal's daily rows within
1-2 hours), enumeration (150-600 firms scored without applications, or walked through as
many distinct one-row queries, over 1-3 hours), off-hours bulk release (10-50x its median
size between 01:00 and 05:00) and denial probing (15-40 refused requests within 5-30
minutes). An attack is detected when an alert of at least medium severity (what the default
configuration delivers and contains on) names its principal between its start and an hour
after its end; ``false_alarm_rate`` is the share of attack-free principal-days with such an
alert. The baseline is a static quota per principal (rows a day, calls a minute, refusals a
day) set at the 99th percentile of the whole population's attack-free days (tuned with
hindsight, the best a fixed quota can do). ``seconds_to_containment`` is measured on real
processes: a coordinator and a government node start, a bank certificate walks a release
filter through the industry codes as fast as it can, and the clock runs from its first
request until the node refuses it; the enforcement latency (the alert's log time to the
refusal) is shown beside it.

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import io
import json
import math
import os
import statistics
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pandas as pd
import yaml
from pyarrow import ArrowException

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from coordinator.local.synthetic import synthetic_federation
from node.data.synthetic import SyntheticConfig, build_federation
from node.governance.config import AlertSettings, MonitorSettings
from node.governance.fingerprint import DEFAULT_MAX_FALSE_ACCUSATION, embed_frame
from node.governance.monitor import AccessEvent, AccessMonitor, Alert, EventKind
from node.governance.monitor.profile import DAY
from node.governance.registry import RegisteredRelease, ReleaseRegistry
from node.governance.releases import GovernedReleases
from node.governance.store import GovernanceDB
from node.governance.tabular import read_table, write_table
from node.governance.trace import trace_table
from node.policy import PolicyEngine, ReleaseRequest, build_release
from node.policy.release import serialize
from node.transport.client import open_channel
from protos.fedcredit.v1 import node_pb2, node_pb2_grpc

REPO = Path(__file__).resolve().parents[2]
TARGET_ACCURACY = 0.99
TARGET_BOUND = 1e-6
TARGET_EMBED_ROWS_PER_S = 200_000
RELEASE_FIELDS = (
    "uscc", "firm_name", "legal_rep_name", "legal_rep_id_number", "legal_rep_phone",
    "address_code", "registration_date", "industry_code", "tax_paid_12m", "tax_growth_12m",
    "tax_arrears_months", "ss_headcount", "ss_headcount_change_6m", "electricity_kwh_12m",
    "electricity_growth_12m", "court_judgments_24m", "court_amount_24m",
)  # fmt: skip
CONVERSIONS = ("csv", "xlsx", "json", "parquet")


@dataclass(frozen=True)
class Recipient:
    organization: str
    node_id: str
    role: str = "bank"


class TimedMarker:
    """The node's marker, timed, and remembering each release's unmarked frame (utility)."""

    def __init__(self, inner: GovernedReleases) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.rows = 0
        self.last_unmarked: pd.DataFrame | None = None

    def mark(
        self, release_id: str, frame: pd.DataFrame, tolerances: Mapping[str, float]
    ) -> tuple[pd.DataFrame, dict[str, Any]]:
        self.last_unmarked = frame
        start = time.perf_counter()
        out = self.inner.mark(release_id, frame, tolerances)
        self.seconds += time.perf_counter() - start
        self.rows += len(frame)
        return out

    def subjects(self, ids: pd.Series) -> tuple[str, ...]:
        return self.inner.subjects(ids)


@dataclass
class World:
    engine: PolicyEngine
    governed: GovernedReleases
    frame: pd.DataFrame
    releases: list[RegisteredRelease]
    copies: dict[str, pd.DataFrame]  # release id -> released table as sent (decoded)
    formats: dict[str, str]
    unmarked: dict[str, pd.DataFrame]
    tolerances: dict[str, float]
    embed_rows_per_s: float
    release_rows_per_s: float


def bench_policy(folder: Path, recipients: int) -> Path:
    """The shipped government policy with ``recipients`` bank organizations registered."""
    raw = yaml.safe_load((REPO / "policies" / "government.yaml").read_text())
    for i in range(recipients):
        raw["organizations"][f"bank-{i + 1:02d}"] = ["bank"]
    path = folder / "government.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def read_table_bytes(data: bytes, fmt: str) -> pd.DataFrame:
    """A released table as the recipient decodes it."""
    if fmt == "parquet":
        return pd.read_parquet(io.BytesIO(data))
    return pd.read_csv(io.BytesIO(data))


def government_rows(rows: int, seed: int) -> pd.DataFrame:
    n = int(rows / 0.9) + 200
    gov = build_federation(SyntheticConfig(n_firms=n, seed=seed)).government
    if len(gov) < rows:
        raise SystemExit(f"synthetic economy too small: {len(gov)} < {rows} rows")
    return gov.iloc[:rows].reset_index(drop=True)


def release_all(folder: Path, recipients: int, rows: int, seed: int) -> World:
    secret = os.urandom(32)
    engine = PolicyEngine.load(bench_policy(folder, recipients), secret)
    registry = ReleaseRegistry(GovernanceDB(folder / "governance"))
    governed = GovernedReleases(secret, registry, lambda action, details: None)
    marker = TimedMarker(governed)
    frame = government_rows(rows, seed)
    copies, unmarked = {}, {}
    start = time.perf_counter()
    for i in range(recipients):
        who = Recipient(f"bank-{i + 1:02d}", f"bank-{i + 1:02d}-node")
        fmt = "parquet" if i % 2 == 0 else "csv"
        request = ReleaseRequest("government", RELEASE_FIELDS, format=fmt)
        release = build_release(engine, who, request, frame, marker=marker)
        governed.register(release.record, b"", None)
        copies[release.record.release_id] = read_table_bytes(release.table, fmt)
        assert marker.last_unmarked is not None
        unmarked[release.record.release_id] = marker.last_unmarked
    total = time.perf_counter() - start
    tolerances = {
        d.field: d.tolerance
        for d in engine.authorize(
            Recipient("bank-01", "x"), "release", "government", RELEASE_FIELDS
        ).fields
        if d.tolerance is not None
    }
    return World(
        engine,
        governed,
        frame,
        registry.releases(),
        copies,
        {r.record.release_id: r.record.format for r in registry.releases()},
        unmarked,
        tolerances,
        marker.rows / marker.seconds,
        recipients * rows / total,
    )


# -- attacks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leak:
    """A mangled copy: the table, who leaked it, and the file's bytes when it was converted
    (otherwise the leaker saved it as the node serializes releases, kinder to the baseline)."""

    table: pd.DataFrame
    guilty: set[str]
    file_bytes: bytes | None = None


Attack = Callable[[np.random.Generator, World], Leak]


def _pick(rng: np.random.Generator, world: World, k: int = 1) -> list[str]:
    """``k`` distinct releases, all in the same format (colluders' copies decode alike)."""
    fmt = rng.choice(sorted(set(world.formats.values())))
    ids = [rid for rid, f in world.formats.items() if f == fmt]
    return [ids[i] for i in rng.choice(len(ids), size=k, replace=False)]


def _numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c].dtype)]


def subset(rng: np.random.Generator, frame: pd.DataFrame, share: float) -> pd.DataFrame:
    n = max(1, round(len(frame) * share))
    return frame.iloc[np.sort(rng.choice(len(frame), size=n, replace=False))]


def shuffle(rng: np.random.Generator, frame: pd.DataFrame) -> pd.DataFrame:
    cols = list(frame.columns)
    rng.shuffle(cols)
    return frame.iloc[rng.permutation(len(frame))][cols]


def drop_half(rng: np.random.Generator, frame: pd.DataFrame, carriers: set[str]) -> pd.DataFrame:
    cols = list(frame.columns)
    while True:
        keep = [c for c in cols if rng.random() < 0.5]
        if set(keep) & carriers:
            return frame[keep]


def perturb(rng: np.random.Generator, frame: pd.DataFrame, share: float) -> pd.DataFrame:
    out = frame.copy()
    for c in _numeric_columns(out):
        x = out[c].to_numpy(dtype="float64", na_value=np.nan, copy=True)
        hit = rng.random(len(x)) < share
        rounding = hit & (rng.random(len(x)) < 0.5)
        scaling = hit & ~rounding
        with np.errstate(divide="ignore", invalid="ignore"):
            magnitude = np.floor(np.log10(np.abs(x[rounding]) + 1e-300))
            x[rounding] = np.round(x[rounding] / 10 ** (magnitude - 1)) * 10 ** (magnitude - 1)
        x[scaling] = x[scaling] * rng.uniform(0.95, 1.05, int(scaling.sum()))
        out[c] = x
    return out


def convert(frame: pd.DataFrame, fmt: str, folder: Path, guilty: set[str]) -> Leak:
    path = folder / f"leak.{fmt}"
    write_table(frame, path, fmt)
    return Leak(read_table(path), guilty, path.read_bytes())


def attacks(folder: Path) -> dict[str, Attack]:
    def one(rng: np.random.Generator, world: World) -> tuple[str, pd.DataFrame]:
        (rid,) = _pick(rng, world)
        return rid, world.copies[rid]

    def as_released(rng: np.random.Generator, world: World) -> Leak:
        rid, table = one(rng, world)
        return Leak(table, {rid})

    def subset_10pct(rng: np.random.Generator, world: World) -> Leak:
        rid, table = one(rng, world)
        return Leak(subset(rng, table, 0.10), {rid})

    def reorder(rng: np.random.Generator, world: World) -> Leak:
        rid, table = one(rng, world)
        return Leak(shuffle(rng, table), {rid})

    def drop_columns(rng: np.random.Generator, world: World) -> Leak:
        rid, table = one(rng, world)
        return Leak(drop_half(rng, table, set(world.tolerances)), {rid})

    def noise_30pct(rng: np.random.Generator, world: World) -> Leak:
        rid, table = one(rng, world)
        return Leak(perturb(rng, table, 0.30), {rid})

    counter = {"n": 0}

    def format_change(rng: np.random.Generator, world: World) -> Leak:
        rid, table = one(rng, world)
        origin = world.formats[rid]
        targets = [f for f in CONVERSIONS if f != origin]
        fmt = targets[counter["n"] % len(targets)]
        counter["n"] += 1
        return convert(table, fmt, folder, {rid})

    def collusion_2(rng: np.random.Generator, world: World) -> Leak:
        a, b = _pick(rng, world, 2)
        ta, tb = world.copies[a], world.copies[b]
        take_b = rng.random(ta.shape) < 0.5
        merged = ta.copy()
        for j, c in enumerate(ta.columns):
            merged[c] = ta[c].where(~take_b[:, j], tb[c])
        return Leak(merged, {a, b})

    def collusion_2_average(rng: np.random.Generator, world: World) -> Leak:
        a, b = _pick(rng, world, 2)
        merged = world.copies[a].copy()
        for c in _numeric_columns(merged):
            merged[c] = (world.copies[a][c] + world.copies[b][c]) / 2
        return Leak(merged, {a, b})

    def combined(rng: np.random.Generator, world: World) -> Leak:
        rid, table = one(rng, world)
        out = drop_half(rng, shuffle(rng, subset(rng, table, 0.10)), set(world.tolerances))
        out = perturb(rng, out, 0.30)
        return convert(out, CONVERSIONS[int(rng.integers(len(CONVERSIONS)))], folder, {rid})

    return {
        "as_released": as_released,
        "subset_10pct": subset_10pct,
        "reorder": reorder,
        "drop_columns": drop_columns,
        "noise_30pct": noise_30pct,
        "format_change": format_change,
        "collusion_2": collusion_2,
        "collusion_2_average": collusion_2_average,
        "combined": combined,
    }


@dataclass
class AttackResult:
    name: str
    trials: int
    correct: int
    innocents_accused: int
    baseline_correct: int
    median_log10_bound: float
    median_trace_s: float

    @property
    def accuracy(self) -> float:
        return self.correct / self.trials


def sha256_baseline(leak: Leak, world: World) -> bool:
    """What the release record's hash can do: find a release whose bytes equal the file's.

    Kind to the baseline: an unconverted table counts as saved exactly as the node serializes
    releases (either format), so only a change of content defeats it.
    """
    if leak.file_bytes is not None:
        digests = {hashlib.sha256(leak.file_bytes).hexdigest()}
    else:
        digests = set()
        for fmt in ("parquet", "csv"):
            try:
                digests.add(hashlib.sha256(serialize(leak.table, fmt)).hexdigest())
            except (ValueError, TypeError, ArrowException):
                continue  # mixed types after a merge: no serialization reproduces a release
    guilty = leak.guilty
    return any(r.record.sha256 in digests and r.record.release_id in guilty for r in world.releases)


def run_attack(name: str, attack: Attack, world: World, trials: int, seed: int) -> AttackResult:
    rng = np.random.default_rng(seed)
    correct = innocent = baseline = 0
    bounds, times = [], []
    for _ in range(trials):
        leak = attack(rng, world)
        guilty = leak.guilty
        start = time.perf_counter()
        report = trace_table(leak.table, world.releases, world.governed.key)
        times.append(time.perf_counter() - start)
        accused = {m.release.record.release_id for m in report.matches}
        innocent += len(accused - guilty)
        correct += bool(accused) and accused <= guilty and (len(guilty) > 1 or accused == guilty)
        baseline += sha256_baseline(leak, world)
        bounds += [m.log10_bound for m in report.matches]
    return AttackResult(
        name,
        trials,
        correct,
        innocent,
        baseline,
        statistics.median(bounds) if bounds else 0.0,
        statistics.median(times),
    )


def innocent_leaks(world: World, count: int, seed: int) -> tuple[int, float]:
    """Accusations over ``count`` tables that never left through any recorded release."""
    rng = np.random.default_rng(seed)
    pools = list(world.unmarked.values())[:10]  # the policy's output before any mark
    other = government_rows(len(world.frame), seed + 1000)[list(world.tolerances)]
    accusations, best = 0, 0.0
    for i in range(count):
        if i % 2 == 0:
            base = pools[int(rng.integers(len(pools)))]
        else:  # another economy, marked under a key this node never issued
            base, _ = embed_frame(other, world.tolerances, os.urandom(32))
        table = subset(rng, base, float(rng.uniform(0.1, 1.0)))
        report = trace_table(table, world.releases, world.governed.key)
        accusations += len(report.matches)
        if report.verdict.scores:
            best = min(best, report.verdict.log10_bound(report.verdict.scores[0]))
    return accusations, best


def python_loop_embed(world: World, rows: int) -> float:
    """The obvious per-cell implementation of the same mark: rows per second."""
    unmarked = next(iter(world.unmarked.values())).iloc[:rows]
    rid = world.releases[0].record.release_id
    key = world.governed.key(rid)
    spec = world.releases[0].fingerprint
    assert spec is not None
    start = time.perf_counter()
    for _, row in unmarked.iterrows():
        for col, step in spec.steps.items():
            x = row[col]
            if not isinstance(x, float | int) or math.isnan(x) or x == 0:
                continue
            j0 = round(x / step.value)
            pair = j0 // 2
            digest = hmac.new(key + col.encode(), str(pair).encode(), hashlib.sha256).digest()
            _ = (2 * pair + (digest[0] & 1)) * step.value
    return rows / (time.perf_counter() - start)


def utility(world: World) -> dict[str, dict[str, float]]:
    """How far the mark moved released values, per carrier column, relative to its tolerance."""
    out: dict[str, dict[str, float]] = {}
    for col, tol in world.tolerances.items():
        deltas, means, stds, changed = [], [], [], []
        for rid, marked in world.copies.items():
            before = world.unmarked[rid][col].to_numpy(dtype="float64", na_value=np.nan)
            after = marked[col].to_numpy(dtype="float64", na_value=np.nan)
            d = np.abs(after - before)[np.isfinite(before)]
            deltas.append(d)
            changed.append(float(np.mean(d > 0)))
            means.append(abs(np.nanmean(after) - np.nanmean(before)) / np.nanstd(before))
            stds.append(abs(np.nanstd(after) / np.nanstd(before) - 1))
        every = np.concatenate(deltas)
        out[col] = {
            "tolerance": tol,
            "max_error_over_tolerance": float(every.max() / tol),
            "mean_error_over_tolerance": float(every.mean() / tol),
            "share_changed": float(np.mean(changed)),
            "mean_shift_in_sd": float(np.max(means)),
            "sd_relative_change": float(np.max(stds)),
        }
    return out


# -- monitor: a simulated month ---------------------------------------------------------------

SIM_START = datetime(2026, 1, 5, tzinfo=UTC).timestamp()  # a Monday
SIM_FIRMS = 100_000
ATTACK_KINDS = ("scraping", "enumeration", "off_hours_bulk", "denial_probing")


@dataclass
class SimPrincipal:
    name: str
    kind: str  # analyst, scorer, batch, service
    calls_per_day: float
    median_rows: float
    hours: np.ndarray  # probability of a call per hour of the day
    weekend: float  # weekend volume relative to a weekday
    queries: list[str]
    fields: tuple[str, ...]
    deny: float


@dataclass
class SimAttack:
    kind: str
    principal: str
    start: float
    end: float
    events: list[AccessEvent]


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _business_hours(rng: np.random.Generator) -> np.ndarray:
    start, end = int(rng.integers(7, 10)), int(rng.integers(17, 20))
    p = np.full(24, 0.002)
    p[start:end] = 1.0
    p[12] *= 0.5  # lunch
    p[end : min(end + 3, 24)] = 0.03  # working late now and then
    return p / p.sum()


def _night_hours(rng: np.random.Generator) -> np.ndarray:
    p = np.full(24, 0.001)
    first = int(rng.integers(0, 3))
    p[first : first + 3] = 1.0
    return p / p.sum()


def sim_principals(rng: np.random.Generator, n: int) -> list[SimPrincipal]:
    """Half analysts, a fifth scorers, a tenth nightly batch jobs, a fifth services."""
    every_field = [f"field_{i:02d}" for i in range(16)]
    kinds = ("analyst",) * 5 + ("scorer",) * 2 + ("batch",) + ("service",) * 2
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        fields = tuple(rng.choice(every_field, size=int(rng.integers(4, 12)), replace=False))
        queries = [f"q{i}-{j}" for j in range(int(rng.integers(1, 9)))]
        name = f"org-{i:02d}/node-{i:02d}/{'third_party' if kind == 'service' else 'bank'}"
        if kind == "analyst":
            p = SimPrincipal(
                name,
                kind,
                _log_uniform(rng, 5, 80),
                _log_uniform(rng, 50, 5000),
                _business_hours(rng),
                0.1,
                queries,
                fields,
                0.01,
            )
        elif kind == "scorer":
            p = SimPrincipal(
                name,
                kind,
                _log_uniform(rng, 20, 300),
                1.0,
                _business_hours(rng),
                0.1,
                [],
                fields,
                0.01,
            )
        elif kind == "batch":
            p = SimPrincipal(
                name,
                kind,
                float(rng.integers(1, 6)),
                _log_uniform(rng, 5e3, 5e4),
                _night_hours(rng),
                1.0,
                queries[:2],
                fields,
                0.005,
            )
        else:
            p = SimPrincipal(
                name,
                kind,
                _log_uniform(rng, 50, 500),
                _log_uniform(rng, 10, 200),
                np.full(24, 1 / 24),
                0.8,
                queries,
                fields,
                0.02,
            )
        out.append(p)
    return out  # fmt: skip


def _token(k: int) -> str:
    return f"ft:{k:032x}"


def sim_request(rng: np.random.Generator, p: SimPrincipal, t: float) -> list[AccessEvent]:
    """One call and what it did, as the node's log records it."""
    events = [AccessEvent(t, p.name, EventKind.CALL)]
    if rng.random() < p.deny:
        return [*events, AccessEvent(t + 0.01, p.name, EventKind.DENIAL, fields=("unknown",))]
    if p.kind == "scorer":
        firm = (_token(int(rng.integers(SIM_FIRMS))),)
        application = bool(rng.random() > 0.03)  # a few re-scores of existing borrowers
        score = AccessEvent(t + 0.01, p.name, EventKind.SCORE, rows=1, fields=p.fields,
                            subjects=firm, covered=application)  # fmt: skip
        return [*events, score]
    rows = max(1, int(p.median_rows * math.exp(rng.normal(0, 0.6))))
    query = p.queries[int(rng.integers(len(p.queries)))]
    # a recurring query returns mostly the same firms: a fixed set per query, 10 % churn
    firms = np.random.default_rng(zlib.crc32(query.encode())).integers(
        SIM_FIRMS, size=min(rows, 30)
    )
    churn = rng.random(firms.size) < 0.1
    firms = np.where(churn, rng.integers(SIM_FIRMS, size=firms.size), firms)
    release = AccessEvent(t + 0.01, p.name, EventKind.RELEASE, rows=rows, fields=p.fields,
                          subjects=tuple(_token(int(k)) for k in firms), query=query)  # fmt: skip
    return [*events, release]


def sim_normal(rng: np.random.Generator, ps: list[SimPrincipal], days: int) -> list[AccessEvent]:
    events: list[AccessEvent] = []
    for p in ps:
        for d in range(days):
            volume = p.calls_per_day * (1.0 if d % 7 < 5 else p.weekend)
            for h in rng.choice(24, size=rng.poisson(volume), p=p.hours):
                events += sim_request(rng, p, SIM_START + d * DAY + h * 3600 + rng.uniform(0, 3600))
    return events


def sim_attack(rng: np.random.Generator, kind: str, p: SimPrincipal, day: int) -> SimAttack:
    """One injected attack on ``p`` on ``day`` (a weekday, after the first week)."""
    base = SIM_START + day * DAY
    events: list[AccessEvent] = []

    def call(t: float, what: AccessEvent) -> None:
        events.extend((AccessEvent(t, p.name, EventKind.CALL), what))

    if kind == "scraping":
        start, duration = base + rng.uniform(10, 15) * 3600, rng.uniform(1, 2) * 3600
        n = int(rng.integers(60, 240))
        rows = int(20 * p.calls_per_day * p.median_rows / n)
        for k in range(n):
            t = start + duration * k / n
            firms = tuple(_token(int(x)) for x in rng.integers(SIM_FIRMS, size=30))
            call(t, AccessEvent(t + 0.01, p.name, EventKind.RELEASE, rows=rows, fields=p.fields,
                                subjects=firms, query=f"scrape-{k % 3}"))  # fmt: skip
    elif kind == "enumeration":
        start, duration = base + rng.uniform(10, 15) * 3600, rng.uniform(1, 3) * 3600
        n = int(rng.integers(150, 600))
        for k in range(n):
            t = start + duration * k / n
            firm = (_token(int(rng.integers(SIM_FIRMS))),)
            if p.kind == "scorer":
                what = AccessEvent(t + 0.01, p.name, EventKind.SCORE, rows=1, subjects=firm,
                                   fields=p.fields)  # fmt: skip
            else:
                what = AccessEvent(t + 0.01, p.name, EventKind.RELEASE, rows=1, subjects=firm,
                                   fields=p.fields, query=f"enumerate-{k}")  # fmt: skip
            call(t, what)
    elif kind == "off_hours_bulk":
        start, duration = base + rng.uniform(1, 5) * 3600, 1.0
        rows = max(1000, int(p.median_rows * rng.uniform(10, 50)))
        call(start, AccessEvent(start + 0.01, p.name, EventKind.RELEASE, rows=rows,
                                fields=p.fields, subjects=(_token(0),), query="bulk"))  # fmt: skip
    else:
        start, duration = base + rng.uniform(0, 23) * 3600, rng.uniform(5, 30) * 60
        n = int(rng.integers(15, 40))
        for k in range(n):
            t = start + duration * k / n
            call(t, AccessEvent(t + 0.01, p.name, EventKind.DENIAL, fields=(f"probe_{k}",)))
    return SimAttack(kind, p.name, start, start + duration, events)


def sim_attacks(
    rng: np.random.Generator, ps: list[SimPrincipal], days: int, per_kind: int
) -> list[SimAttack]:
    targets = {
        "scraping": [p for p in ps if p.kind in ("analyst", "service")],
        "enumeration": [p for p in ps if p.kind in ("scorer", "analyst")],
        "off_hours_bulk": [p for p in ps if p.kind == "analyst"],
        "denial_probing": ps,
    }
    out = []
    for kind in ATTACK_KINDS:
        for _ in range(per_kind):
            p = targets[kind][int(rng.integers(len(targets[kind])))]
            day = int(rng.integers(7, days))
            while day % 7 >= 5:
                day = int(rng.integers(7, days))
            out.append(sim_attack(rng, kind, p, day))
    return out


@dataclass
class MonitorResult:
    principals: int
    days: int
    events: int
    events_per_s: float
    attacks: int
    detected_by_kind: dict[str, float]
    detection_rate: float
    false_alarm_days: int
    clean_days: int
    false_alarms_by_detector: dict[str, int]
    attack_seconds_to_alert: float
    quota_detection_rate: float
    quota_false_alarm_rate: float

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarm_days / self.clean_days


def _day(t: float) -> int:
    return int((t - SIM_START) // DAY)


def quota_baseline(
    normal: list[AccessEvent], attacks: list[SimAttack], days: int
) -> tuple[float, float]:
    """A static per-principal quota at the population's 99th percentile of clean days."""
    rows: Counter[tuple[str, int]] = Counter()
    denials: Counter[tuple[str, int]] = Counter()
    minute: Counter[tuple[str, int, int]] = Counter()
    for e in normal + [e for a in attacks for e in a.events]:
        key = (e.principal, _day(e.time))
        if e.kind is EventKind.CALL:
            minute[(e.principal, _day(e.time), int(e.time // 60))] += 1
        elif e.kind is EventKind.DENIAL:
            denials[key] += 1
        else:
            rows[key] += e.rows
    peak: Counter[tuple[str, int]] = Counter()
    for (who, day, _), count in minute.items():
        peak[(who, day)] = max(peak[(who, day)], count)
    attacked = {(a.principal, _day(a.start)) for a in attacks}
    clean = [(p, d) for p in {e.principal for e in normal} for d in range(days)
             if (p, d) not in attacked]  # fmt: skip
    q_rows = np.percentile([rows[k] for k in clean], 99)
    q_peak = np.percentile([peak[k] for k in clean], 99)
    q_den = np.percentile([denials[k] for k in clean], 99)

    def over(key: tuple[str, int]) -> bool:
        return rows[key] > q_rows or peak[key] > q_peak or denials[key] > q_den

    detected = np.mean([over((a.principal, _day(a.start))) for a in attacks])
    return float(detected), float(np.mean([over(k) for k in clean]))


def simulate_month(principals: int, days: int, per_kind: int, seed: int) -> MonitorResult:
    rng = np.random.default_rng(seed)
    ps = sim_principals(rng, principals)
    normal = sim_normal(rng, ps, days)
    attacks = sim_attacks(rng, ps, days, per_kind)
    stream = sorted(normal + [e for a in attacks for e in a.events], key=lambda e: e.time)
    alerts: list[Alert] = []
    monitor = AccessMonitor(MonitorSettings(), on_alert=alerts.append, tz=UTC)
    start = time.perf_counter()
    for event in stream:
        monitor.observe(event)
    elapsed = time.perf_counter() - start
    deliver = AlertSettings().deliver_at
    delivered = [a for a in alerts if a.severity >= deliver]
    by_kind: dict[str, list[bool]] = {k: [] for k in ATTACK_KINDS}
    latency = []
    for a in attacks:
        hits = [x.time for x in delivered if x.principal == a.principal
                and a.start <= x.time <= a.end + 3600]  # fmt: skip
        by_kind[a.kind].append(bool(hits))
        if hits:
            latency.append(min(hits) - a.start)
    attacked = {(a.principal, _day(a.start)) for a in attacks}
    false_days: set[tuple[str, int]] = set()
    detectors: Counter[str] = Counter()
    for x in delivered:
        key = (x.principal, _day(x.time))
        if key not in attacked:
            false_days.add(key)
            detectors.update(f.detector for f in x.findings)
    quota_detect, quota_false = quota_baseline(normal, attacks, days)
    return MonitorResult(
        principals,
        days,
        len(stream),
        len(stream) / elapsed,
        len(attacks),
        {k: float(np.mean(v)) for k, v in by_kind.items()},
        float(np.mean([ok for v in by_kind.values() for ok in v])),
        len(false_days),
        principals * days - len(attacked),
        dict(detectors),
        float(np.median(latency)) if latency else float("nan"),
        quota_detect,
        quota_false,
    )


# -- containment on real processes -----------------------------------------------------------


@dataclass
class LiveContainment:
    seconds_to_containment: float
    enforcement_seconds: float
    requests_before_refusal: int
    refusal: str


def live_containment(folder: Path) -> LiveContainment:
    """A bank certificate walks a release filter through every industry code, as fast as it
    can, against a real government node; the clock runs until the node refuses it."""
    fed = synthetic_federation(folder / "federation", n_firms=400)
    try:
        fed.start_coordinator()
        fed.start_node("government")
        fed.wait_online(["government"])
        address = f"127.0.0.1:{fed.node_ports['government']}"
        stub = node_pb2_grpc.NodeStub(open_channel(address, fed.certs, "bank", peer="government"))
        codes = sorted(pd.read_csv(fed.root / "data" / "government.csv")["industry_code"].unique())
        first = time.time()
        refused_at, sent, refusal = float("nan"), 0, ""
        for code in codes * 3:
            request = node_pb2.ReleaseRequest(
                dataset="government",
                fields=["uscc", "industry_code"],
                filter=f"industry_code == '{code}'",
                format="csv",
            )
            sent += 1
            try:
                stub.Release(request, timeout=30)
            except grpc.RpcError as exc:
                refused_at, refusal = time.time(), f"{exc.code().name}: {exc.details()}"
                break
        alerts = fed.root / "state" / "government" / "governance" / "alerts.jsonl"
        alert = json.loads(alerts.read_text().splitlines()[0])
        alert_at = datetime.fromisoformat(alert["at"]).timestamp()
    finally:
        fed.stop()
    return LiveContainment(refused_at - first, refused_at - alert_at, sent - 1, refusal)


def print_fingerprints(args: argparse.Namespace, world: World, results: list[AttackResult],
                       accusations: int, best_innocent: float, loop_rows_per_s: float,
                       usefulness: dict[str, dict[str, float]]) -> None:  # fmt: skip
    print()
    print(f"{'attack':<22}{'trials':>7}{'accuracy':>10}{'sha256 baseline':>17}"
          f"{'innocents accused':>19}{'median log10 bound':>20}{'trace ms':>10}")  # fmt: skip
    for r in results:
        print(
            f"{r.name:<22}{r.trials:>7}{r.accuracy:>10.3f}{r.baseline_correct / r.trials:>17.3f}"
            f"{r.innocents_accused:>19}{r.median_log10_bound:>20.1f}"
            f"{r.median_trace_s * 1e3:>10.1f}"
        )
    print()
    print(
        f"never-released leaks: {args.innocent}, accusations {accusations} "
        f"(threshold: false-accusation bound <= {DEFAULT_MAX_FALSE_ACCUSATION:g} per trace; "
        f"most suspicious innocent scored log10 bound {best_innocent:.2f})"
    )
    print(
        f"embedding: {world.embed_rows_per_s:,.0f} rows/s (marker alone; whole release incl. "
        f"masking {world.release_rows_per_s:,.0f} rows/s); per-cell Python loop "
        f"{loop_rows_per_s:,.0f} rows/s"
    )
    print()
    print(f"{'carrier':<24}{'tolerance':>10}{'max err/tol':>12}{'mean err/tol':>13}"
          f"{'changed':>9}{'mean shift (sd)':>16}{'sd change':>10}")  # fmt: skip
    for col, u in usefulness.items():
        print(
            f"{col:<24}{u['tolerance']:>10g}{u['max_error_over_tolerance']:>12.3f}"
            f"{u['mean_error_over_tolerance']:>13.3f}{u['share_changed']:>9.2f}"
            f"{u['mean_shift_in_sd']:>16.5f}{u['sd_relative_change']:>10.5f}"
        )


def print_monitor(m: MonitorResult, live: LiveContainment | None) -> None:
    print()
    print(
        f"monitor: {m.principals} principals x {m.days} days, {m.events:,} events "
        f"({m.events_per_s:,.0f} events/s through observe), {m.attacks} attacks"
    )
    print(f"{'':<28}{'detection':>10}{'false alarms / principal-day':>30}")
    print(f"{'access monitor (defaults)':<28}{m.detection_rate:>10.3f}{m.false_alarm_rate:>30.4f}")
    print(
        f"{'static quota (p99, hindsight)':<28}{m.quota_detection_rate:>10.3f}"
        f"{m.quota_false_alarm_rate:>30.4f}"
    )
    print("  by attack: " + ", ".join(f"{k} {v:.2f}" for k, v in m.detected_by_kind.items()))
    print(
        f"  false-alarm days {m.false_alarm_days} of {m.clean_days} "
        f"(detectors: {m.false_alarms_by_detector or 'none'}); median attack time to the "
        f"first alert {m.attack_seconds_to_alert:.0f} s"
    )
    if live is not None:
        print(
            f"live: enumeration through release contained {live.seconds_to_containment:.2f} s "
            f"after its first request ({live.requests_before_refusal} requests served); "
            f"{live.enforcement_seconds:.2f} s from the alert to the refusal; "
            f"refusal: {live.refusal[:100]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=50)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--innocent", type=int, default=1_000)
    parser.add_argument("--principals", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--attacks", type=int, default=25, help="injected attacks of each kind")
    parser.add_argument("--no-live", action="store_true", help="skip the real-process run")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.recipients < 4:  # collusion merges two copies of one format; formats alternate
        parser.error("--recipients must be at least 4")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        world = release_all(folder, args.recipients, args.rows, args.seed)
        print(
            f"fingerprints: {args.recipients} releases of {args.rows:,} rows x "
            f"{len(RELEASE_FIELDS)} fields (carriers: {', '.join(world.tolerances)}); "
            f"set-up {time.perf_counter() - start:.1f} s"
        )
        results = []
        for i, (name, attack) in enumerate(attacks(folder).items()):
            results.append(run_attack(name, attack, world, args.trials, args.seed + i))
            done = results[-1]
            print(f"  {name}: {done.correct}/{done.trials} traced", file=sys.stderr, flush=True)
        accusations, best_innocent = innocent_leaks(world, args.innocent, args.seed)
        loop_rows_per_s = python_loop_embed(world, 2_000)
        usefulness = utility(world)
        print_fingerprints(
            args, world, results, accusations, best_innocent, loop_rows_per_s, usefulness
        )
        month = simulate_month(args.principals, args.days, args.attacks, args.seed)
        live = None if args.no_live else live_containment(folder)
        print_monitor(month, live)

    figures = {
        "trace_accuracy": {r.name: round(r.accuracy, 4) for r in results},
        "trace_accuracy_sha256_baseline": {
            r.name: round(r.baseline_correct / r.trials, 4) for r in results
        },
        "trials_per_attack": args.trials,
        "recipients": args.recipients,
        "release_rows": args.rows,
        "innocents_accused_in_attacks": sum(r.innocents_accused for r in results),
        "false_accusations": accusations,
        "never_released_leaks": args.innocent,
        "false_accusation_bound": DEFAULT_MAX_FALSE_ACCUSATION,
        "embed_rows_per_s": round(world.embed_rows_per_s),
        "embed_rows_per_s_python_loop": round(loop_rows_per_s),
        "release_rows_per_s": round(world.release_rows_per_s),
        "utility": usefulness,
        "detection_rate": round(month.detection_rate, 4),
        "detection_rate_by_attack": {k: round(v, 4) for k, v in month.detected_by_kind.items()},
        "false_alarm_rate": round(month.false_alarm_rate, 5),
        "detection_rate_static_quota": round(month.quota_detection_rate, 4),
        "false_alarm_rate_static_quota": round(month.quota_false_alarm_rate, 5),
        "monitor_events_per_s": round(month.events_per_s),
        "attack_seconds_to_first_alert_median": round(month.attack_seconds_to_alert, 1),
        "seconds_to_containment": None if live is None else round(live.seconds_to_containment, 3),
        "seconds_alert_to_refusal": None if live is None else round(live.enforcement_seconds, 3),
        "requests_served_before_containment": None
        if live is None
        else live.requests_before_refusal,
        "targets": {
            "trace_accuracy": TARGET_ACCURACY,
            "false_accusation_bound": TARGET_BOUND,
            "embed_rows_per_s": TARGET_EMBED_ROWS_PER_S,
            "detection_rate": 0.95,
            "false_alarm_rate": 0.01,
            "seconds_to_containment": 5,
        },
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
