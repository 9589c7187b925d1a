"""Federated evaluation from per-bank class histograms of scores (no pooled predictions).

Each bank bins its predicted default probabilities by their logit into ``bins`` equal-width
bins on ``[-LOGIT_RANGE, LOGIT_RANGE]`` (shared by construction, so no bank reveals where its
scores lie; beyond the range a score counts in the end bin), separately for defaulters and
non-defaulters. The banks' histograms are summed under encryption; AUC and KS of the
federation follow exactly from the summed counts up to within-bin ties. Logit bins, unlike
probability bins, are as fine for a 2 % PD as for a 50 % one (400 bins are 0.06 wide), so the
summed histograms also support PD calibration and a calibrated log-loss, Brier score and
calibration table without any further exchange (``histogram_report``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from node.training.calibration import PlattScaling, fit_platt
from node.training.metrics import auc_from_counts, auc_standard_error, ks_from_counts

SPLITS = ("val", "test")
"""Every round sums both: validation chooses the kept round, test is reported for it alone."""
LOGIT_RANGE = 12.0
"""Logits of +-12 are PDs of 6e-6 and 1 - 6e-6: no credit score is meaningfully beyond."""


def bin_centers(bins: int) -> NDArray[np.float64]:
    """The logit at the centre of each of ``bins`` histogram bins."""
    width = 2 * LOGIT_RANGE / bins
    return -LOGIT_RANGE + width * (np.arange(bins, dtype=np.float64) + 0.5)


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
    p = np.clip(s, 1e-12, 1 - 1e-12)
    logit = np.log(p) - np.log1p(-p)
    position = (logit + LOGIT_RANGE) / (2 * LOGIT_RANGE) * bins
    idx = np.clip(np.floor(position), 0, bins - 1).astype(np.int64)
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
        auc = auc_from_counts(p, q)
        out[f"{prefix}_auc"] = auc
        out[f"{prefix}_auc_se"] = auc_standard_error(auc, int(p.sum()), int(q.sum()))
        out[f"{prefix}_ks"] = ks_from_counts(p, q)
    return out


def histogram_calibration(pos: ArrayLike, neg: ArrayLike) -> PlattScaling:
    """Platt scaling fitted to summed validation histograms (each bin at its centre logit).

    Raises
    ------
    ValueError
        A class is absent.
    """
    p = np.asarray(pos, dtype=np.float64)
    q = np.asarray(neg, dtype=np.float64)
    z = bin_centers(p.size)
    return fit_platt(
        np.concatenate([z, z]),
        np.concatenate([np.ones(p.size), np.zeros(q.size)]),
        weights=np.concatenate([p, q]),
    )


def histogram_report(
    pos: ArrayLike, neg: ArrayLike, calibration: PlattScaling, bands: int = 10
) -> dict[str, Any]:
    """Calibrated log-loss, Brier score and calibration table from summed histograms.

    Each firm's PD is its bin's centre logit through ``calibration`` (bins 0.06 logits wide at
    the defaults, a PD error below 1.5 %). The comparison is with the best constant PD for
    these firms, their own default rate. The table splits the firms into ``bands`` groups of
    about equal size by PD.
    """
    p = np.asarray(pos, dtype=np.float64)
    q = np.asarray(neg, dtype=np.float64)
    n = p.sum() + q.sum()
    pd_bin = np.clip(calibration.probabilities(bin_centers(p.size)), 1e-12, 1 - 1e-12)
    rate = p.sum() / n
    cumulative = np.cumsum(p + q) / n
    band_of_bin = np.minimum((cumulative - (p + q) / (2 * n)) * bands, bands - 1).astype(int)
    table = []
    for b in np.unique(band_of_bin[(p + q) > 0]):
        inside = (band_of_bin == b) & ((p + q) > 0)
        firms = float((p + q)[inside].sum())
        table.append(
            {
                "pd_low": float(pd_bin[inside].min()),
                "pd_high": float(pd_bin[inside].max()),
                "firms": firms,
                "predicted": float(((p + q) * pd_bin)[inside].sum() / firms),
                "observed": float(p[inside].sum() / firms),
            }
        )
    return {
        "log_loss": float(-(p * np.log(pd_bin) + q * np.log(1 - pd_bin)).sum() / n),
        "log_loss_base_rate": float(-(rate * np.log(rate) + (1 - rate) * np.log(1 - rate))),
        "brier": float((p * (1 - pd_bin) ** 2 + q * pd_bin**2).sum() / n),
        "brier_base_rate": float(rate * (1 - rate)),
        "calibration": table,
    }
