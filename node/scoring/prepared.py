"""A deployed part applied to a holder's whole table once, so each request is a row gather.

A holder answers for firms of its own table only, so everything a request needs is computed
for every row when the part is first used (or at start-up): a logistic part's contributions
summed per reason category, a tree part's split directions, and the coded flags. A request
then takes the rows of its firms: a few numpy operations for a chunk of thousands, with no
Python object per firm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.models import LogisticPart, ModelPart
from node.models.secureboost import TreePart
from node.scoring.answers import LOGISTIC, SECUREBOOST
from node.scoring.config import FlagRule
from node.scoring.engine import top_adverse


@dataclass(frozen=True)
class Prepared:
    """What a holder sends about its rows: kind, header extras, per-row columns, flags."""

    kind: str
    header: dict[str, Any]
    columns: dict[str, NDArray[Any]]  # one row per table row
    flags: NDArray[np.bool_]
    flag_codes: tuple[str, ...]

    def take(self, rows: NDArray[np.int64], allowed: NDArray[np.bool_]) -> dict[str, NDArray[Any]]:
        """The columns for firms at ``rows`` (rows not ``allowed`` are zero)."""
        out: dict[str, NDArray[Any]] = {}
        picked = rows[allowed]
        for name, column in {**self.columns, "flags": self.flags}.items():
            block = np.zeros((len(rows), *column.shape[1:]), column.dtype)
            block[allowed] = column[picked]
            out[name] = block
        if "reason_codes" in out:
            out["reason_codes"][~allowed] = -1
        return out


def prepare(
    part: ModelPart, frame: pd.DataFrame, categories: Sequence[str], rules: Sequence[FlagRule]
) -> Prepared:
    """Apply ``part`` to ``frame``; ``categories`` names each of the part's features' reason
    category, ``rules`` are the holder's flag rules (those over columns it has).

    Raises
    ------
    TypeError
        The part is of a kind this holder cannot answer with.
    """
    used = [r for r in rules if r.column in frame.columns]
    flags = np.zeros((len(frame), len(used)), np.bool_)
    for j, rule in enumerate(used):
        flags[:, j] = rule.holds(frame[rule.column].to_numpy(dtype=np.float64))
    codes = tuple(r.code for r in used)
    names = sorted(set(categories))
    if isinstance(part, LogisticPart):
        header, columns = _logistic(part, frame, categories, names)
        return Prepared(LOGISTIC, header, columns, flags, codes)
    if isinstance(part, TreePart):
        by_feature = dict(zip(part.info.features, categories, strict=True))
        records, directions = part.directions(frame)
        header = {
            "categories": names,
            "records": records,
            "record_categories": [names.index(by_feature[part.feature_of(r)]) for r in records],
        }
        packed = np.packbits(directions, axis=1)
        return Prepared(SECUREBOOST, header, {"directions": packed}, flags, codes)
    raise TypeError(f"a {part.info.kind} part cannot answer scoring requests")


def _logistic(
    part: LogisticPart, frame: pd.DataFrame, categories: Sequence[str], names: list[str]
) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """Partial log-odds and the top adverse reason categories of every row."""
    contributions = part.contributions(frame)
    grouping = np.zeros((len(categories), len(names)))
    for j, c in enumerate(categories):
        grouping[j, names.index(c)] = 1.0
    codes, values = top_adverse(contributions @ grouping)
    score = contributions.sum(axis=1) + part.intercept
    return {"categories": names}, {"score": score, "reason_codes": codes, "reason_values": values}
