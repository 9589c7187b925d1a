"""What each data party computes on its own rows: fixed-point features, schedule, updates.

Everything here is local and deterministic: the row split and the per-epoch batch order are
derived from the job's seed (so a resumed run replays exactly the same schedule without
persisting any RNG state), and weights are updated from the unmasked gradient a party alone
can recover.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.crypto.paillier import encode
from node.training.vertical.exceptions import DataMismatch

CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class Features:
    """A party's training columns as fixed-point integers and the floats they stand for.

    ``scalars`` are ``round(x * 2**frac_bits)``; ``values`` are exactly ``scalars /
    2**frac_bits``, so the encrypted protocol and any plaintext reference see the same inputs.
    """

    names: tuple[str, ...]
    scalars: NDArray[np.int64]
    values: NDArray[np.float64]


def load_features(
    party: str, frame: pd.DataFrame, names: Sequence[str], frac_bits: int, intercept: bool
) -> Features:
    """Quantize ``frame[names]`` (plus a column of ones for the intercept).

    Raises
    ------
    DataMismatch
        A column is missing, not numeric, or holds missing/infinite values (named, no values).
    """
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DataMismatch(party, f"columns {', '.join(missing)} are not in the dataset")
    columns = []
    for name in names:
        series = frame[name]
        if not pd.api.types.is_numeric_dtype(series):
            raise DataMismatch(party, f"column {name!r} is not numeric")
        values = series.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise DataMismatch(party, f"column {name!r} has missing or infinite values")
        columns.append(values)
    if intercept:
        columns.append(np.ones(len(frame)))
    raw = np.column_stack(columns) if columns else np.zeros((len(frame), 0))
    scalars = encode(raw, frac_bits)
    all_names = (*names, "(intercept)") if intercept else tuple(names)
    return Features(all_names, scalars, scalars.astype(np.float64) / 2.0**frac_bits)


def load_labels(party: str, frame: pd.DataFrame, label: str) -> NDArray[np.int8]:
    """The 0/1 label column.

    Raises
    ------
    DataMismatch
        The column is missing or holds anything but 0 and 1, or only one class.
    """
    if label not in frame.columns:
        raise DataMismatch(party, f"label column {label!r} is not in the dataset")
    values = frame[label].to_numpy()
    if not np.isin(values, (0, 1)).all():
        raise DataMismatch(party, f"label column {label!r} must hold only 0 and 1")
    y = values.astype(np.int8)
    if y.min() == y.max():
        raise DataMismatch(party, f"label column {label!r} holds a single class")
    return y


def stratified_split(y: NDArray[np.int8], fraction: float, seed: int) -> NDArray[np.bool_]:
    """Boolean validation mask: ``fraction`` of each class, chosen by ``seed``."""
    rng = np.random.default_rng([seed, 0x5EED])
    valid = np.zeros(len(y), dtype=bool)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        take = round(fraction * len(idx))
        valid[rng.permutation(idx)[:take]] = True
    return valid


def epoch_batches(
    train: NDArray[np.int64], seed: int, epoch: int, size: int
) -> list[NDArray[np.int64]]:
    """The row indices of each mini-batch of ``epoch`` (same at every party)."""
    order = np.random.default_rng([seed, epoch]).permutation(train)
    return [order[i : i + size] for i in range(0, len(order), size)]


def pair_masks(seed: bytes, epoch: int, count: int) -> NDArray[np.uint64]:
    """``count`` uniform ``uint64`` masks from a pairwise seed (SHAKE-256 as the PRG)."""
    stream = hashlib.shake_256(seed + epoch.to_bytes(8, "big")).digest(8 * count)
    return np.frombuffer(stream, dtype=np.uint64).copy()


def apply_gradient(
    weights: NDArray[np.float64],
    sums: Sequence[int],
    scale_bits: int,
    batch: int,
    learning_rate: float,
    l2: float,
    intercept: bool,
) -> NDArray[np.float64]:
    """One gradient step from the exact integer sums ``sum_i D_i X_ij``.

    ``D`` carries ``residual_frac_bits`` and ``X`` ``feature_frac_bits``: ``scale_bits`` is
    their sum. L2 does not apply to the intercept.
    """
    grad = np.array([s / 2.0**scale_bits for s in sums], dtype=np.float64) / batch
    penalty = l2 * weights
    if intercept:
        penalty[-1] = 0.0
    return weights - learning_rate * (grad + penalty)


@dataclass
class PartyState:
    """A data party's resumable state: current and best weights, plus role extras."""

    epoch: int
    weights: NDArray[np.float64]
    best_weights: NDArray[np.float64]
    best_epoch: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        body = {
            "epoch": self.epoch,
            "weights": self.weights.tolist(),
            "best_weights": self.best_weights.tolist(),
            "best_epoch": self.best_epoch,
            "extra": self.extra,
        }
        return bytes([CHECKPOINT_VERSION]) + json.dumps(body).encode()

    @classmethod
    def from_bytes(cls, party: str, blob: bytes, width: int) -> PartyState:
        """Parse a checkpoint written by ``to_bytes`` for a model of ``width`` weights.

        Raises
        ------
        DataMismatch
            Unknown version, unreadable, or a different number of weights.
        """
        if not blob or blob[0] != CHECKPOINT_VERSION:
            raise DataMismatch(party, "checkpoint has an unknown format version")
        try:
            body = json.loads(blob[1:])
            state = cls(
                int(body["epoch"]),
                np.array(body["weights"], dtype=np.float64),
                np.array(body["best_weights"], dtype=np.float64),
                int(body["best_epoch"]),
                dict(body["extra"]),
            )
        except (ValueError, KeyError, TypeError):
            raise DataMismatch(party, "checkpoint does not parse") from None
        if state.weights.shape != (width,) or state.best_weights.shape != (width,):
            raise DataMismatch(party, "checkpoint holds a model of another width")
        return state
