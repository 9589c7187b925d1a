"""When training ends: early stopping on validation AUC, convergence, or the epoch budget.

One rule, used by the key holder for the federated run and by the bank-only yardstick, so the
two are stopped the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.training.vertical.spec import ModelSpec


@dataclass
class StopState:
    """Best validation AUC so far, epochs without improvement, and why the run ended."""

    best_auc: float | None = None
    best_epoch: int = 0
    wait: int = 0
    stopped: str = ""
    """Empty while training; ``early_stopping``, ``converged`` or ``max_epochs`` once done."""


def decide(model: ModelSpec, state: StopState, epoch: int, auc: float, change: float) -> bool:
    """Record epoch ``epoch``'s validation AUC and relative weight change; ``True`` to stop.

    ``change`` is the largest change of the epoch's averaged weights over their largest
    magnitude; below ``model.tolerance`` the run has converged (never judged on epoch 1, whose
    change is measured from the starting point).
    """
    stopping = model.early_stopping
    min_delta = stopping.min_delta if stopping else 0.0
    if state.best_auc is None or auc > state.best_auc + min_delta:
        state.best_auc, state.best_epoch, state.wait = auc, epoch, 0
    else:
        state.wait += 1
    if stopping and state.wait >= stopping.patience:
        state.stopped = "early_stopping"
    elif epoch > 1 and change < model.tolerance:
        state.stopped = "converged"
    elif epoch == model.epochs:
        state.stopped = "max_epochs"
    return bool(state.stopped)
