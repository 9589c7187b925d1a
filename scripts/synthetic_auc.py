"""Bank-only vs all-holders AUC on the synthetic federation (the figures in docs/synthetic-data.md).

Run from the repository root::

    python scripts/synthetic_auc.py                 # default federation: 20,000 firms, seed 7
    python scripts/synthetic_auc.py --n-firms 100000 --seed 1

Prints a table, then as the last line one JSON object with the figures. Needs scikit-learn
(the ``dev`` or ``bench`` extra). The yardstick lives here, not in ``node.data``: the generator
must not depend on the training code it is used to evaluate.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node.data.synthetic import SyntheticConfig, build_federation
from node.data.synthetic.federation import SyntheticFederation
from node.data.synthetic.schemas import BANK, GOVERNMENT, THIRD_PARTY
from node.training.metrics import auc
from node.training.preprocess import prepare_features


@dataclass(frozen=True)
class SeparabilityReport:
    """Cross-validated AUCs on the firms present at all three holders."""

    n_rows: int
    n_defaults: int
    bank_only_auc: float
    all_holders_auc: float

    @property
    def gap(self) -> float:
        """How much the other holders add (all-holders AUC minus bank-only AUC)."""
        return self.all_holders_auc - self.bank_only_auc


def _prepare(frame: pd.DataFrame) -> np.ndarray:
    """The holders' own local preparation (``node.training.preprocess``) of these columns."""
    return prepare_features(frame, list(frame.columns)).to_numpy(dtype=np.float64)


def joined_view(federation: SyntheticFederation) -> pd.DataFrame:
    """The bank table joined with the government and third-party tables on ``uscc``."""
    return federation.bank.merge(federation.government, on="uscc").merge(
        federation.third_party, on="uscc"
    )


def _oof_auc(x: np.ndarray, y: np.ndarray, seed: int) -> float:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    scores = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    return float(auc(y, scores))


def separability(federation: SyntheticFederation, seed: int = 0) -> SeparabilityReport:
    """5-fold out-of-fold AUC of bank-only and all-holders logistic regressions.

    Raises
    ------
    ValueError
        Fewer than 5 defaults among the firms present at all three holders.
    """
    joined = joined_view(federation)
    y = joined[BANK.label_column].to_numpy(dtype=int)
    if y.sum() < 5:
        raise ValueError("fewer than 5 defaults at all three holders; generate more firms")
    bank_cols = list(BANK.feature_columns)
    all_cols = bank_cols + list(GOVERNMENT.feature_columns) + list(THIRD_PARTY.feature_columns)
    return SeparabilityReport(
        n_rows=len(joined),
        n_defaults=int(y.sum()),
        bank_only_auc=_oof_auc(_prepare(joined[bank_cols]), y, seed),
        all_holders_auc=_oof_auc(_prepare(joined[all_cols]), y, seed),
    )


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
