"""The label holder's model alone: the yardstick a federated run is compared with.

Trains logistic regression on the bank's own columns with the same preparation, split, batch
order, optimizer, early stopping and calibration as the federated job (without other parties
the residual is the exact logistic gradient), and reports the same test metrics. Local only:
nothing is sent anywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from node.training import metrics
from node.training.calibration import fit_platt, sigmoid
from node.training.preprocess import fit_transform
from node.training.vertical.local import (
    check_columns,
    epoch_batches,
    load_labels,
    quantize,
    stratified_split,
)
from node.training.vertical.optimizer import (
    Optimizer,
    OptimizerState,
    change_figures,
    relative_change,
)
from node.training.vertical.spec import VerticalSpec
from node.training.vertical.stopping import StopState, decide


def bank_only_metrics(spec: VerticalSpec, frame: pd.DataFrame) -> dict[str, float]:
    """Test-split AUC, KS, Gini and calibrated log-loss of the bank-only model.

    The validation split chooses the epoch and fits the calibration, as in the federated job;
    the figures come from the test split (validation when the job keeps no test rows).

    Raises
    ------
    DataMismatch
        A column is missing or invalid, or the label is not 0/1.
    """
    holder = spec.label_holder
    assert holder.label is not None  # the spec requires it for the label holder
    y = load_labels(holder.party, frame, holder.label)
    check_columns(holder.party, frame, holder.features)
    split = stratified_split(y, spec.validation_fraction, spec.test_fraction, spec.seed)
    transform = fit_transform(frame, holder.features, spec.preprocess, split.train)
    x = quantize(
        holder.party,
        holder.features,
        transform.apply(frame),
        spec.encryption.feature_frac_bits,
        intercept=True,
    ).values
    model = spec.model
    optimizer = Optimizer(model.optimizer, model.learning_rate, model.l2, intercept=True)
    start = np.zeros(x.shape[1])
    rate = float(y[split.train].mean())
    start[-1] = np.log(rate / (1 - rate))
    state = OptimizerState.start(start)
    train = np.flatnonzero(split.train)
    batch = spec.batch_rows(len(train))
    stop = StopState()
    best_weights = start
    for e in range(1, model.epochs + 1):
        state.begin_epoch()
        for rows in epoch_batches(train, spec.seed, e, batch):
            grad = x[rows].T @ (sigmoid(x[rows] @ state.weights) - y[rows]) / len(rows)
            optimizer.step(state, grad, e)
        weights = optimizer.epoch_weights(state)
        delta, scale = change_figures(state)
        y_valid = y[split.valid]
        auc = metrics.auc(y_valid, x[split.valid] @ weights)
        se = metrics.auc_standard_error(auc, int(y_valid.sum()), int(y_valid.size - y_valid.sum()))
        done = decide(model, stop, e, auc, se, relative_change([delta], [scale]))
        if stop.best_epoch == e:
            best_weights = weights.copy()
        if done:
            break
    z = x @ best_weights
    scored = split.test if split.test.any() else split.valid
    calibration = fit_platt(z[split.valid], y[split.valid])
    auc = metrics.auc(y[scored], z[scored])
    return {
        "auc": auc,
        "ks": metrics.ks(y[scored], z[scored]),
        "gini": 2 * auc - 1,
        "log_loss": metrics.log_loss(y[scored], calibration.probabilities(z[scored])),
    }
