"""Credit-model quality measures: AUC, KS, Gini, log-loss and Brier score.

AUC and KS also come in a count form, which lets a federation compute them without pooling
predictions: each party histograms its scores per class into shared bins and only the summed
counts are combined. Log-loss and Brier score judge the probabilities themselves (what pricing,
limits and IFRS 9 staging consume), so they are reported next to the ranking measures.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def validated(y: ArrayLike, score: ArrayLike) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    """Labels and scores as arrays, refusing unequal lengths, non-0/1 labels or non-finite scores.

    Raises
    ------
    ValueError
        As above.
    """
    labels = np.asarray(y).astype(np.int8).ravel()
    scores = np.asarray(score, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        raise ValueError(f"labels ({labels.size}) and scores ({scores.size}) differ in length")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinity")
    return labels, scores


def auc(y: ArrayLike, score: ArrayLike) -> float:
    """Area under the ROC curve (Mann–Whitney form, ties counted half).

    Raises
    ------
    ValueError
        Lengths differ, a label is not 0/1, a score is not finite, or one class is absent.
    """
    labels, scores = validated(y, score)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both classes present")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(scores.size, dtype=np.float64)
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def ks(y: ArrayLike, score: ArrayLike) -> float:
    """Kolmogorov–Smirnov statistic: the largest gap between the classes' score CDFs."""
    labels, scores = validated(y, score)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("KS needs both classes present")
    order = np.argsort(scores, kind="mergesort")
    s, lab = scores[order], labels[order]
    cum_pos = np.cumsum(lab) / n_pos
    cum_neg = np.cumsum(1 - lab) / n_neg
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    return float(np.max(np.abs(cum_pos - cum_neg)[last_of_tie]))


def auc_standard_error(auc_value: float, positives: int, negatives: int) -> float:
    """Standard error of an AUC estimate (Hanley & McNeil, *Radiology* 143, 1982).

    Used to tell a real change in validation AUC from sampling noise: on a validation split of
    2,000 firms with 7 % defaults it is about 0.02, larger than most epoch-to-epoch changes.
    """
    if positives < 1 or negatives < 1:
        raise ValueError("the standard error of AUC needs both classes present")
    a = auc_value
    q1 = a / (2 - a)
    q2 = 2 * a * a / (1 + a)
    variance = (a * (1 - a) + (positives - 1) * (q1 - a * a) + (negatives - 1) * (q2 - a * a)) / (
        positives * negatives
    )
    return float(np.sqrt(max(variance, 0.0)))


def gini(y: ArrayLike, score: ArrayLike) -> float:
    """Gini coefficient as used on scorecards: 2·AUC − 1."""
    return 2.0 * auc(y, score) - 1.0


def auc_from_counts(pos: ArrayLike, neg: ArrayLike) -> float:
    """AUC from per-bin counts of positives and negatives, bins ordered by increasing score.

    Pairs falling in the same bin count half, so the result approaches the exact AUC as bins
    get finer.
    """
    p = np.asarray(pos, dtype=np.float64)
    n = np.asarray(neg, dtype=np.float64)
    if p.shape != n.shape:
        raise ValueError("positive and negative count vectors differ in length")
    n_pos, n_neg = p.sum(), n.sum()
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both classes present")
    neg_below = np.cumsum(n) - n
    return float(((p * neg_below).sum() + 0.5 * (p * n).sum()) / (n_pos * n_neg))


def ks_from_counts(pos: ArrayLike, neg: ArrayLike) -> float:
    """KS statistic from per-bin class counts, bins ordered by increasing score."""
    p = np.asarray(pos, dtype=np.float64)
    n = np.asarray(neg, dtype=np.float64)
    if p.sum() == 0 or n.sum() == 0:
        raise ValueError("KS needs both classes present")
    return float(np.max(np.abs(np.cumsum(p) / p.sum() - np.cumsum(n) / n.sum())))


PROBABILITY_FLOOR = 1e-12
"""Probabilities are clipped to ``[floor, 1 - floor]`` before logs: a single 0 or 1 would
otherwise make the log-loss infinite."""


def _probabilities(y: ArrayLike, p: ArrayLike) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    labels, probs = validated(y, p)
    if ((probs < 0) | (probs > 1)).any():
        raise ValueError("probabilities must lie in [0, 1]")
    return labels, np.clip(probs, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)


def log_loss(y: ArrayLike, p: ArrayLike) -> float:
    """Mean negative log-likelihood of 0/1 labels under probabilities ``p``.

    Raises
    ------
    ValueError
        Lengths differ, a label is not 0/1, or a probability is outside ``[0, 1]``.
    """
    labels, probs = _probabilities(y, p)
    return float(-np.mean(labels * np.log(probs) + (1 - labels) * np.log(1 - probs)))


def brier(y: ArrayLike, p: ArrayLike) -> float:
    """Mean squared difference between probabilities and 0/1 outcomes."""
    labels, probs = _probabilities(y, p)
    return float(np.mean((probs - labels) ** 2))


def base_rate_log_loss(y: ArrayLike, rate: float) -> float:
    """Log-loss of always predicting ``rate``: the bar any useful PD must clear."""
    labels = np.asarray(y).astype(np.int8).ravel()
    return log_loss(labels, np.full(labels.size, float(rate)))
