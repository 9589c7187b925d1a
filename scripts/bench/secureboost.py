"""Benchmark of vertical gradient-boosted trees (SecureBoost) on default_credit (issue 12).

Runs the real job (every role in its own thread over an in-memory hub, Paillier keys of
``--key-bits``, one pool of ``--workers`` worker processes shared by all parties, as on one
machine) on the FATE vertical split of ``default_credit``: the guest file at the bank (label
and 13 columns) and the host file at a second node (10 columns); and a three-party variant that
splits the host columns over two holders. Any other files work too (``--guest``, ``--host``
repeatable, ``--id-column``, ``--label``): rows are matched on the id column. Rows: an 80/20
stratified test hold-out, and a validation split for early stopping taken from the rest.

Compared side by side, in the same run:

- ``auc_centralized``: LightGBM on all columns, the same rows, depth, trees, learning rate,
  bins, L2, minimum child hessian, row and column subsampling and early stopping;
- ``auc_bank_only``: the same LightGBM on the bank's columns alone;
- ``s_per_tree_plaintext``: the same protocol with the plaintext twin (no encryption);
- ``s_per_tree_naive``: textbook SecureBoost with python-paillier (``phe``) — one ciphertext
  per g and per h, every node histogrammed (no subtraction), one decryption per bin. Far too
  slow to run whole: a few nodes are timed (encryption, histogram, decryption; CPU time) and a
  tree is extrapolated from the encrypted run's own counts of rows and nodes, assuming perfect
  scaling over the same workers (generous to the baseline). ``..._same_core`` is the same
  textbook protocol costed with this project's Paillier core instead of ``phe``.

The machine may be shared: wall-clock seconds per tree are measured as they come, and CPU
seconds per tree (all processes, pool workers included) are reported beside them. The speedups
are ratios of CPU seconds per tree, which a busy machine does not distort the way it distorts
wall clock; ``s_per_tree_naive`` is the naive CPU time spread over the workers.

Usage: ``python scripts/bench/secureboost.py [--trees N] [--key-bits B] [--workers W]``.
The last line printed is JSON. Data: the repository's bundled ``data/default_credit``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import lightgbm as lgb
import numpy as np
import pandas as pd
import phe
from gmpy2 import mpz

from node.compute import worker_pool
from node.crypto.paillier import generate_keypair
from node.data import bundled
from node.jobs.hooks import MemoryHooks
from node.training import metrics
from node.training.secureboost import run_in_memory, spec_from_job
from node.training.secureboost.binning import bin_columns
from node.training.secureboost.rows import TEST, TRAIN, VALIDATION, row_roles, tree_columns
from node.transport.memory import MemoryHub

SUBSAMPLE = COLSAMPLE = 0.8
PATIENCE = 10


class TimedHooks(MemoryHooks):
    """Memory hooks that also note when each tree ended."""

    def __init__(self) -> None:
        super().__init__()
        self.started = time.perf_counter()
        self.tree_ends: list[float] = []

    def progress(self, stage: str, step: int, total: int, found: Mapping[str, float]) -> None:
        super().progress(stage, step, total, found)
        if stage == "tree":
            self.tree_ends.append(time.perf_counter())
            elapsed = self.tree_ends[-1] - self.started
            print(f"  tree {step}/{total} at {elapsed:.0f} s", file=sys.stderr, flush=True)

    def tree_seconds(self) -> list[float]:
        marks = [self.started, *self.tree_ends]
        return [b - a for a, b in itertools.pairwise(marks)]


def load(args: argparse.Namespace) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """The guest and host tables, restricted to common ids, in one order (as PSI would)."""
    guest_path = args.guest or bundled.compressed("default_credit_hetero_guest.csv")
    host_paths = args.host or [bundled.compressed("default_credit_hetero_host.csv")]
    guest = pd.read_csv(guest_path)
    hosts = [pd.read_csv(p) for p in host_paths]
    for name, frame in [("guest", guest), *(("host", h) for h in hosts)]:
        if args.id_column not in frame.columns:
            raise SystemExit(f"{name} file has no id column {args.id_column!r}; pass --id-column")
        if frame[args.id_column].duplicated().any():
            raise SystemExit(f"{name} file repeats ids in {args.id_column!r}; deduplicate it")
    if args.label not in guest.columns:
        raise SystemExit(f"guest file has no label column {args.label!r}; pass --label")
    common = set(guest[args.id_column])
    for host in hosts:
        common &= set(host[args.id_column])
    order = sorted(common, key=str)
    if len(order) < 100:
        raise SystemExit(f"only {len(order)} ids are in every file; check --id-column")

    def aligned(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.set_index(args.id_column).loc[order].reset_index()

    return aligned(guest), [aligned(h) for h in hosts]


def parties(
    guest: pd.DataFrame, hosts: list[pd.DataFrame], args: argparse.Namespace, multi: bool
) -> tuple[dict[str, pd.DataFrame], list[tuple[str, list[str]]], list[str]]:
    """Frames by party, host (party, columns), guest columns; ``multi`` = the 3+ party variant."""
    guest_cols = [c for c in guest.columns if c not in (args.id_column, args.label)]
    host_cols = [[c for c in h.columns if c != args.id_column] for h in hosts]
    frames: dict[str, pd.DataFrame] = {"bank": guest}
    if not multi:
        merged = pd.concat(
            [hosts[0][[args.id_column]], *(h[c] for h, c in zip(hosts, host_cols, strict=True))],
            axis=1,
        )
        frames["host"] = merged
        return frames, [("host", [c for cs in host_cols for c in cs])], guest_cols
    if len(hosts) == 1:
        half = len(host_cols[0]) // 2
        split = [("gov", host_cols[0][:half]), ("third", host_cols[0][half:])]
        frames.update({"gov": hosts[0], "third": hosts[0]})
        return frames, split, guest_cols
    named = [(f"host{i}", cols) for i, cols in enumerate(host_cols)]
    frames.update({name: hosts[i] for i, (name, _) in enumerate(named)})
    return frames, named, guest_cols


def section(
    args: argparse.Namespace,
    guest_cols: list[str],
    hosts: list[tuple[str, list[str]]],
    plaintext: bool,
) -> dict[str, Any]:
    return {
        "label_holder": {
            "party": "bank",
            "dataset": "guest",
            "id_column": args.id_column,
            "label": args.label,
            "features": guest_cols,
        },
        "feature_holders": [
            {"party": p, "dataset": "host", "id_column": args.id_column, "features": cols}
            for p, cols in hosts
        ],
        "split": {"test_fraction": 0.2, "validation_fraction": args.validation, "seed": args.seed},
        "model": {
            "trees": args.trees,
            "max_depth": args.depth,
            "learning_rate": args.learning_rate,
            "bins": args.bins,
            "subsample": SUBSAMPLE,
            "colsample": COLSAMPLE,
            "early_stopping": {"patience": PATIENCE},
        },
        "encryption": {
            "key_bits": args.key_bits,
            "allow_weak_key": args.key_bits < 2048,
            "plaintext": plaintext,
        },
        "timeout_s": 1800,
    }


def _pool_cpu(pool: Any) -> float:
    """CPU seconds used so far by the pool's worker processes (Linux ``/proc``)."""
    total = 0.0
    for pid in list(getattr(pool, "_processes", {}) or {}):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return total


