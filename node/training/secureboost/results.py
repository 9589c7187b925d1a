"""What each role returns: its model part (kept locally) and a JSON summary for the job.

``summary()`` is what may go to the coordinator: counts, tree numbers, aggregate metrics and
per-party importance totals — never a split rule, a threshold, a leaf weight, a score or an
identifier. The model parts stay with their parties (``job.py`` writes them to the node).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from node.training.secureboost.model import Ensemble, PartyPart


@dataclass(frozen=True)
class HostResult:
    """A feature holder's outcome: its lookup table and what it did."""

    part: PartyPart
    trees: int
    resumed_from: int
    counters: dict[str, int]

    def summary(self) -> dict[str, Any]:
        return {
            "role": "feature_holder",
            "party": self.part.party,
            "splits": len(self.part.rules),
            "trees": self.trees,
            "resumed_from": self.resumed_from,
            **self.counters,
        }


@dataclass(frozen=True)
class GuestResult:
    """The label holder's outcome: the ensemble, its own lookup table, metrics and counters.

    ``metrics`` are on the test rows (never used for training or early stopping);
    ``history`` holds the validation AUC after every tree; ``importance`` is per party.
    """

    ensemble: Ensemble
    part: PartyPart
    trees_built: int
    resumed_from: int
    metrics: dict[str, float]
    validation: dict[str, float]
    history: list[dict[str, float]]
    rows: dict[str, int]
    counters: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "role": "label_holder",
            "party": self.part.party,
            "trees": len(self.ensemble.trees),
            "trees_built": self.trees_built,
            "best_trees": len(self.ensemble.trees),
            "resumed_from": self.resumed_from,
            "metrics": dict(self.metrics),
            "validation": dict(self.validation),
            "history": [dict(h) for h in self.history],
            "importance": {
                party: {"gain": round(i.gain, 6), "splits": i.splits}
                for party, i in self.ensemble.importance().items()
            },
            "rows": dict(self.rows),
            **self.extra,
            **self.counters,
        }
