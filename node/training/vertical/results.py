"""What each role returns: its own model part locally, and a JSON-able summary for the job.

``summary()`` is what may go to the coordinator: counts, epochs and aggregate validation
metrics only — never weights, scores, identifiers or labels. The weights stay with their party.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from node.training.vertical.woe import WoeTable


@dataclass(frozen=True)
class PartyModel:
    """One party's part of the model: feature names, weights (intercept last, bank only) and,
    when the job bins, the WOE table each column is mapped through before its weight applies."""

    party: str
    features: tuple[str, ...]
    weights: tuple[float, ...]
    woe: dict[str, WoeTable] | None = None

    def as_dict(self) -> dict[str, float]:
        """``{feature: weight}``, for the party's own report."""
        return dict(zip(self.features, self.weights, strict=True))


@dataclass(frozen=True)
class FeatureHolderResult:
    """A feature holder's outcome: its model part and what it sent."""

    model: PartyModel
    best_epoch: int
    epochs_run: int
    ciphertexts_sent: int
    bytes_sent: int

    def summary(self) -> dict[str, Any]:
        return {
            "role": "feature_holder",
            "party": self.model.party,
            "features": len(self.model.features),
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "ciphertexts_sent": self.ciphertexts_sent,
            "bytes_sent": self.bytes_sent,
        }


@dataclass(frozen=True)
class LabelHolderResult:
    """The label holder's outcome: its model part, validation metrics and contributions.

    ``contribution`` maps each party to its share of the spread of the validation score (the
    standard deviation of its partial logit over the sum of all parties'): a privacy-light
    measure, computed from one aggregate per party. ``own_auc`` is the validation AUC of the
    label holder's part alone, so ``auc - own_auc`` is what the other parties added.
    """

    model: PartyModel
    best_epoch: int
    epochs_run: int
    metrics: dict[str, float]
    history: list[dict[str, float]]
    contribution: dict[str, float]
    own_auc: float
    scorecard: str | None
    ciphertexts_sent: int
    bytes_sent: int
    validation_rows: int = 0
    train_rows: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "role": "label_holder",
            "party": self.model.party,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "metrics": dict(self.metrics),
            "history": [dict(h) for h in self.history],
            "contribution": dict(self.contribution),
            "own_auc": self.own_auc,
            "scorecard": self.scorecard,
            "train_rows": self.train_rows,
            "validation_rows": self.validation_rows,
            **self.extra,
            "ciphertexts_sent": self.ciphertexts_sent,
            "bytes_sent": self.bytes_sent,
        }


@dataclass(frozen=True)
class ArbiterResult:
    """The key holder's outcome: the run's course and how much it decrypted."""

    best_epoch: int
    epochs_run: int
    history: list[dict[str, float]]
    final: dict[str, float]
    decryptions: int
    resumed_from: int

    def summary(self) -> dict[str, Any]:
        return {
            "role": "arbiter",
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "history": [dict(h) for h in self.history],
            "final": dict(self.final),
            "decryptions": self.decryptions,
            "resumed_from": self.resumed_from,
        }