def run_job(frames: dict[str, pd.DataFrame], raw: dict[str, Any], workers: int) -> dict[str, Any]:
    spec = spec_from_job(raw, lambda *a, **k: None)
    hub = MemoryHub("bench-secureboost")
    hooks: dict[str, Any] = {p: MemoryHooks() for p in spec.parties}
    hooks["bank"] = timed = TimedHooks()
    cpu0 = time.process_time()
    with worker_pool(workers) as pool:
        timed.started = time.perf_counter()
        results, errors = run_in_memory(spec, frames, pool=pool, hub=hub, hooks=hooks)
        cpu = time.process_time() - cpu0 + _pool_cpu(pool)
    if errors:
        raise SystemExit(f"job failed: {errors}")
    bank = results["bank"]
    trees = bank.trees_built
    per_tree = [
        sum(len(m.payload) for m in hub.captured if m.topic.startswith(f"sb/t{t}/"))
        for t in range(trees)
    ]
    return {
        "bank": bank,
        "tree_s": timed.tree_seconds(),
        "cpu_s": cpu,
        "bytes_per_tree": statistics.median(per_tree),
        "trees": trees,
    }


def lightgbm_auc(
    x: np.ndarray, y: np.ndarray, roles: np.ndarray, args: argparse.Namespace
) -> tuple[float, float, int]:
    """Test AUC and KS of LightGBM with the job's settings, early-stopped on validation."""
    params = {
        "objective": "binary",
        "max_depth": args.depth,
        "num_leaves": 2**args.depth,
        "learning_rate": args.learning_rate,
        "max_bin": args.bins,
        "lambda_l2": 1.0,
        "min_sum_hessian_in_leaf": 1.0,
        "min_data_in_leaf": 1,
        "bagging_fraction": SUBSAMPLE,
        "bagging_freq": 1,
        "feature_fraction": COLSAMPLE,
        "metric": "auc",
        "num_threads": args.workers,
        "seed": args.seed,
        "verbose": -1,
    }
    train, valid, test = (roles == r for r in (TRAIN, VALIDATION, TEST))
    model = lgb.train(
        params,
        lgb.Dataset(x[train], y[train]),
        num_boost_round=args.trees,
        valid_sets=[lgb.Dataset(x[valid], y[valid])],
        callbacks=[lgb.early_stopping(PATIENCE, verbose=False)],
    )
    score = model.predict(x[test], raw_score=True, num_iteration=model.best_iteration)
    return metrics.auc(y[test], score), metrics.ks(y[test], score), model.best_iteration


