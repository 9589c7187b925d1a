"""Federated evaluation from per-bank class histograms of scores (no pooled predictions).

Each bank bins its predicted default probabilities into ``bins`` equal-width bins on
``[0, 1]`` (shared by construction, so no bank reveals where its scores lie), separately for
defaulters and non-defaulters. The banks' histograms are summed under encryption; AUC and KS
of the federation follow exactly from the summed counts up to within-bin ties.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from node.training.metrics import auc_from_counts, ks_from_counts


def score_histograms(
    scores: ArrayLike, labels: ArrayLike, bins: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Counts of positives and negatives per score bin, bins ordered by increasing score.

    Raises
    ------
    ValueError
        ``bins`` is not positive, lengths differ, a label is not 0/1 or a score is outside
        ``[0, 1]`` or not finite.
    """
    if bins < 1:
        raise ValueError(f"bins must be positive, got {bins}")
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if s.shape != y.shape:
        raise ValueError(f"scores ({s.size}) and labels ({y.size}) differ in length")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    if not (np.isfinite(s).all() and (s >= 0).all() and (s <= 1).all()):
        raise ValueError("scores must be probabilities in [0, 1]")
    idx = np.minimum((s * bins).astype(np.int64), bins - 1)
    pos = np.bincount(idx[y == 1], minlength=bins).astype(np.int64)
    neg = np.bincount(idx[y == 0], minlength=bins).astype(np.int64)
    return pos, neg


def federated_metrics(
    pos: ArrayLike, neg: ArrayLike, loss_sum: float, n: int, prefix: str = "val"
) -> dict[str, float]:
    """Loss, AUC and KS of the federation from summed counts.

    AUC and KS are left out when no histogram was contributed or a class is absent, so a
    missing figure is visible rather than reported as a misleading number.
    """
    out: dict[str, float] = {}
    if n > 0:
        out[f"{prefix}_loss"] = float(loss_sum) / n
    out[f"{prefix}_n"] = float(n)
    p = np.asarray(pos, dtype=np.float64)
    q = np.asarray(neg, dtype=np.float64)
    if p.size and p.sum() > 0 and q.sum() > 0:
        out[f"{prefix}_auc"] = auc_from_counts(p, q)
        out[f"{prefix}_ks"] = ks_from_counts(p, q)
    return out
