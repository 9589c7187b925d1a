"""Model quality of the default vertical and horizontal jobs on data nobody tuned them for.

Runs the vertical job (the plaintext twin: its arithmetic is bit-identical to the Paillier run)
and the horizontal job (plaintext sums, likewise bit-identical) with their **job-file
defaults** on:

- ``dc_vertical`` / ``dc_horizontal``: the real default_credit splits in the repository (or
  the files given by flag);
- ``dc_hard_vertical`` / ``dc_hard_horizontal``: their hard variants (``node.data.stress``:
  every other column lognormal-tailed with 0.2 % outliers 1,000-10,000 times their value,
  positives thinned to 7 %, one holder's columns in units 10**4 larger);
- ``synthetic_s<seed>_<firms>``: the synthetic SME federation (bank, government, third party;
  the firms present at all three) at seeds 1, 2, 3 and 20,000 / 60,000 firms.

Per data set it prints test AUC federated, centralized (scikit-learn ``LogisticRegression``
fully fitted on the same training rows and the same per-holder preparation) and bank-only
(the same on the bank's columns; horizontally, the bank holding the test firms alone, trained
with the job's own method and defaults — ``node.training.horizontal.baseline``), and
the calibrated PDs' test log-loss beside the base rate's (always predicting the test firms'
own default rate). The test rows chose nothing: no epoch, round or calibration. Last, one JSON
line with ``worst_gap_vertical``, ``worst_gap_horizontal`` (centralized minus federated AUC,
worst), ``worst_vs_bank_only`` (federated minus bank-only AUC, worst), ``worst_logloss_ratio``
(federated over base-rate log-loss, worst) and ``n_datasets``.

Usage: ``python scripts/bench/model_quality.py [--guest CSV --host CSV [--host CSV ...]
--id-column NAME --label NAME] [--bank CSV --bank CSV ... --test CSV] [--no-synthetic]
[--preprocess MODE] [--vertical JSON] [--horizontal JSON]``; ``--vertical``/``--horizontal``
override job settings (e.g. ``'{"model": {"linearization": "tangent"}}'``) for ablations.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from node.data import bundled
from node.data.stress import stress_horizontal, stress_vertical
from node.data.synthetic import SyntheticConfig, build_federation
from node.data.synthetic.schemas import BANK, GOVERNMENT, THIRD_PARTY
from node.training import metrics
from node.training.horizontal import TorchTrainer, parse_horizontal_spec
from node.training.horizontal.baseline import bank_alone_metrics
from node.training.horizontal.data import prepare_bank_data
from node.training.horizontal.simulate import run_in_memory as run_horizontal_in_memory
from node.training.preprocess import fit_transform
from node.training.vertical import run_in_memory, spec_from_job
from node.training.vertical.local import stratified_split
from scripts.synthetic_auc import joined_view


@dataclass(frozen=True)
class Outcome:
    """One data set's figures (AUCs and log-losses on its test firms)."""

    name: str
    kind: str
    rows: int
    positive_rate: float
    auc_federated: float
    auc_centralized: float
    auc_bank_only: float
    logloss_federated: float
    logloss_base_rate: float
    steps: str
    seconds: float


def allow_all(party: str, dataset: str, columns: Sequence[str], purpose: str = "") -> None:
    """The benchmark's holders permit their columns for training."""


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


# ---- vertical --------------------------------------------------------------------------------


def run_vertical(
    name: str,
    frames: Mapping[str, pd.DataFrame],
    features: Mapping[str, list[str]],
    label_party: str,
    label: str,
    overrides: Mapping[str, Any],
) -> Outcome:
    """The default vertical job (plaintext twin) beside scikit-learn on the same rows."""
    hosts = [p for p in features if p != label_party]
    section = deep_merge(
        {
            "label_holder": {
                "party": label_party,
                "dataset": label_party,
                "id_column": "id",
                "label": label,
                "features": features[label_party],
            },
            "feature_holders": [
                {"party": p, "dataset": p, "id_column": "id", "features": features[p]}
                for p in hosts
            ],
            "encryption": {"plaintext": True},
        },
        overrides,
    )
    spec = spec_from_job(section, allow_all)
    start = time.perf_counter()
    results, errors = run_in_memory(spec, frames)
    seconds = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{name}: the vertical job failed: {errors}")
    bank = results[label_party]
    y = frames[label_party][label].to_numpy().astype(np.int8)
    split = stratified_split(y, spec.validation_fraction, spec.test_fraction, spec.seed)
    parts = {
        p: fit_transform(frames[p], cols, spec.preprocess, split.train).apply(frames[p])
        for p, cols in features.items()
    }
    aucs = []
    for x in (np.hstack([parts[p] for p in features]), parts[label_party]):
        model = LogisticRegression(max_iter=5000).fit(x[split.train], y[split.train])
        aucs.append(metrics.auc(y[split.test], model.decision_function(x[split.test])))
    return Outcome(
        name=name,
        kind="vertical",
        rows=len(y),
        positive_rate=float(y.mean()),
        auc_federated=bank.metrics["auc"],
        auc_centralized=aucs[0],
        auc_bank_only=aucs[1],
        logloss_federated=bank.metrics["log_loss"],
        logloss_base_rate=bank.probabilities["log_loss_base_rate"],
        steps=f"{bank.course.epochs_run} epochs ({bank.course.stopped})",
        seconds=seconds,
    )


