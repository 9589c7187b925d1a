"""What each role returns: its own model part locally, and a JSON-able summary for the job.

``summary()`` is what may go to the coordinator: counts, epochs and aggregate metrics only —
never weights, scores, identifiers or labels. The weights stay with their party.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from node.training.vertical.model import PartyModel


@dataclass(frozen=True)
class TrainingCourse:
    """How a run went: best and last epoch, and why it ended."""

    best_epoch: int
    epochs_run: int
    stopped: str
    """``early_stopping``, ``converged`` or ``max_epochs``."""


@dataclass(frozen=True)
class Traffic:
    """What a party sent: ciphertexts and bytes."""

    ciphertexts_sent: int = 0
    bytes_sent: int = 0


@dataclass(frozen=True)
class FeatureHolderResult:
    """A feature holder's outcome: its model part and what it sent."""

    model: PartyModel
    course: TrainingCourse
    traffic: Traffic

    def summary(self) -> dict[str, Any]:
        return {
            "role": "feature_holder",
            "party": self.model.party,
            "features": len(self.model.features),
            "best_epoch": self.course.best_epoch,
            "epochs_run": self.course.epochs_run,
            "stopped": self.course.stopped,
            "ciphertexts_sent": self.traffic.ciphertexts_sent,
            "bytes_sent": self.traffic.bytes_sent,
        }


@dataclass(frozen=True)
class LabelHolderResult:
    """The label holder's outcome: its model part, metrics per split and contributions.

    ``metrics`` are the figures to report: those of the **test** split, whose rows neither
    chose the epoch nor fitted the calibration (the validation split's when the job keeps no
    test rows; ``metrics_split`` says which). ``splits`` holds train, validation and test
    metrics side by side; ``probabilities`` the calibrated PDs' log-loss, Brier score and
    calibration table on the reported split. ``contribution`` maps each party to its share of
    the spread of the score (standard deviation of its partial logit over the sum of all
    parties'); ``own_auc`` is the reported split's AUC of the label holder's part alone.
    """

    model: PartyModel
    course: TrainingCourse
    metrics: dict[str, float]
    metrics_split: str
    splits: dict[str, dict[str, float]]
    probabilities: dict[str, Any]
    history: list[dict[str, float]]
    contribution: dict[str, float]
    own_auc: float
    scorecard: str | None
    traffic: Traffic
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "role": "label_holder",
            "party": self.model.party,
            "best_epoch": self.course.best_epoch,
            "epochs_run": self.course.epochs_run,
            "stopped": self.course.stopped,
            "metrics": dict(self.metrics),
            "metrics_split": self.metrics_split,
            "splits": {k: dict(v) for k, v in self.splits.items()},
            "probabilities": dict(self.probabilities),
            "history": [dict(h) for h in self.history],
            "contribution": dict(self.contribution),
            "own_auc": self.own_auc,
            "scorecard": self.scorecard,
            **{f"{k}_rows": int(v["rows"]) for k, v in self.splits.items()},
            **self.extra,
            "ciphertexts_sent": self.traffic.ciphertexts_sent,
            "bytes_sent": self.traffic.bytes_sent,
        }


@dataclass(frozen=True)
class ArbiterResult:
    """The key holder's outcome: the run's course and how much it decrypted."""

    course: TrainingCourse
    history: list[dict[str, float]]
    final: dict[str, float]
    decryptions: int
    decryptions_per_epoch: int
    resumed_from: int

    @property
    def best_epoch(self) -> int:
        return self.course.best_epoch

    @property
    def epochs_run(self) -> int:
        return self.course.epochs_run

    def summary(self) -> dict[str, Any]:
        return {
            "role": "arbiter",
            "best_epoch": self.course.best_epoch,
            "epochs_run": self.course.epochs_run,
            "stopped": self.course.stopped,
            "history": [dict(h) for h in self.history],
            "final": dict(self.final),
            "decryptions": self.decryptions,
            "decryptions_per_epoch": self.decryptions_per_epoch,
            "resumed_from": self.resumed_from,
        }
