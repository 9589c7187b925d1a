"""Harder variants of a real data set: heavy tails, extreme outliers, imbalance, other units.

The real credit data a federation meets is rarely as tidy as the bundled default_credit splits
(already standardised, 22 % defaults). These transforms make it look like what a team brings
without tuning anything for it: ratio-like columns with a lognormal tail, a few values
thousands of times the median, about 7 % defaults, and one holder that publishes its amounts in
other units (a factor of ``10**4``). They only rewrite values; rows stay aligned across holders
(the same rows are dropped everywhere), so a vertical or horizontal job runs on the result as
it is. Seeded: the same settings give the same files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray


@dataclass(frozen=True)
class StressSettings:
    """What the hard variant changes (defaults: the issue's description of real data)."""

    positive_rate: float = 0.07
    heavy_every: int = 2
    """Every ``heavy_every``-th feature column becomes heavy-tailed (``exp(1.5 z)``)."""
    outlier_rate: float = 0.002
    outlier_factor: tuple[float, float] = (1e3, 1e4)
    rescale: float = 1e4
    seed: int = 0


def keep_positive_rate(y: NDArray[np.integer], rate: float, seed: int) -> NDArray[np.bool_]:
    """Rows to keep so that about ``rate`` of them are positives (drops positives only).

    Raises
    ------
    ValueError
        ``rate`` is not in (0, 1) or already above the data's own rate is requested.
    """
    if not 0 < rate < 1:
        raise ValueError(f"positive rate must be in (0, 1), got {rate}")
    positives = np.flatnonzero(y == 1)
    negatives = int((y == 0).sum())
    wanted = round(rate * negatives / (1 - rate))
    if wanted > positives.size:
        raise ValueError(f"the data has fewer positives than a rate of {rate} needs")
    keep = y == 0
    chosen = np.random.default_rng([seed, 1]).choice(positives, wanted, replace=False)
    keep[chosen] = True
    return np.asarray(keep, dtype=bool)


def heavy_tails(
    frame: pd.DataFrame, columns: Sequence[str], settings: StressSettings, salt: int
) -> pd.DataFrame:
    """Make every ``heavy_every``-th column lognormal-tailed, then inject extreme outliers."""
    out = frame.copy()
    rng = np.random.default_rng([settings.seed, 2, salt])
    for j, name in enumerate(columns):
        if j % settings.heavy_every:
            continue
        values = out[name].to_numpy(dtype=np.float64)
        z = (values - values.mean()) / (values.std() or 1.0)
        tailed = np.exp(1.5 * z)
        hit = rng.random(tailed.size) < settings.outlier_rate
        tailed[hit] *= rng.uniform(*settings.outlier_factor, int(hit.sum()))
        out[name] = tailed
    return out


def stress_vertical(
    frames: Mapping[str, pd.DataFrame],
    features: Mapping[str, Sequence[str]],
    label_party: str,
    label: str,
    rescale_party: str,
    settings: StressSettings | None = None,
) -> dict[str, pd.DataFrame]:
    """The hard variant of aligned vertical frames (same rows, same order at every party).

    ``features`` names each party's feature columns; ``rescale_party``'s are multiplied by
    ``settings.rescale`` after the tails are made heavy.
    """
    settings = settings or StressSettings()
    keep = keep_positive_rate(
        frames[label_party][label].to_numpy(), settings.positive_rate, settings.seed
    )
    out = {}
    for salt, (party, frame) in enumerate(sorted(frames.items())):
        kept = frame.loc[keep].reset_index(drop=True)
        kept = heavy_tails(kept, features[party], settings, salt)
        if party == rescale_party:
            kept[list(features[party])] = kept[list(features[party])] * settings.rescale
        out[party] = kept
    return out


def stress_horizontal(
    banks: Mapping[str, pd.DataFrame],
    test: pd.DataFrame,
    features: Sequence[str],
    label: str,
    rescale_bank: str,
    settings: StressSettings | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The hard variant of horizontal bank frames and their held-out test frame.

    Every bank (and the test set) gets the same kind of tails, outliers and default rate;
    ``rescale_bank`` reports its columns in other units (times ``settings.rescale``).
    """
    settings = settings or StressSettings()
    out = {}
    for salt, (bank, frame) in enumerate(sorted(banks.items())):
        keep = keep_positive_rate(
            frame[label].to_numpy(), settings.positive_rate, settings.seed + salt
        )
        kept = heavy_tails(frame.loc[keep].reset_index(drop=True), features, settings, salt)
        if bank == rescale_bank:
            kept[list(features)] = kept[list(features)] * settings.rescale
        out[bank] = kept
    keep = keep_positive_rate(test[label].to_numpy(), settings.positive_rate, settings.seed + 99)
    held_out = heavy_tails(test.loc[keep].reset_index(drop=True), features, settings, 99)
    return out, held_out