def default_credit_vertical(args: argparse.Namespace) -> tuple[dict[str, pd.DataFrame], str]:
    """Guest and host frames aligned on the id column (what PSI would hand each party)."""
    if args.guest:
        guest = pd.read_csv(args.guest)
        hosts = [pd.read_csv(h) for h in args.host]
    else:
        folder = bundled.extract(Path(tempfile.mkdtemp(prefix="fedcredit-quality-")))
        guest = pd.read_csv(folder / "default_credit_hetero_guest.csv")
        hosts = [pd.read_csv(folder / "default_credit_hetero_host.csv")]
    ids = set(guest[args.id_column])
    for host in hosts:
        ids &= set(host[args.id_column])
    keep = sorted(ids)
    frames = {"bank": guest}
    frames.update({f"host{i + 1}": h for i, h in enumerate(hosts)})
    return {
        p: f.set_index(args.id_column)
        .loc[keep]
        .reset_index()
        .rename(columns={args.id_column: "id"})
        for p, f in frames.items()
    }, args.label


def vertical_features(frames: Mapping[str, pd.DataFrame], label: str) -> dict[str, list[str]]:
    return {p: [c for c in f.columns if c not in ("id", label)] for p, f in frames.items()}


def synthetic_vertical(
    seed: int, firms: int
) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]]]:
    joined = joined_view(build_federation(SyntheticConfig(n_firms=firms, seed=seed)))
    joined = joined.rename(columns={"uscc": "id"})
    features = {
        "bank": list(BANK.feature_columns),
        "government": list(GOVERNMENT.feature_columns),
        "third_party": list(THIRD_PARTY.feature_columns),
    }
    frames = {p: joined[["id", *cols, BANK.label_column]] for p, cols in features.items()}
    return frames, features


# ---- horizontal ------------------------------------------------------------------------------


def run_horizontal(
    name: str,
    banks: Mapping[str, pd.DataFrame],
    test: pd.DataFrame,
    features: list[str],
    label: str,
    overrides: Mapping[str, Any],
) -> Outcome:
    """The default horizontal job (plaintext sums) beside scikit-learn pooled and bank alone."""
    names = tuple(banks)
    spec = parse_horizontal_spec(deep_merge({"encryption": "none"}, overrides), names)
    holder = names[0]  # the bank holding the test firms
    data = {
        b: prepare_bank_data(
            banks[b],
            features,
            label,
            0.2,
            spec.seed,
            spec.preprocess,
            test if b == holder else None,
        )[0]
        for b in names
    }
    trainers = {b: TorchTrainer(spec, data[b], seed=i) for i, b in enumerate(names)}
    start = time.perf_counter()
    outcomes, failed = run_horizontal_in_memory(spec, trainers)
    seconds = time.perf_counter() - start
    if failed:
        raise RuntimeError(f"{name}: the horizontal job failed: {failed}")
    coordinator = outcomes["coordinator"]
    x_test, y_test = data[holder].x_test, data[holder].y_test
    assert x_test is not None and y_test is not None
    x = np.vstack([data[b].x_train for b in names])
    y = np.concatenate([data[b].y_train for b in names])
    pooled = LogisticRegression(max_iter=5000).fit(x, y).decision_function(x_test)
    alone = bank_alone_metrics(spec, data[holder], seed=0)
    final = coordinator.final
    return Outcome(
        name=name,
        kind="horizontal",
        rows=int(sum(len(f) for f in banks.values()) + len(test)),
        positive_rate=float(y_test.mean()),
        auc_federated=final["test_auc"],
        auc_centralized=metrics.auc(y_test, pooled),
        auc_bank_only=alone["test_auc"],
        logloss_federated=final["test_log_loss"],
        logloss_base_rate=outcomes[holder].probabilities["log_loss_base_rate"],
        steps=f"{coordinator.rounds_completed} rounds ({coordinator.stopped})",
        seconds=seconds,
    )


def default_credit_horizontal(
    args: argparse.Namespace,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, list[str]]:
    if args.bank:
        banks = {f"bank{i + 1}": pd.read_csv(p) for i, p in enumerate(args.bank)}
        if not args.test:
            raise SystemExit("pass --test with --bank: the held-out firms the figures come from")
        test = pd.read_csv(args.test)
    else:
        folder = bundled.extract(Path(tempfile.mkdtemp(prefix="fedcredit-quality-")))
        banks = {
            b: pd.read_csv(folder / f"default_credit_homo_{b}.csv")
            for b in ("guest", "host_1", "host_2")
        }
        test = pd.read_csv(folder / "default_credit_homo_test.csv")
    first = next(iter(banks.values()))
    features = [c for c in first.columns if c not in (args.id_column, args.label)]
    return banks, test, features


