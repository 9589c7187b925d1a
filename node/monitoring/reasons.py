"""Coded reasons: which of a party's figures push a borrower's risk up, without a value.

Every signal is credited to the figure it comes from, coded with the party's prefix
(``tax_paid__chg3m`` at the government -> ``GOV-TAX-PAID``); a borrower's reasons are the
codes with the largest positive credit. The credits are a logistic part's per-signal
contributions or, for trees, the steps of the borrower's path through the splits on each
figure (``node.monitoring.trees``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from node.monitoring.signals import source_figure

MAX_REASONS: Final = 2  # per holder and borrower; the bank names its own one


def reason_code(prefix: str, feature: str) -> str:
    """The coded reason of a signal: the holder's prefix and the figure (``GOV-TAX-PAID``)."""
    return f"{prefix}-{source_figure(feature).upper().replace('_', '-')}"


def by_code(
    prefix: str, features: Sequence[str], credits: NDArray[np.float64]
) -> tuple[list[str], NDArray[np.float64]]:
    """(the codes of ``features``, sorted; ``credits`` (rows x features) summed per code)."""
    codes = [reason_code(prefix, f) for f in features]
    names = sorted(set(codes))
    grouping = np.zeros((len(codes), len(names)))
    for j, code in enumerate(codes):
        grouping[j, names.index(code)] = 1.0
    return names, np.asarray(credits, dtype=np.float64) @ grouping


def top_reasons(names: Sequence[str], credits: NDArray[np.float64], limit: int) -> list[list[str]]:
    """Per row, up to ``limit`` of ``names`` with the largest positive credit, largest first."""
    if not len(names):
        return [[] for _ in range(len(credits))]
    top = np.argsort(-credits, axis=1, kind="stable")[:, :limit]
    values = np.take_along_axis(credits, top, axis=1)
    return [
        [names[j] for j, v in zip(t.tolist(), vals.tolist(), strict=True) if v > 0]
        for t, vals in zip(top, values, strict=True)
    ]
