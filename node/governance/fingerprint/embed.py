"""Fingerprint a whole extract: every column with a tolerance becomes a carrier.

The policy rule of a field states the error its released values may carry (``tolerance``);
fields without one leave exactly as the policy transformed them. What the node keeps to read
the mark back is the ``FingerprintSpec`` (carrier columns and their grid steps) beside the
release id: the key is re-derived from the node secret and the release id, never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from node.governance.fingerprint.scheme import (
    SCHEME,
    Step,
    choose_step,
    column_key,
    embed_column,
)


@dataclass(frozen=True)
class FingerprintSpec:
    """How a release was marked: scheme, carrier columns with their steps, marked cells.

    ``skipped`` names fields that had a tolerance but could not carry a mark, with the reason
    (text values, an integer column with a tolerance below one, no values).
    """

    scheme: str = SCHEME
    steps: Mapping[str, Step] = field(default_factory=dict)
    cells: int = 0
    skipped: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain form for the release registry and the release record."""
        return {
            "scheme": self.scheme,
            "steps": {name: step.to_list() for name, step in self.steps.items()},
            "cells": self.cells,
            "skipped": dict(self.skipped),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FingerprintSpec:
        """Inverse of ``to_dict``.

        Raises
        ------
        ValueError
            An unknown scheme or a malformed step.
        """
        scheme = str(raw.get("scheme", ""))
        if scheme != SCHEME:
            raise ValueError(f"unknown fingerprint scheme {scheme!r}; this code reads {SCHEME}")
        steps = {str(k): Step.from_list(list(v)) for k, v in dict(raw.get("steps", {})).items()}
        skipped = {str(k): str(v) for k, v in dict(raw.get("skipped", {})).items()}
        return cls(scheme, steps, int(raw.get("cells", 0)), skipped)


def _numeric(column: pd.Series) -> np.ndarray | None:
    """The column as float64 (NaN for nulls), or ``None`` when it holds anything else."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return None
    converted = column
    if not pd.api.types.is_numeric_dtype(column.dtype):
        converted = pd.to_numeric(column, errors="coerce")
        if bool((converted.isna() & column.notna()).any()):
            return None
    values: np.ndarray = converted.to_numpy(dtype="float64", na_value=np.nan)
    return values


def embed_frame(
    frame: pd.DataFrame, tolerances: Mapping[str, float], release_key: bytes
) -> tuple[pd.DataFrame, FingerprintSpec]:
    """Mark every column of ``frame`` that has a tolerance; return the new frame and the spec.

    Integer columns stay integer (their step is then a whole number); a column the mark cannot
    suit is left unchanged and named in ``FingerprintSpec.skipped``.
    """
    out = frame.copy()
    steps: dict[str, Step] = {}
    skipped: dict[str, str] = {}
    cells = 0
    for name, tolerance in tolerances.items():
        if name not in frame.columns:
            continue
        column = frame[name]
        x = _numeric(column)
        if x is None:
            skipped[name] = "values are not numbers"
            continue
        if not np.isfinite(x).any():
            skipped[name] = "no values"
            continue
        step = choose_step(x, tolerance)
        integral = pd.api.types.is_integer_dtype(column.dtype)
        if integral and step.div != 1:
            skipped[name] = "integer values need a tolerance of at least 1"
            continue
        marked, carried = embed_column(x, step, column_key(release_key, name))
        result = pd.Series(marked, index=column.index, name=name)
        if integral:
            result = result.round().astype(column.dtype)
        elif pd.api.types.is_numeric_dtype(column.dtype):
            result = result.astype(column.dtype)
        out[name] = result
        steps[name] = step
        cells += carried
    return out, FingerprintSpec(SCHEME, steps, cells, skipped)
