"""ROC, KS and lift curves of a credit score, coarse enough to leave the label holder.

A job's summary goes to the coordinator (and the console shows it), so the curves are drawn
from **bands** of the score, never from single firms: the rows are cut at score quantiles into
at most ``MAX_BANDS`` bands of at least ``MIN_BAND`` firms each, and only per-band counts of
defaults and non-defaults are used. Higher scores mean higher risk (a logit of default).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike

MAX_BANDS: Final = 50
MIN_BAND: Final = 20
"""No band holds fewer firms, so a point on a curve never describes a handful of firms."""


def _band_counts(y: ArrayLike, score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Defaults and non-defaults per score band, riskiest band first."""
    labels = np.asarray(y, dtype=np.int64).ravel()
    scores = np.asarray(score, dtype=np.float64).ravel()
    bands = min(MAX_BANDS, labels.size // MIN_BAND)
    order = np.argsort(-scores, kind="mergesort")
    groups = np.array_split(labels[order], bands)
    bad = np.array([g.sum() for g in groups], dtype=np.float64)
    good = np.array([g.size for g in groups], dtype=np.float64) - bad
    return bad, good


def model_curves(y: ArrayLike, score: ArrayLike) -> dict[str, Any]:
    """ROC points, KS curves and lift per decile, from banded counts (see the module note).

    Returns an empty mapping when there are too few firms or one class is absent.
    ``roc``: ``[false positive rate, true positive rate]`` from the riskiest band down;
    ``ks``: ``[share of firms, share of defaults, share of non-defaults]`` cumulative;
    ``lift``: ``[decile, default rate in it / overall default rate]``, riskiest decile first.
    """
    labels = np.asarray(y).ravel()
    if labels.size < 2 * MIN_BAND or labels.min() == labels.max():
        return {}
    bad, good = _band_counts(y, score)
    cum_bad = np.r_[0.0, np.cumsum(bad)] / bad.sum()
    cum_good = np.r_[0.0, np.cumsum(good)] / good.sum()
    share = np.r_[0.0, np.cumsum(bad + good)] / (bad.sum() + good.sum())
    rate = bad.sum() / (bad.sum() + good.sum())
    deciles = np.array_split(np.arange(bad.size), 10) if bad.size >= 10 else []
    lift = [
        [i + 1, float(bad[d].sum() / (bad[d].sum() + good[d].sum()) / rate)]
        for i, d in enumerate(deciles)
    ]
    return {
        "bands": int(bad.size),
        "roc": [
            [round(float(f), 4), round(float(t), 4)] for f, t in zip(cum_good, cum_bad, strict=True)
        ],
        "ks": [
            [round(float(s), 4), round(float(b), 4), round(float(g), 4)]
            for s, b, g in zip(share, cum_bad, cum_good, strict=True)
        ],
        "lift": [[d, round(v, 3)] for d, v in lift],
    }