def naive_costs(key_bits: int, rows: int, columns: int, slots: int, nodes: int) -> dict[str, float]:
    """Seconds per encryption, per histogram addition and per decryption of the textbook protocol,
    from ``nodes`` timed nodes of ``rows`` rows (``phe``, and this project's core)."""
    rng = np.random.default_rng(0)
    ppk, psk = phe.generate_paillier_keypair(n_length=key_bits)
    pk, sk = generate_keypair(key_bits)
    out: dict[str, float] = {}
    for core in ("phe", "core"):
        enc_t = add_t = dec_t = 0.0
        adds = decs = encs = 0
        for _ in range(nodes):
            g = rng.integers(-(1 << 20), 1 << 20, rows).tolist()
            h = rng.integers(0, 1 << 18, rows).tolist()
            bins = rng.integers(0, slots, size=(rows, columns))
            t0 = time.thread_time()
            if core == "phe":
                cg, ch = [ppk.encrypt(v) for v in g], [ppk.encrypt(v) for v in h]
            else:
                cg, ch = [pk.encrypt(v) for v in g], [pk.encrypt(v) for v in h]
            enc_t += time.thread_time() - t0
            encs += 2 * rows
            t0 = time.thread_time()
            hist: dict[tuple[int, int], list[Any]] = {}
            nsq = mpz(pk.nsquare)
            for i, row in enumerate(bins.tolist()):
                for j, b in enumerate(row):
                    acc = hist.get((j, b))
                    if acc is None:
                        hist[(j, b)] = [cg[i], ch[i]]
                    elif core == "phe":
                        acc[0], acc[1] = acc[0] + cg[i], acc[1] + ch[i]
                    else:
                        acc[0], acc[1] = acc[0] * cg[i] % nsq, acc[1] * ch[i] % nsq
            add_t += time.thread_time() - t0
            adds += 2 * rows * columns
            t0 = time.thread_time()
            for acc in hist.values():
                for c in acc:
                    psk.decrypt(c) if core == "phe" else sk.decrypt(int(c))
            dec_t += time.thread_time() - t0
            decs += 2 * len(hist)
        out[f"{core}_enc"] = enc_t / encs
        out[f"{core}_add"] = add_t / adds
        out[f"{core}_dec"] = dec_t / decs
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guest", type=Path, help="CSV with the id, the label and bank columns")
    parser.add_argument("--host", type=Path, action="append", help="CSV per feature holder")
    parser.add_argument("--id-column", default="id")
    parser.add_argument("--label", default="y")
    parser.add_argument("--trees", type=int, default=30)
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--bins", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--validation", type=float, default=0.1)
    parser.add_argument("--key-bits", type=int, default=2048)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--naive-nodes", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=500)
    parser.add_argument("--skip-three-party", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    guest, hosts = load(args)
    y = guest[args.label].to_numpy()
    if not np.isin(y, (0, 1)).all():
        raise SystemExit(f"label column {args.label!r} must hold only 0 and 1")
    y = y.astype(np.int8)
    roles = row_roles(y, 0.2, args.validation, args.seed)
    frames, two_hosts, guest_cols = parties(guest, hosts, args, multi=False)
    frames3, many_hosts, _ = parties(guest, hosts, args, multi=True)
    x_all = np.column_stack([guest[guest_cols].to_numpy(float), frames["host"].iloc[:, 1:]])
    auc_central, ks_central, it_central = lightgbm_auc(x_all, y, roles, args)
    auc_bank, _, _ = lightgbm_auc(guest[guest_cols].to_numpy(float), y, roles, args)

    plain = run_job(frames, section(args, guest_cols, two_hosts, True), args.workers)
    enc = run_job(frames, section(args, guest_cols, two_hosts, False), args.workers)
    enc3 = (
        None
        if args.skip_three_party
        else run_job(frames3, section(args, guest_cols, many_hosts, False), args.workers)
    )

    bank = enc["bank"]
    counters = bank.counters
    trees = enc["trees"]
    host_cols = two_hosts[0][1]
    values = frames["host"][host_cols].to_numpy(float)
    slots = float(np.mean(bin_columns(host_cols, values, roles == TRAIN, args.bins).slots))
    spec = spec_from_job(section(args, guest_cols, two_hosts, True), lambda *a, **k: None)
    active = statistics.mean(len(tree_columns(spec, t)["host"]) for t in range(trees))
    costs = naive_costs(
        args.key_bits, args.naive_rows, len(host_cols), round(slots), args.naive_nodes
    )
    per_tree = {
        "enc": 2 * counters["ciphertexts_encrypted"] / trees,
        "add": 2 * counters["host_rows_evaluated"] * active / trees,
        "dec": 2 * counters["host_nodes_evaluated"] * active * slots / trees,
    }
    naive_cpu = {
        core: sum(per_tree[k] * costs[f"{core}_{k}"] for k in per_tree) for core in ("phe", "core")
    }
    naive = {core: cpu / args.workers for core, cpu in naive_cpu.items()}
    cpu_per_tree = enc["cpu_s"] / trees
    width = args.key_bits // 4
    bytes_naive = (per_tree["enc"] + per_tree["dec"]) * width

    enc_s = statistics.median(enc["tree_s"])
    plain_s = statistics.median(plain["tree_s"])
    enc3_s = statistics.median(enc3["tree_s"]) if enc3 else float("nan")
    auc3 = enc3["bank"].metrics["auc"] if enc3 else float("nan")
    load_after = os.getloadavg()[0]
    print(
        f"{len(y)} rows ({int((roles == TRAIN).sum())} train, {int((roles == VALIDATION).sum())}"
        f" validation, {int((roles == TEST).sum())} test, stratified); depth {args.depth}, "
        f"{args.bins} bins, up to {args.trees} trees, learning rate {args.learning_rate}, "
        f"subsample/colsample {SUBSAMPLE}; {args.key_bits}-bit Paillier; {args.workers} workers"
    )
    rows = [
        ("LightGBM, all columns (centralized)", auc_central, f"{it_central} trees", "-"),
        ("LightGBM, bank columns only", auc_bank, "-", "-"),
        (
            "SecureBoost, 2 parties, Paillier",
            bank.metrics["auc"],
            f"{len(bank.ensemble.trees)}",
            f"{enc_s:.2f}",
        ),
        ("SecureBoost, 3 parties, Paillier", auc3, "-", f"{enc3_s:.2f}"),
        (
            "SecureBoost, 2 parties, plaintext twin",
            plain["bank"].metrics["auc"],
            "-",
            f"{plain_s:.3f}",
        ),
        ("textbook SecureBoost, phe (extrapolated)", float("nan"), "-", f"{naive['phe']:.1f}"),
        ("textbook SecureBoost, same core (extrap.)", float("nan"), "-", f"{naive['core']:.1f}"),
    ]
    print(f"{'model':<44} {'test AUC':>9} {'kept':>9} {'s/tree':>8}")
    for name, auc, kept, secs in rows:
        shown = "-" if np.isnan(auc) else f"{auc:.4f}"
        print(f"{name:<44} {shown:>9} {kept:>9} {secs:>8}")
    print(
        f"per tree (2 parties, median): {counters['decryptions'] / trees:.0f} decryptions, "
        f"{enc['bytes_per_tree'] / 2**20:.1f} MiB, {cpu_per_tree:.1f} CPU s (all processes); "
        f"textbook: {per_tree['dec']:.0f} decryptions, {bytes_naive / 2**20:.1f} MiB, "
        f"{naive_cpu['phe']:.0f} CPU s with phe, {naive_cpu['core']:.0f} with this core"
    )
    print(
        f"textbook extrapolated from {args.naive_nodes} timed nodes of {args.naive_rows} rows "
        f"(phe: {costs['phe_enc'] * 1e3:.1f} ms/encryption, {costs['phe_add'] * 1e6:.1f} us/add, "
        f"{costs['phe_dec'] * 1e3:.2f} ms/decryption) and this run's counts, perfect scaling "
        f"over {args.workers} workers assumed; load average {load_before:.1f} -> {load_after:.1f}"
    )
    result = {
        "auc_federated": round(bank.metrics["auc"], 4),
        "ks_federated": round(bank.metrics["ks"], 4),
        "auc_federated_3party": None if enc3 is None else round(auc3, 4),
        "auc_centralized": round(auc_central, 4),
        "ks_centralized": round(ks_central, 4),
        "auc_bank_only": round(auc_bank, 4),
        "auc_gap_to_centralized": round(auc_central - bank.metrics["auc"], 4),
        "s_per_tree_encrypted": round(enc_s, 2),
        "s_per_tree_encrypted_3party": None if enc3 is None else round(enc3_s, 2),
        "s_per_tree_plaintext": round(plain_s, 3),
        "s_per_tree_naive": round(naive["phe"], 1),
        "s_per_tree_naive_same_core": round(naive["core"], 1),
        "s_per_tree_naive_extrapolated": True,
        "speedup_vs_naive": round(naive_cpu["phe"] / cpu_per_tree, 1),
        "speedup_vs_naive_same_core": round(naive_cpu["core"] / cpu_per_tree, 1),
        "cpu_s_per_tree_encrypted": round(cpu_per_tree, 2),
        "cpu_s_per_tree_naive": round(naive_cpu["phe"], 1),
        "decryptions_per_tree": round(counters["decryptions"] / trees, 1),
        "decryptions_per_tree_naive": round(per_tree["dec"], 1),
        "bytes_per_tree": int(enc["bytes_per_tree"]),
        "bytes_per_tree_naive": int(bytes_naive),
        "trees_built": trees,
        "trees_kept": len(bank.ensemble.trees),
        "key_bits": args.key_bits,
        "workers": args.workers,
        "load_average": [round(load_before, 1), round(load_after, 1)],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
