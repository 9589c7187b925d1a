"""Benchmark of vertical federated logistic regression on default_credit (issue 4).

Runs the real job (every role in its own thread over an in-memory hub, 2048-bit Paillier,
worker processes for encryption and gradient sums) on the FATE vertical split of
``default_credit``: the guest file at the bank (labels + 13 columns) and the host file at a
second node (10 columns); and a three-party variant that splits the host columns between a
government node (x0..x4) and a third party (x5..x9). 80/20 stratified hold-out.

Compared side by side, in the same run:

- ``auc_centralized``: scikit-learn logistic regression (lbfgs) on all 23 columns, same split;
- ``auc_bank_only``: the same on the bank's 13 columns alone;
- ``epoch_s_plaintext``: the same protocol with the plaintext twin (no encryption);
- ``epoch_s_naive``: the same protocol with ``phe`` doing one fresh encryption per value and
  ``EncryptedNumber * float`` per (row, feature). It is far too slow to run whole, so a sample
  of rows is timed through every per-row step, the per-batch steps are timed once, and the
  epoch is extrapolated from the counts (this is stated in the output).

Usage: ``python scripts/bench/vertical_lr.py [--epochs N] [--key-bits B]``.
The last line printed is JSON. Data: the repository's bundled ``data/default_credit``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
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
from node.training.vertical import spec_from_job
from node.training.vertical.local import stratified_split
from node.training.vertical.simulate import run_in_memory
from node.transport.memory import MemoryHub

GUEST = [f"x{i}" for i in range(13)]
HOST = [f"x{i}" for i in range(10)]


def data_dir() -> Path:
    """The bundled default_credit files, decompressed into a temporary folder."""
    return bundled.extract(Path(tempfile.mkdtemp(prefix="fedcredit-bench-")))


class TimedHooks(MemoryHooks):
    """Memory hooks that also note when each epoch ended."""

    def __init__(self) -> None:
        super().__init__()
        self.started = time.perf_counter()
        self.epoch_ends: list[float] = []

    def progress(self, stage: str, step: int, total: int, found: Mapping[str, float]) -> None:
        super().progress(stage, step, total, found)
        self.epoch_ends.append(time.perf_counter())

    def epoch_seconds(self) -> list[float]:
        marks = [self.started, *self.epoch_ends]
        return [b - a for a, b in itertools.pairwise(marks)]


def section(epochs: int, key_bits: int, plaintext: bool, three: bool) -> dict[str, Any]:
    hosts = (
        [
            {"party": "gov", "dataset": "host", "id_column": "id", "features": HOST[:5]},
            {"party": "third", "dataset": "host", "id_column": "id", "features": HOST[5:]},
        ]
        if three
        else [{"party": "gov", "dataset": "host", "id_column": "id", "features": HOST}]
    )
    return {
        "label_holder": {
            "party": "bank",
            "dataset": "guest",
            "id_column": "id",
            "label": "y",
            "features": GUEST,
        },
        "feature_holders": hosts,
        "validation": {"fraction": 0.2, "seed": 2024},
        "model": {
            "epochs": epochs,
            "batch_size": 1024,
            "learning_rate": 0.5,
            "l2": 0.0,
            "early_stopping": {"patience": 2, "min_delta": 0.0002},
        },
        "encryption": {
            "key_bits": key_bits,
            "allow_weak_key": key_bits < 2048,
            "plaintext": plaintext,
        },
        "timeout_s": 900,
    }


def allow_all(party: str, dataset: str, columns: list[str], purpose: str = "training") -> None:
    """The benchmark's nodes permit their columns for training."""


