"""One party's part of a trained vertical model: self-contained, so it can score on its own.

The model is the sum of the parties' parts: ``logit = intercept + sum_p w_p . x_p(raw_p)``.
Each part holds everything its party needs to compute its partial score for a new firm from
that firm's raw columns — the fitted preparation (or WOE tables), the fixed-point precision the
weights were trained at, and the weights; the label holder's part adds the intercept, the PD
calibration and the scorecard scaling. Federated scoring (a later job type) asks each holder
for ``partial_score`` of an applicant and adds them at the bank; nothing else is needed.
The JSON format (``MODEL_FORMAT``) is described in docs/protocols/vertical-lr.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.crypto.paillier import encode
from node.training.calibration import PlattScaling
from node.training.preprocess import Transform
from node.training.vertical.woe import WoeTable

MODEL_FORMAT: Final = "fedcredit.vertical_lr.part/1"


@dataclass(frozen=True)
class PartyModel:
    """A party's model part; ``intercept``/``calibration`` are set at the label holder only."""

    party: str
    features: tuple[str, ...]
    weights: tuple[float, ...]
    transform: Transform
    feature_frac_bits: int = 8
    woe: Mapping[str, WoeTable] | None = None
    intercept: float | None = None
    calibration: PlattScaling | None = None

    def inputs(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """The model inputs of raw rows: prepared (or WOE-mapped), then fixed point as trained.

        Raises
        ------
        ValueError
            A feature column is missing or not numeric.
        """
        if self.woe is not None:
            missing = [f for f in self.features if f not in frame.columns]
            if missing:
                raise ValueError(f"columns {missing} are not in the dataset")
            raw = np.column_stack(
                [self.woe[f].apply(frame[f].to_numpy(dtype=np.float64)) for f in self.features]
            )
        else:
            raw = self.transform.apply(frame)
        return encode(raw, self.feature_frac_bits).astype(np.float64) / 2.0**self.feature_frac_bits

    def partial_score(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """This party's part of the logit for each row (without the intercept)."""
        if not self.features:
            return np.zeros(len(frame))
        return self.inputs(frame) @ np.asarray(self.weights, dtype=np.float64)

    def as_dict(self) -> dict[str, float]:
        """``{feature: weight}`` (and ``(intercept)``), for the party's own report."""
        out = dict(zip(self.features, self.weights, strict=True))
        if self.intercept is not None:
            out["(intercept)"] = self.intercept
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON form a node keeps (``MODEL_FORMAT``)."""
        return {
            "format": MODEL_FORMAT,
            "party": self.party,
            "features": list(self.features),
            "weights": list(self.weights),
            "feature_frac_bits": self.feature_frac_bits,
            "transform": self.transform.to_dict(),
            "woe": None
            if self.woe is None
            else {name: table.to_dict() for name, table in self.woe.items()},
            "intercept": self.intercept,
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PartyModel:
        """Parse ``to_dict``.

        Raises
        ------
        ValueError
            Another format, or a field is missing or malformed.
        """
        if raw.get("format") != MODEL_FORMAT:
            raise ValueError(f"not a {MODEL_FORMAT} model part")
        try:
            woe = raw["woe"]
            calibration = raw["calibration"]
            intercept = raw["intercept"]
            return cls(
                party=str(raw["party"]),
                features=tuple(str(f) for f in raw["features"]),
                weights=tuple(float(w) for w in raw["weights"]),
                transform=Transform.from_dict(raw["transform"]),
                feature_frac_bits=int(raw["feature_frac_bits"]),
                woe=None if woe is None else {k: WoeTable.from_dict(v) for k, v in woe.items()},
                intercept=None if intercept is None else float(intercept),
                calibration=None if calibration is None else PlattScaling.from_dict(calibration),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"model part is malformed ({exc})") from None
