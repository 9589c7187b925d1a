"""The contract between the bank role and whatever trains locally (our torch loop or Flower)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from node.training.horizontal.params import Parameters

Config = Mapping[str, bool | bytes | float | int | str]
"""Flower's ``Config``: the per-round settings sent to ``fit``/``evaluate``."""


@dataclass(frozen=True)
class EvalCounts:
    """What a bank contributes to federated evaluation: counts, never scores or labels.

    Attributes
    ----------
    pos, neg:
        Per-bin counts of defaulters and non-defaulters over shared score bins (ordered by
        increasing score); empty when the trainer cannot score (AUC is then not reported).
    loss_sum:
        Sum of per-example log-losses (so the federated mean weights banks by size).
    n:
        Number of evaluation examples.
    """

    pos: NDArray[np.int64]
    neg: NDArray[np.int64]
    loss_sum: float
    n: int


@dataclass(frozen=True)
class FitResult:
    """A local training run: the new parameters and the number of examples trained on."""

    parameters: Parameters
    num_examples: int
    metrics: Mapping[str, float]


class LocalTrainer(Protocol):
    """Anything that can train and evaluate one bank's model on its own data.

    Implementations: ``TorchTrainer`` (ours) and ``FlowerTrainer`` (any Flower NumPyClient).
    ``split`` is ``"val"`` for the per-round validation or ``"test"`` for the held-out set.
    """

    def get_parameters(self) -> Parameters:
        """The trainer's current parameters (used for the initial global model)."""
        ...

    def fit(self, parameters: Parameters, config: Config) -> FitResult:
        """Train from ``parameters`` for the configured local epochs; return the result."""
        ...

    def evaluate(self, parameters: Parameters, split: str, bins: int) -> EvalCounts | None:
        """Evaluate ``parameters`` on ``split``; ``None`` if that split does not exist."""
        ...
