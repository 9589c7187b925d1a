"""Benchmark of vertical federated logistic regression: quality, epoch time, fair naive baseline.

Runs the real job (every role in its own thread over an in-memory hub, 2048-bit Paillier,
worker processes for encryption and gradient sums) with the job file's defaults on a guest
file at the bank (labels + columns) and one or more host files at other nodes (columns of the
same firms, aligned by an id column). Default data: the repository's default_credit vertical
split (guest 13 columns, host 10); with a single host file a three-party variant also runs,
the host's columns split between two feature holders.

Compared side by side, in the same run:

- ``auc_centralized``: scikit-learn logistic regression (lbfgs, fully fitted) on all columns,
  same rows, same split, same per-holder preparation; ``auc_bank_only``: the same on the bank's
  columns; all AUCs are on the test split, which chose nothing;
- ``epoch_s_plaintext``: the same protocol with the plaintext twin (no encryption);
- ``epoch_s_naive``: the same protocol done the textbook way with ``phe`` — one fresh
  encryption per value, ``EncryptedNumber * int`` per (row, column), fixed-point *integers*
  as ours (no float encoding), one decryption per gradient component, on the same number of
  worker processes as ours. It is far too slow to run whole: a sample of rows is timed through
  every per-row step, the per-batch steps once, and the epoch is extrapolated (stated below).

Usage: ``python scripts/bench/vertical_lr.py [--guest CSV --host CSV [--host CSV ...]
--id-column NAME --label NAME] [--epochs N] [--key-bits B] [--workers W]``.
The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import pandas as pd
import phe
from sklearn.linear_model import LogisticRegression

from node.compute import worker_pool
from node.data import bundled
from node.jobs.hooks import MemoryHooks
from node.training import metrics
from node.training.preprocess import fit_transform
from node.training.vertical import spec_from_job
from node.training.vertical.local import stratified_split
from node.training.vertical.simulate import run_in_memory
from node.transport.memory import MemoryHub

GUEST = "default_credit_hetero_guest.csv"
HOST = "default_credit_hetero_host.csv"


def tree_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process and all its descendants alive
    now (the worker pool and its forkserver), read from ``/proc``; 0 where there is none."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
    mine, total = os.getpid(), 0.0
    for pid, seconds in used.items():
        ancestor = pid
        while ancestor not in (mine, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == mine:
            total += seconds
    return total


class TimedHooks(MemoryHooks):
    """Memory hooks that also note when each epoch ended, in wall-clock and CPU seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.started = (time.perf_counter(), tree_cpu_seconds())
        self.epoch_ends: list[tuple[float, float]] = []

    def progress(self, stage: str, step: int, total: int, found: Mapping[str, float]) -> None:
        super().progress(stage, step, total, found)
        self.epoch_ends.append((time.perf_counter(), tree_cpu_seconds()))

    def epoch_seconds(self) -> list[float]:
        marks = [self.started, *self.epoch_ends]
        return [b[0] - a[0] for a, b in itertools.pairwise(marks)]

    def epoch_cpu_seconds(self) -> list[float]:
        marks = [self.started, *self.epoch_ends]
        return [b[1] - a[1] for a, b in itertools.pairwise(marks)]


def load(args: argparse.Namespace) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """The guest and host frames, aligned on the id column (what PSI would hand each party)."""
    if args.guest is None:
        folder = bundled.extract(Path(tempfile.mkdtemp(prefix="fedcredit-bench-")))
        guest_path, host_paths = folder / GUEST, [folder / HOST]
    else:
        guest_path, host_paths = Path(args.guest), [Path(h) for h in args.host]
    guest = pd.read_csv(guest_path)
    hosts = [pd.read_csv(p) for p in host_paths]
    for name, frame in (("guest", guest), *(("host", h) for h in hosts)):
        if args.id_column not in frame.columns:
            raise SystemExit(f"{name} file has no id column {args.id_column!r}; pass --id-column")
    if args.label not in guest.columns:
        raise SystemExit(f"guest file has no label column {args.label!r}; pass --label")
    ids = set(guest[args.id_column])
    for host in hosts:
        ids &= set(host[args.id_column])
    keep = sorted(ids)
    aligned = [f.set_index(args.id_column).loc[keep].reset_index() for f in (guest, *hosts)]
    return aligned[0], aligned[1:]


def columns(frame: pd.DataFrame, *skip: str) -> list[str]:
    return [c for c in frame.columns if c not in skip]