# ---- the run ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guest", help="vertical: CSV at the bank (id, label, features)")
    parser.add_argument("--host", action="append", default=[], help="vertical: a holder's CSV")
    parser.add_argument("--bank", action="append", default=[], help="horizontal: a bank's CSV")
    parser.add_argument("--test", help="horizontal: CSV of held-out firms (at the first bank)")
    parser.add_argument("--id-column", default="id")
    parser.add_argument("--label", default="y")
    parser.add_argument("--no-synthetic", action="store_true")
    parser.add_argument("--preprocess", help="override every job's preparation (ablation)")
    parser.add_argument("--vertical", default="{}", help="JSON overrides of the vertical section")
    parser.add_argument("--horizontal", default="{}", help="JSON overrides of horizontal")
    args = parser.parse_args()
    if (args.guest is None) != (not args.host):
        raise SystemExit("pass --guest together with at least one --host, or neither")
    vertical_overrides = json.loads(args.vertical)
    horizontal_overrides = json.loads(args.horizontal)
    if args.preprocess:
        vertical_overrides["preprocess"] = args.preprocess
        horizontal_overrides["preprocess"] = args.preprocess

    outcomes: list[Outcome] = []
    frames, label = default_credit_vertical(args)
    features = vertical_features(frames, label)
    outcomes.append(
        run_vertical("dc_vertical", frames, features, "bank", label, vertical_overrides)
    )
    first_host = next(p for p in frames if p != "bank")
    hard = stress_vertical(frames, features, "bank", label, first_host)
    outcomes.append(
        run_vertical("dc_hard_vertical", hard, features, "bank", label, vertical_overrides)
    )
    banks, test, columns = default_credit_horizontal(args)
    outcomes.append(
        run_horizontal("dc_horizontal", banks, test, columns, args.label, horizontal_overrides)
    )
    hard_banks, hard_test = stress_horizontal(banks, test, columns, args.label, list(banks)[1])
    outcomes.append(
        run_horizontal(
            "dc_hard_horizontal", hard_banks, hard_test, columns, args.label, horizontal_overrides
        )
    )
    if not args.no_synthetic:
        label = BANK.label_column
        assert label is not None, "the synthetic bank table has a label"
        for firms in (20_000, 60_000):
            for seed in (1, 2, 3):
                frames, features = synthetic_vertical(seed, firms)
                outcomes.append(
                    run_vertical(
                        f"synthetic_s{seed}_{firms // 1000}k",
                        frames,
                        features,
                        "bank",
                        label,
                        vertical_overrides,
                    )
                )

    header = (
        f"{'data set':<22} {'kind':<10} {'rows':>7} {'pos':>6} {'AUC fed':>8} {'AUC cent':>8} "
        f"{'gap':>7} {'AUC bank':>8} {'LL fed':>7} {'LL base':>7}  {'run':<26} {'s':>5}"
    )
    print("test split: AUC and calibrated log-loss (LL); gap = centralized - federated")
    print(header)
    for o in outcomes:
        print(
            f"{o.name:<22} {o.kind:<10} {o.rows:>7} {o.positive_rate:>6.3f} "
            f"{o.auc_federated:>8.4f} {o.auc_centralized:>8.4f} "
            f"{o.auc_centralized - o.auc_federated:>+7.4f} "
            f"{o.auc_bank_only:>8.4f} {o.logloss_federated:>7.4f} {o.logloss_base_rate:>7.4f}  "
            f"{o.steps:<26} {o.seconds:>5.0f}"
        )

    def gap(kind: str) -> float:
        return max(o.auc_centralized - o.auc_federated for o in outcomes if o.kind == kind)

    result = {
        "worst_gap_vertical": round(gap("vertical"), 4),
        "worst_gap_horizontal": round(gap("horizontal"), 4),
        "worst_vs_bank_only": round(min(o.auc_federated - o.auc_bank_only for o in outcomes), 4),
        "worst_logloss_ratio": round(
            max(o.logloss_federated / o.logloss_base_rate for o in outcomes), 4
        ),
        "n_datasets": len(outcomes),
        "datasets": {
            o.name: {
                "auc_federated": round(o.auc_federated, 4),
                "auc_centralized": round(o.auc_centralized, 4),
                "auc_bank_only": round(o.auc_bank_only, 4),
                "logloss_federated": round(o.logloss_federated, 4),
                "logloss_base_rate": round(o.logloss_base_rate, 4),
            }
            for o in outcomes
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
