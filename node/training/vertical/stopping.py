"""When vertical training ends: early stopping, convergence, or the epoch budget.

One rule, used by the key holder for the federated run and by the bank-only yardstick, so the
two are stopped the same way. Which epoch is kept follows ``node.training.selection``.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.training.selection import Selection
from node.training.vertical.spec import ModelSpec


@dataclass
class StopState(Selection):
    """The kept epoch's selection state, and why the run ended."""

    stopped: str = ""
    """Empty while training; ``early_stopping``, ``converged`` or ``max_epochs`` once done."""


def decide(
    model: ModelSpec, state: StopState, epoch: int, auc: float, se: float, change: float
) -> bool:
    """Record epoch ``epoch``'s validation AUC (standard error ``se``) and relative weight
    change; ``True`` to stop.

    ``change`` is the largest change of the epoch's averaged weights over their largest
    magnitude; below ``model.tolerance`` the run has converged (never judged on epoch 1, whose
    change is measured from the starting point).
    """
    stopping = model.early_stopping
    state.observe(epoch, auc, se, stopping.min_delta if stopping else 0.0)
    if stopping and state.wait >= stopping.patience:
        state.stopped = "early_stopping"
    elif epoch > 1 and change < model.tolerance:
        state.stopped = "converged"
    elif epoch == model.epochs:
        state.stopped = "max_epochs"
    return bool(state.stopped)
