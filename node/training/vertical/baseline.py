"""The label holder's model alone: the yardstick a federated run is compared with.

Trains logistic regression on the bank's own columns with the same split, batch order, learning
rate, L2 and fixed-point features as the federated job (without other parties the linearised
residual is the exact logistic gradient), and reports the same validation metrics. Local only:
nothing is sent anywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from node.training import metrics
from node.training.vertical.local import (
    apply_gradient,
    epoch_batches,
    load_features,
    load_labels,
    stratified_split,
)
from node.training.vertical.spec import VerticalSpec


def bank_only_metrics(spec: VerticalSpec, frame: pd.DataFrame) -> dict[str, float]:
    """Validation AUC, KS and Gini of the bank-only model at its best epoch.

    Raises
    ------
    DataMismatch
        A column is missing or invalid, or the label is not 0/1.
    """
    holder = spec.label_holder
    assert holder.label is not None
    y = load_labels(holder.party, frame, holder.label)
    x = load_features(
        holder.party, frame, holder.features, spec.encryption.feature_frac_bits, intercept=True
    ).values
    valid = stratified_split(y, spec.validation_fraction, spec.seed)
    train = np.flatnonzero(~valid)
    w = np.zeros(x.shape[1])
    best: dict[str, float] = {}
    for e in range(1, spec.model.epochs + 1):
        for rows in epoch_batches(train, spec.seed, e, spec.model.batch_size):
            d = 1 / (1 + np.exp(-(x[rows] @ w))) - y[rows]
            w = apply_gradient(
                w,
                (x[rows].T @ d).tolist(),
                0,
                len(rows),
                spec.model.learning_rate,
                spec.model.l2,
                intercept=True,
            )
        score = x[valid] @ w
        auc = metrics.auc(y[valid], score)
        if not best or auc > best["auc"]:
            best = {
                "auc": auc,
                "ks": metrics.ks(y[valid], score),
                "gini": 2 * auc - 1,
                "epoch": float(e),
            }
    return best