def section(
    guest_features: list[str],
    hosts: list[tuple[str, list[str]]],
    args: argparse.Namespace,
    plaintext: bool,
) -> dict[str, Any]:
    model: dict[str, Any] = {}
    if args.epochs:
        model["epochs"] = args.epochs
    return {
        "label_holder": {
            "party": "bank",
            "dataset": "guest",
            "id_column": args.id_column,
            "label": args.label,
            "features": guest_features,
        },
        "feature_holders": [
            {"party": p, "dataset": p, "id_column": args.id_column, "features": f} for p, f in hosts
        ],
        "model": model,
        "encryption": {
            "key_bits": args.key_bits,
            "allow_weak_key": args.key_bits < 2048,
            "plaintext": plaintext,
        },
        "timeout_s": 1800,
    }


def allow_all(party: str, dataset: str, columns: list[str], purpose: str = "training") -> None:
    """The benchmark's nodes permit their columns for training."""


def run_job(
    frames: dict[str, pd.DataFrame], raw: dict[str, Any], pool: Executor | None
) -> dict[str, Any]:
    spec = spec_from_job(raw, allow_all)
    hub = MemoryHub("bench-vertical")
    hooks: dict[str, Any] = {p: MemoryHooks() for p in spec.parties}
    hooks["coordinator"] = timed = TimedHooks()
    results, errors = run_in_memory(spec, frames, pool=pool, hub=hub, hooks=hooks)
    if errors:
        raise RuntimeError(f"job failed: {errors}")
    epoch1 = [m for m in hub.captured if m.topic.startswith("vlr/e1/")]
    ciphertexts = sum(
        int.from_bytes(m.payload[2:6], "big") for m in epoch1 if m.payload[1:2] == b"C"
    )
    return {
        "spec": spec,
        "bank": results["bank"],
        "arbiter": results["coordinator"],
        "epoch_s": timed.epoch_seconds(),
        "epoch_cpu_s": timed.epoch_cpu_seconds(),
        "ciphertexts_per_epoch": ciphertexts,
        "bytes_per_epoch": sum(len(m.payload) for m in epoch1),
    }


def central(
    guest: pd.DataFrame,
    hosts: list[pd.DataFrame],
    guest_features: list[str],
    host_features: list[list[str]],
    args: argparse.Namespace,
    spec: Any,
) -> tuple[float, float, float]:
    """Test AUC and KS of scikit-learn on all columns, and test AUC on the bank's alone."""
    y = guest[args.label].to_numpy().astype(np.int8)
    split = stratified_split(y, spec.validation_fraction, spec.test_fraction, spec.seed)
    parts = [
        fit_transform(f, cols, spec.preprocess, split.train).apply(f)
        for f, cols in ((guest, guest_features), *zip(hosts, host_features, strict=True))
    ]
    out = []
    for x in (np.hstack(parts), parts[0]):
        model = LogisticRegression(max_iter=5000).fit(x[split.train], y[split.train])
        score = model.decision_function(x[split.test])
        out.append((metrics.auc(y[split.test], score), metrics.ks(y[split.test], score)))
    return out[0][0], out[0][1], out[1][0]


# ---- the naive baseline: phe, one value per ciphertext, integers --------------------------


def _naive_rows(n: int, xg: np.ndarray, xh: np.ndarray) -> tuple[float, float]:
    """Per-row work of one batch slice, in one worker process; returns its wall and CPU s."""
    pk = phe.PaillierPublicKey(n)
    rng = np.random.default_rng(0)
    start, cpu = time.perf_counter(), time.process_time()
    hostpart = rng.integers(-(2**30), 2**30, len(xh))
    enc_u = [pk.encrypt(int(v)) for v in hostpart]  # host: E(H), fresh
    slopes = rng.integers(1, 256, len(xh))
    own = rng.integers(-(2**34), 2**34, len(xh))
    enc_d = []
    for c, s, o in zip(enc_u, slopes, own, strict=True):  # bank: E(S H + own), re-randomised
        d = c * int(s) + int(o)
        d.obfuscate()
        enc_d.append(d)
    for x in (xg, xh):  # every party: one EncryptedNumber * int per (row, column)
        for j in range(x.shape[1]):
            acc = enc_d[0] * int(x[0, j])
            for i in range(1, len(enc_d)):
                acc = acc + enc_d[i] * int(x[i, j])
    return time.perf_counter() - start, time.process_time() - cpu


