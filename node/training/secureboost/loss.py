"""Logistic loss for binary default prediction: gradients, hessians and their fixed point.

The label holder alone evaluates these; what leaves it is only their encryption. Both are
rounded to ``frac_bits`` fractional bits once, and every later sum (encrypted, plaintext twin,
or the label holder's own histograms) adds those same integers, so every party of the protocol
and the twin see bit-identical totals and choose identical splits.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

HESSIAN_FLOOR = 1e-16
"""``p (1 - p)`` underflows to 0 for confident rows; a floor keeps leaf weights finite."""


def sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-z))


def base_margin(y: NDArray[np.int8]) -> float:
    """The log-odds of the training default rate: the margin every row starts from."""
    rate = float(np.clip(np.mean(y), 1e-6, 1 - 1e-6))
    return float(np.log(rate / (1.0 - rate)))


def gradients(
    margin: NDArray[np.float64], y: NDArray[np.int8]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """First and second derivative of the logistic loss at ``margin``: ``p - y``, ``p (1-p)``."""
    p = sigmoid(margin)
    return p - y, np.maximum(p * (1.0 - p), HESSIAN_FLOOR)


def quantize(
    g: NDArray[np.float64], h: NDArray[np.float64], frac_bits: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``round(g 2^f)`` in ``[-2^f, 2^f]`` and ``round(h 2^f)`` in ``[0, 2^(f-2)]``.

    The bounds hold because ``|g| <= 1`` and ``0 <= h <= 1/4`` for the logistic loss; the clip
    only guards the bit budget of ``layout.py`` against rounding at the ends.
    """
    scale = float(1 << frac_bits)
    gq = np.clip(np.rint(g * scale), -(1 << frac_bits), 1 << frac_bits).astype(np.int64)
    hq = np.clip(np.rint(h * scale), 0, 1 << (frac_bits - 2)).astype(np.int64)
    return gq, hq


def log_loss(y: NDArray[np.int8], margin: NDArray[np.float64]) -> float:
    """Mean logistic loss of margins (log-odds)."""
    p = np.clip(sigmoid(margin), 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