def run_job(frames: dict[str, pd.DataFrame], raw: dict[str, Any], pool: Any) -> dict[str, Any]:
    spec = spec_from_job(raw, allow_all)
    hub = MemoryHub("bench-vertical")
    hooks = {p: MemoryHooks() for p in spec.parties}
    hooks["coordinator"] = timed = TimedHooks()
    results, errors = run_in_memory(spec, frames, pool=pool, hub=hub, hooks=hooks)
    if errors:
        raise RuntimeError(f"job failed: {errors}")
    epoch1 = [m for m in hub.captured if m.topic.startswith("vlr/e1/")]
    ciphertexts = sum(
        int.from_bytes(m.payload[2:6], "big") for m in epoch1 if m.payload[1:2] == b"C"
    )
    return {
        "bank": results["bank"],
        "epoch_s": timed.epoch_seconds(),
        "ciphertexts_per_epoch": ciphertexts,
        "bytes_per_epoch": sum(len(m.payload) for m in epoch1),
    }


def central(
    guest: pd.DataFrame, host: pd.DataFrame, valid: np.ndarray
) -> tuple[float, float, float]:
    y = guest["y"].to_numpy()
    full = np.column_stack([guest[GUEST].to_numpy(), host[HOST].to_numpy()])
    bank = guest[GUEST].to_numpy()
    out = []
    for x in (full, bank):
        model = LogisticRegression(solver="lbfgs", max_iter=1000).fit(x[~valid], y[~valid])
        score = model.decision_function(x[valid])
        out.append((metrics.auc(y[valid], score), metrics.ks(y[valid], score)))
    return out[0][0], out[0][1], out[1][0]


