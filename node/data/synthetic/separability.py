"""How well the bank alone, and all holders together, can predict default on synthetic data.

This is the yardstick that makes the federation worth having: a centralised logistic
regression on the bank's own columns against one on all three holders' columns, on the firms
present at all three. It needs scikit-learn (the ``dev`` or ``bench`` extra), so it is not
imported by the package ``__init__``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

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
