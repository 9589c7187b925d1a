"""What each data party computes on its own rows: fixed-point features, labels, split, schedule.

Everything here is local and deterministic: the row split and the per-epoch batch order are
derived from the job's seed (so a resumed run replays exactly the same schedule without
persisting any RNG state).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.crypto.paillier import encode
from node.training.vertical.exceptions import DataMismatch

MAX_ABS_FEATURE: Final = 128.0
"""Prepared feature values must stay below this in magnitude: the packed gradient slots are
sized for ``|x| < 2**7`` (``docs/protocols/vertical-lr.md``). The default ``robust``
preparation bounds them at 8; ``preprocess: none`` leaves this check as the guard."""


@dataclass(frozen=True)
class Features:
    """A party's training columns as fixed-point integers and the floats they stand for.

    ``scalars`` are ``round(x * 2**frac_bits)``; ``values`` are exactly ``scalars /
    2**frac_bits``, so the encrypted protocol and any plaintext reference see the same inputs.
    """

    names: tuple[str, ...]
    scalars: NDArray[np.int64]
    values: NDArray[np.float64]

    @property
    def width(self) -> int:
        return len(self.names)


def quantize(
    party: str, names: Sequence[str], matrix: NDArray[np.float64], frac_bits: int, intercept: bool
) -> Features:
    """Fixed-point columns of a prepared ``matrix`` (plus a column of ones for the intercept).

    Raises
    ------
    DataMismatch
        A value is missing, infinite or beyond ``MAX_ABS_FEATURE`` (the column is named).
    """
    columns = [matrix[:, j] for j in range(matrix.shape[1])]
    for name, values in zip(names, columns, strict=True):
        if not np.isfinite(values).all():
            raise DataMismatch(party, f"column {name!r} has missing or infinite values")
        if np.abs(values).max(initial=0.0) >= MAX_ABS_FEATURE:
            raise DataMismatch(
                party,
                f"column {name!r} has prepared values beyond ±{MAX_ABS_FEATURE:g}; "
                "use preprocess: robust",
            )
    if intercept:
        columns.append(np.ones(matrix.shape[0]))
    raw = np.column_stack(columns) if columns else np.zeros((matrix.shape[0], 0))
    scalars = encode(raw, frac_bits)
    all_names = (*names, "(intercept)") if intercept else tuple(names)
    return Features(all_names, scalars, scalars.astype(np.float64) / 2.0**frac_bits)


def check_columns(party: str, frame: pd.DataFrame, names: Sequence[str]) -> None:
    """Refuse a dataset that lacks a column of the job or holds a non-numeric one.

    Raises
    ------
    DataMismatch
        A column is missing or not numeric (named, no values).
    """
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DataMismatch(party, f"columns {', '.join(missing)} are not in the dataset")
    for name in names:
        if not pd.api.types.is_numeric_dtype(frame[name]):
            raise DataMismatch(party, f"column {name!r} is not numeric")


def load_labels(party: str, frame: pd.DataFrame, label: str) -> NDArray[np.int8]:
    """The 0/1 label column.

    Raises
    ------
    DataMismatch
        The column is missing or holds anything but 0 and 1, or only one class.
    """
    if label not in frame.columns:
        raise DataMismatch(party, f"label column {label!r} is not in the dataset")
    values = np.asarray(frame[label].to_numpy())
    if not np.isin(values, (0, 1)).all():
        raise DataMismatch(party, f"label column {label!r} must hold only 0 and 1")
    y: NDArray[np.int8] = values.astype(np.int8)
    if y.min() == y.max():
        raise DataMismatch(party, f"label column {label!r} holds a single class")
    return y


class Role(IntEnum):
    """Which split a row belongs to."""

    TRAIN = 0
    VALID = 1
    TEST = 2


@dataclass(frozen=True)
class Split:
    """Each row's role: training, early-stopping validation, or held-out test."""

    roles: NDArray[np.int8]

    @property
    def train(self) -> NDArray[np.bool_]:
        return np.asarray(self.roles == Role.TRAIN)

    @property
    def valid(self) -> NDArray[np.bool_]:
        return np.asarray(self.roles == Role.VALID)

    @property
    def test(self) -> NDArray[np.bool_]:
        return np.asarray(self.roles == Role.TEST)

    def to_bits(self) -> NDArray[np.bool_]:
        """Validation bits followed by test bits (what the label holder sends)."""
        return np.concatenate([self.valid, self.test])

    @classmethod
    def from_bits(cls, bits: NDArray[np.bool_]) -> Split:
        """Inverse of :meth:`to_bits`.

        Raises
        ------
        ValueError
            The length is odd or a row is marked both validation and test.
        """
        if bits.size % 2:
            raise ValueError("split bits must have even length")
        valid, test = bits[: bits.size // 2], bits[bits.size // 2 :]
        if (valid & test).any():
            raise ValueError("a row is marked both validation and test")
        roles = np.where(valid, Role.VALID, np.where(test, Role.TEST, Role.TRAIN))
        return cls(roles.astype(np.int8))


def stratified_split(y: NDArray[np.int8], validation: float, test: float, seed: int) -> Split:
    """Per class, ``validation`` and ``test`` shares of the rows, chosen by ``seed``."""
    rng = np.random.default_rng([seed, 0x5EED])
    roles = np.full(len(y), Role.TRAIN, dtype=np.int8)
    for cls in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == cls))
        n_valid = round(validation * len(idx))
        n_test = round(test * len(idx))
        roles[idx[:n_valid]] = Role.VALID
        roles[idx[n_valid : n_valid + n_test]] = Role.TEST
    return Split(roles)


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