def naive_epoch(
    guest: pd.DataFrame, host: pd.DataFrame, train_rows: int, key_bits: int, sample: int, batch: int
) -> float:
    """Per-row and per-batch costs of the phe-per-value protocol, extrapolated to one epoch."""
    pk, sk = phe.generate_paillier_keypair(n_length=key_bits)
    rng = np.random.default_rng(0)
    xh = host[HOST].to_numpy()[:sample]
    xg = guest[GUEST].to_numpy()[:sample]
    y = guest["y"].to_numpy()[:sample]
    wh, wg = rng.normal(0, 0.1, len(HOST)), rng.normal(0, 0.1, len(GUEST) + 1)
    t0 = time.perf_counter()
    # host: one fresh encryption per partial logit
    enc_u = [pk.encrypt(float(v)) for v in xh @ wh]
    # label holder: residual linearised around its own logit a, re-randomised (one host)
    a = xg @ wg[:-1] + wg[-1]
    prob = 1 / (1 + np.exp(-a))
    enc_d = []
    for c, p, s, t in zip(enc_u, prob, prob * (1 - prob), y, strict=True):
        d = c * float(s) + float(p - t)
        d.obfuscate()
        d.ciphertext(be_secure=True)
        enc_d.append(d)
    # every party: encrypted gradient sums, one EncryptedNumber * float per (row, feature)
    grads = []
    for x in (xg, xh):
        for j in range(x.shape[1]):
            acc = enc_d[0] * float(x[0, j])
            for i in range(1, sample):
                acc = acc + enc_d[i] * float(x[i, j])
            grads.append(acc)
    grads.append(sum(enc_d[1:], enc_d[0]))  # intercept
    per_row = (time.perf_counter() - t0) / sample
    t1 = time.perf_counter()
    # per batch: mask, re-randomise (phe's be_secure), decrypt at the arbiter
    for g in grads:
        masked = g + secrets.randbelow(2**64)
        masked.ciphertext(be_secure=True)
        sk.decrypt(masked)
    per_batch = time.perf_counter() - t1
    batches = -(-train_rows // batch)
    return per_row * train_rows + per_batch * batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--key-bits", type=int, default=2048)
    parser.add_argument("--naive-sample", type=int, default=256)
    args = parser.parse_args()

    folder = data_dir()
    guest = pd.read_csv(folder / "default_credit_hetero_guest.csv")
    host = pd.read_csv(folder / "default_credit_hetero_host.csv")
    if not (guest["id"].to_numpy() == host["id"].to_numpy()).all():
        raise SystemExit("guest and host files are not aligned by id")
    valid = stratified_split(guest["y"].to_numpy().astype(np.int8), 0.2, 2024)
    train_rows = int((~valid).sum())
    auc_central, ks_central, auc_bank = central(guest, host, valid)

    two = {"bank": guest, "gov": host}
    three = {"bank": guest, "gov": host, "third": host}
    with worker_pool(2) as pool:
        encrypted = run_job(two, section(args.epochs, args.key_bits, False, False), pool)
        encrypted3 = run_job(three, section(args.epochs, args.key_bits, False, True), pool)
    plain = run_job(two, section(args.epochs, args.key_bits, True, False), None)
    naive = naive_epoch(guest, host, train_rows, args.key_bits, args.naive_sample, 1024)

    bank, bank3 = encrypted["bank"], encrypted3["bank"]
    enc_s = statistics.median(encrypted["epoch_s"])
    enc3_s = statistics.median(encrypted3["epoch_s"])
    plain_s = statistics.median(plain["epoch_s"])
    rows = [
        ("centralized LR (sklearn lbfgs, 23 cols)", f"{auc_central:.4f}", f"{ks_central:.4f}", "-"),
        ("bank only LR (13 cols)", f"{auc_bank:.4f}", "-", "-"),
        (
            "federated, 2 parties, Paillier",
            f"{bank.metrics['auc']:.4f}",
            f"{bank.metrics['ks']:.4f}",
            f"{enc_s:.2f}",
        ),
        (
            "federated, 3 parties, Paillier",
            f"{bank3.metrics['auc']:.4f}",
            f"{bank3.metrics['ks']:.4f}",
            f"{enc3_s:.2f}",
        ),
        (
            "federated, 2 parties, plaintext twin",
            f"{plain['bank'].metrics['auc']:.4f}",
            f"{plain['bank'].metrics['ks']:.4f}",
            f"{plain_s:.2f}",
        ),
        ("naive phe per value (extrapolated)", "-", "-", f"{naive:.1f}"),
    ]
    print(
        f"default_credit: {len(guest)} rows, {train_rows} train / {int(valid.sum())} "
        f"validation (stratified), {args.key_bits}-bit Paillier, batch 1024, "
        f"{args.epochs} epochs max"
    )
    print(f"{'model':<42} {'AUC':>8} {'KS':>8} {'epoch s':>9}")
    for name, a, k, s in rows:
        print(f"{name:<42} {a:>8} {k:>8} {s:>9}")
    print(
        f"epochs run (2 parties / 3 parties): {bank.epochs_run} / {bank3.epochs_run}; "
        f"best epoch {bank.best_epoch} / {bank3.best_epoch}"
    )
    print(
        f"per epoch (2 parties): {encrypted['ciphertexts_per_epoch']} ciphertexts, "
        f"{encrypted['bytes_per_epoch'] / 2**20:.1f} MiB"
    )
    print(f"contribution (share of score spread): {bank.contribution}")
    print(
        f"naive epoch: {args.naive_sample} rows timed through every per-row step, "
        "per-batch steps timed once, extrapolated to the epoch"
    )
    result = {
        "auc_federated": round(bank.metrics["auc"], 4),
        "ks_federated": round(bank.metrics["ks"], 4),
        "auc_federated_3party": round(bank3.metrics["auc"], 4),
        "auc_centralized": round(auc_central, 4),
        "auc_bank_only": round(auc_bank, 4),
        "epoch_s_encrypted": round(enc_s, 2),
        "epoch_s_encrypted_3party": round(enc3_s, 2),
        "epoch_s_plaintext": round(plain_s, 3),
        "epoch_s_naive": round(naive, 1),
        "epoch_s_naive_extrapolated": True,
        "speedup_vs_naive": round(naive / enc_s, 1),
        "slowdown_vs_plaintext": round(enc_s / plain_s, 1),
        "ciphertexts_per_epoch": encrypted["ciphertexts_per_epoch"],
        "bytes_per_epoch": encrypted["bytes_per_epoch"],
        "key_bits": args.key_bits,
        "workers": 2,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