def naive_epoch(
    guest: pd.DataFrame,
    host: pd.DataFrame,
    features: tuple[list[str], list[str]],
    train_rows: int,
    args: argparse.Namespace,
    pool: Executor,
) -> tuple[float, float, float]:
    """Extrapolated naive epoch: seconds on ``args.workers`` processes, on one, CPU seconds."""
    pk, sk = phe.generate_paillier_keypair(n_length=args.key_bits)
    sample = args.naive_sample
    xg = np.rint(guest[features[0]].to_numpy()[:sample] * 256).astype(np.int64)
    xh = np.rint(host[features[1]].to_numpy()[:sample] * 256).astype(np.int64)
    halves = np.array_split(np.arange(sample), args.workers)
    t0 = time.perf_counter()
    futures = [pool.submit(_naive_rows, pk.n, xg[h], xh[h]) for h in halves]
    worker_s = [f.result() for f in futures]
    per_row_parallel = (time.perf_counter() - t0) / sample
    per_row_single = sum(w for w, _ in worker_s) / sample
    per_row_cpu = sum(c for _, c in worker_s) / sample
    # per batch: mask, re-randomise and decrypt one ciphertext per weight (unpacked)
    width = len(features[0]) + 1 + len(features[1])
    t1, cpu1 = time.perf_counter(), time.process_time()
    for _ in range(width):
        masked = pk.encrypt(secrets.randbelow(2**100))
        masked.obfuscate()
        sk.decrypt(masked)
    per_batch = time.perf_counter() - t1
    per_batch_cpu = time.process_time() - cpu1
    batches = -(-train_rows // 1024)
    return (
        per_row_parallel * train_rows + per_batch * batches,
        per_row_single * train_rows + per_batch * batches,
        per_row_cpu * train_rows + per_batch_cpu * batches,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guest", help="CSV at the bank: id, label and feature columns")
    parser.add_argument("--host", action="append", default=[], help="CSV at a feature holder")
    parser.add_argument("--id-column", default="id")
    parser.add_argument("--label", default="y")
    parser.add_argument("--epochs", type=int, default=0, help="cap on epochs (default: job's)")
    parser.add_argument("--key-bits", type=int, default=2048)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--naive-sample", type=int, default=128)
    args = parser.parse_args()
    if (args.guest is None) != (not args.host):
        raise SystemExit("pass --guest together with at least one --host, or neither")

    guest, hosts = load(args)
    guest_features = columns(guest, args.id_column, args.label)
    host_features = [columns(h, args.id_column) for h in hosts]
    names = [f"host{i + 1}" for i in range(len(hosts))]
    frames = {"bank": guest, **dict(zip(names, hosts, strict=True))}
    two = {"bank": guest, "host1": hosts[0]}
    raw_two = section(guest_features, [("host1", host_features[0])], args, plaintext=False)
    if len(hosts) > 1:
        many = frames
        raw_many = section(
            guest_features, list(zip(names, host_features, strict=True)), args, plaintext=False
        )
    else:  # split the single host's columns between two feature holders
        half = len(host_features[0]) // 2
        many = {"bank": guest, "gov": hosts[0], "third": hosts[0]}
        raw_many = section(
            guest_features,
            [("gov", host_features[0][:half]), ("third", host_features[0][half:])],
            args,
            plaintext=False,
        )

    loads = [os.getloadavg()[0]]  # 1-minute load average before and after each timed part
    with worker_pool(args.workers) as pool:
        encrypted = run_job(two, raw_two, pool)
        loads.append(os.getloadavg()[0])
        encrypted_many = run_job(many, raw_many, pool)
        loads.append(os.getloadavg()[0])
        spec = encrypted["spec"]
        train_rows = int(encrypted["bank"].splits["train"]["rows"])
        naive, naive_single, naive_cpu = naive_epoch(
            guest, hosts[0], (guest_features, host_features[0]), train_rows, args, pool
        )
        loads.append(os.getloadavg()[0])
    plain = run_job(two, section(guest_features, [("host1", host_features[0])], args, True), None)
    auc_central, ks_central, auc_bank = central(
        guest, hosts, guest_features, host_features, args, spec
    )

    bank, bank_many = encrypted["bank"], encrypted_many["bank"]
    enc_s = statistics.median(encrypted["epoch_s"])
    enc_cpu = statistics.median(encrypted["epoch_cpu_s"])
    many_s = statistics.median(encrypted_many["epoch_s"])
    plain_s = statistics.median(plain["epoch_s"])
    parties_many = len(raw_many["feature_holders"]) + 1
    rows = [
        (
            f"centralized LR (sklearn, {sum(map(len, host_features)) + len(guest_features)} cols)",
            f"{auc_central:.4f}",
            f"{ks_central:.4f}",
            "-",
        ),
        (f"bank only LR ({len(guest_features)} cols)", f"{auc_bank:.4f}", "-", "-"),
        (
            "federated, 2 parties, Paillier",
            f"{bank.metrics['auc']:.4f}",
            f"{bank.metrics['ks']:.4f}",
            f"{enc_s:.2f}",
        ),
        (
            f"federated, {parties_many} parties, Paillier",
            f"{bank_many.metrics['auc']:.4f}",
            f"{bank_many.metrics['ks']:.4f}",
            f"{many_s:.2f}",
        ),
        (
            "federated, 2 parties, plaintext twin",
            f"{plain['bank'].metrics['auc']:.4f}",
            f"{plain['bank'].metrics['ks']:.4f}",
            f"{plain_s:.2f}",
        ),
        (f"naive phe per value, {args.workers} processes (extrapolated)", "-", "-", f"{naive:.1f}"),
        ("naive phe per value, 1 process (extrapolated)", "-", "-", f"{naive_single:.1f}"),
    ]
    print(
        f"{len(guest)} rows: {train_rows} train / {int(bank.splits['validation']['rows'])} "
        f"validation / {int(bank.splits['test']['rows'])} test (stratified), "
        f"{args.key_bits}-bit Paillier, job defaults; AUC and KS on the test split"
    )
    print(f"{'model':<52} {'AUC':>8} {'KS':>8} {'epoch s':>9}")
    for name, a, k, s in rows:
        print(f"{name:<52} {a:>8} {k:>8} {s:>9}")
    print(
        f"epochs run (2 / {parties_many} parties): {bank.course.epochs_run} "
        f"({bank.course.stopped}) / {bank_many.course.epochs_run} "
        f"({bank_many.course.stopped}); kept epoch {bank.course.best_epoch} / "
        f"{bank_many.course.best_epoch}"
    )
    print(
        f"per epoch (2 parties): {encrypted['ciphertexts_per_epoch']} ciphertexts, "
        f"{encrypted['bytes_per_epoch'] / 2**20:.1f} MiB, "
        f"{encrypted['arbiter'].decryptions_per_epoch} decryptions at the key holder"
    )
    print(
        f"calibrated PDs on test: log-loss {bank.metrics['log_loss']:.4f} "
        f"(base rate {bank.probabilities['log_loss_base_rate']:.4f}), "
        f"Brier {bank.metrics['brier']:.4f}"
    )
    print(f"contribution (share of score spread): {bank.contribution}")
    print(
        f"CPU seconds per epoch (all processes, 2 parties): ours {enc_cpu:.1f}, naive "
        f"{naive_cpu:.1f} (ratio {naive_cpu / enc_cpu:.1f}); on {args.workers} idle cores an "
        f"epoch would take at least {enc_cpu / args.workers:.1f} s. 1-minute load average "
        f"before / after 2-party / after {parties_many}-party / after naive: "
        + " / ".join(f"{v:.1f}" for v in loads)
    )
    print(
        f"naive epoch: {args.naive_sample} rows timed through every per-row step on "
        f"{args.workers} processes (and summed for 1), per-batch steps timed once, "
        "extrapolated to the epoch; ours: the roles as threads of one process sharing "
        f"{args.workers} worker processes"
    )
    result = {
        "auc_federated": round(bank.metrics["auc"], 4),
        "ks_federated": round(bank.metrics["ks"], 4),
        "auc_federated_3party": round(bank_many.metrics["auc"], 4),
        "auc_centralized": round(auc_central, 4),
        "auc_bank_only": round(auc_bank, 4),
        "log_loss_federated": round(bank.metrics["log_loss"], 4),
        "log_loss_base_rate": round(bank.probabilities["log_loss_base_rate"], 4),
        "epochs_run": bank.course.epochs_run,
        "epoch_s_encrypted": round(enc_s, 2),
        "epoch_s_encrypted_3party": round(many_s, 2),
        "epoch_s_plaintext": round(plain_s, 3),
        "epoch_s_naive": round(naive, 1),
        "epoch_s_naive_1process": round(naive_single, 1),
        "epoch_s_naive_extrapolated": True,
        "speedup_vs_naive": round(naive / enc_s, 1),
        "speedup_vs_naive_1process": round(naive_single / enc_s, 1),
        "epoch_cpu_s_encrypted": round(enc_cpu, 2),
        "epoch_cpu_s_naive": round(naive_cpu, 1),
        "speedup_vs_naive_cpu": round(naive_cpu / enc_cpu, 1),
        "load_avg_1min": [round(v, 1) for v in loads],
        "slowdown_vs_plaintext": round(enc_s / plain_s, 1),
        "decryptions_per_epoch": encrypted["arbiter"].decryptions_per_epoch,
        "ciphertexts_per_epoch": encrypted["ciphertexts_per_epoch"],
        "bytes_per_epoch": encrypted["bytes_per_epoch"],
        "key_bits": args.key_bits,
        "workers": args.workers,
        "naive_processes": args.workers,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
