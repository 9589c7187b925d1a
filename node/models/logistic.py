"""The logistic-regression part: frozen transform, weights and, at the bank, the head.

The model's log-odds of default is a sum of parts, one per party, plus the intercept the
label holder keeps: ``logit = b + sum_party sum_j w_j z_j``. A holder's partial score is its
own sum; the bank adds them and maps the total to a probability through its calibration
(``pd = sigmoid(a * logit + c)``; ``a = 1, c = 0`` when the job did not calibrate).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.models.part import FORMAT_VERSION, JOB_KINDS, PART_KINDS, JobContext, PartInfo
from node.models.transform import FrozenTransform
from node.training.vertical.model import MODEL_FORMAT, PartyModel

KIND: Final = "logistic"
INTERCEPT: Final = "(intercept)"


@dataclass(frozen=True)
class LogisticPart:
    """One party's logistic part. ``intercept`` and ``calibration`` matter at the bank only."""

    info: PartInfo
    transform: FrozenTransform
    weights: tuple[float, ...]
    intercept: float = 0.0
    calibration: tuple[float, float] = (1.0, 0.0)

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.info.features):
            raise ValueError("one weight per feature is required")
        if not all(math.isfinite(w) for w in (*self.weights, self.intercept)):
            raise ValueError("weights must be finite")

    def contributions(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """Per row and feature, ``w_j z_j`` (log-odds of default; positive is riskier)."""
        result: NDArray[np.float64] = self.transform.apply(frame) * np.asarray(self.weights)
        return result

    def contributions_of(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """``contributions`` of raw values in feature order (rows x features)."""
        result: NDArray[np.float64] = self.transform.apply_values(values) * np.asarray(self.weights)
        return result

    def partial_scores(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        result: NDArray[np.float64] = self.contributions(frame).sum(axis=1) + self.intercept
        return result

    def probability(self, logit: NDArray[np.float64]) -> NDArray[np.float64]:
        """Calibrated probability of default for total log-odds ``logit``."""
        a, c = self.calibration
        z = np.clip(a * np.asarray(logit, dtype=np.float64) + c, -50.0, 50.0)
        result: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-z))
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "kind": KIND,
            "info": self.info.to_dict(),
            "transform": self.transform.to_dict(),
            "weights": list(self.weights),
            "intercept": self.intercept,
            "calibration": list(self.calibration),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LogisticPart:
        a, c = (float(v) for v in raw.get("calibration", (1.0, 0.0)))
        return cls(
            info=PartInfo.from_dict(raw["info"]),
            transform=FrozenTransform.from_dict(raw["transform"]),
            weights=tuple(float(w) for w in raw["weights"]),
            intercept=float(raw.get("intercept", 0.0)),
            calibration=(a, c),
        )


def from_vertical_job(
    raw: Mapping[str, Any], frame: pd.DataFrame, context: JobContext
) -> LogisticPart:
    """A ``vertical_lr`` output made deployable.

    A job's model part (``MODEL_FORMAT``) carries its preparation, intercept and calibration.
    Outputs of earlier jobs (``{party, weights: {feature: w}, job_id}``) did not carry the
    preprocessing, so it is frozen here from the node's dataset, which is the table the job
    prepared its columns from; keys the output does carry (``dataset``, ``preprocess``,
    ``transform``, ``calibration``) take precedence.
    """
    if raw.get("format") == MODEL_FORMAT:
        part = PartyModel.from_dict(raw)
        if part.woe is not None:
            raise ValueError("WOE-binned parts are not deployable yet")
        head = part.calibration
        return LogisticPart(
            PartInfo(
                kind=KIND,
                job_id=str(raw["job_id"]),
                party=part.party,
                dataset=context.dataset,
                id_column=context.id_column,
                features=part.features,
            ),
            FrozenTransform(part.transform),
            part.weights,
            part.intercept or 0.0,
            (head.slope, head.shift) if head is not None else (1.0, 0.0),
        )
    weights = {str(k): float(v) for k, v in dict(raw["weights"]).items()}
    intercept = weights.pop(INTERCEPT, 0.0)
    features = tuple(weights)
    if "woe" in raw:
        raise ValueError("WOE-binned parts are not deployable until the part carries its bins")
    transform = (
        FrozenTransform.from_dict(raw["transform"])
        if "transform" in raw
        else FrozenTransform.fit(frame, features, str(raw.get("preprocess", context.preprocess)))
    )
    a, c = (float(v) for v in raw.get("calibration", (1.0, 0.0)))
    info = PartInfo(
        kind=KIND,
        job_id=str(raw["job_id"]),
        party=str(raw["party"]),
        dataset=str(raw.get("dataset", context.dataset)),
        id_column=str(raw.get("id_column", context.id_column)),
        features=features,
    )
    return LogisticPart(info, transform, tuple(weights.values()), intercept, (a, c))


PART_KINDS[KIND] = LogisticPart.from_dict
JOB_KINDS[KIND] = from_vertical_job
