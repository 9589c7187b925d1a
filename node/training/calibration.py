"""Calibrated probabilities of default: Platt scaling on the validation split, and the report.

A logistic model trained with early stopping, a linearised federated loss or class imbalance
ranks firms well but its raw probabilities can be off by a constant or a scale (the issue that
opened this work saw a validation log-loss of 0.59 against 0.24 for the base rate). PDs feed
pricing, limits and IFRS 9 staging, so the label holder fits a two-parameter map
``p = sigmoid(slope * logit + shift)`` (Platt, *Probabilistic outputs for support vector
machines*, 1999) on the **validation** split — never on test rows — with Platt's smoothed
targets ``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)``, which keep the fit finite on small or
separable samples. It is monotone, so AUC and KS are unchanged; only the probabilities move.
The report on held-out rows gives log-loss, Brier score and a calibration table (predicted
against observed default rate per band of predicted PD).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from node.training import metrics

NEWTON_STEPS = 50


def sigmoid(z: ArrayLike) -> NDArray[np.float64]:
    """The logistic function, computed without overflow for large ``|z|``."""
    x = np.asarray(z, dtype=np.float64)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


@dataclass(frozen=True)
class PlattScaling:
    """``p = sigmoid(slope * logit + shift)``; identity is ``PlattScaling(1.0, 0.0)``."""

    slope: float = 1.0
    shift: float = 0.0

    def logits(self, z: ArrayLike) -> NDArray[np.float64]:
        """Calibrated logits."""
        return self.slope * np.asarray(z, dtype=np.float64) + self.shift

    def probabilities(self, z: ArrayLike) -> NDArray[np.float64]:
        """Calibrated probabilities of default for raw model logits ``z``."""
        return sigmoid(self.logits(z))

    def to_dict(self) -> dict[str, Any]:
        return {"method": "platt", "slope": self.slope, "shift": self.shift}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PlattScaling:
        if raw.get("method") != "platt":
            raise ValueError("calibration method must be 'platt'")
        return cls(float(raw["slope"]), float(raw["shift"]))


def fit_platt(z: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None) -> PlattScaling:
    """Fit Platt scaling to logits ``z`` and 0/1 labels ``y`` by Newton's method.

    ``weights`` counts each row that many times (summed histograms: one row per bin and class).

    Raises
    ------
    ValueError
        Lengths differ, a label is not 0/1, a logit is not finite, or a class is absent.
    """
    labels = np.asarray(y).astype(np.int8).ravel()
    scores = np.asarray(z, dtype=np.float64).ravel()
    w = np.ones(labels.size) if weights is None else np.asarray(weights, dtype=np.float64)
    metrics.validated(labels, scores)  # lengths, labels, finiteness
    n_pos = float(w[labels == 1].sum())
    n_neg = float(w[labels == 0].sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("Platt scaling needs both classes present")
    target = np.where(labels == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    design = np.column_stack([scores, np.ones_like(scores)])

    def loss(params: NDArray[np.float64]) -> float:
        z = design @ params  # -log-likelihood, written stably: log(1 + e^z) - t z
        return float(np.sum(w * (np.logaddexp(0.0, z) - target * z)))

    params = np.array([1.0, 0.0])
    current = loss(params)
    for _ in range(NEWTON_STEPS):
        p = sigmoid(design @ params)
        grad = design.T @ (w * (p - target))
        hess = (design * (w * p * (1 - p))[:, None]).T @ design + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while loss(params - scale * step) > current and scale > 1e-6:
            scale /= 2  # damped Newton: never accept a step that raises the loss
        params = params - scale * step
        previous, current = current, loss(params)
        if previous - current < 1e-12 * max(1.0, abs(current)):
            break
    return PlattScaling(float(params[0]), float(params[1]))


def calibration_table(y: ArrayLike, p: ArrayLike, bands: int = 10) -> list[dict[str, float]]:
    """Predicted against observed default rate per band of predicted PD (quantile bands).

    Each row holds ``pd_low``/``pd_high`` (the band's range of predicted PD), ``firms``,
    ``predicted`` (mean PD) and ``observed`` (default rate). Ties may merge bands.
    """
    labels = np.asarray(y, dtype=np.float64).ravel()
    probs = np.asarray(p, dtype=np.float64).ravel()
    if labels.size != probs.size or labels.size == 0:
        raise ValueError("labels and probabilities must be non-empty and of equal length")
    edges = np.unique(np.quantile(probs, np.linspace(0, 1, bands + 1)))
    band = np.clip(np.searchsorted(edges, probs, side="right") - 1, 0, max(len(edges) - 2, 0))
    rows = []
    for b in np.unique(band):
        inside = band == b
        rows.append(
            {
                "pd_low": float(probs[inside].min()),
                "pd_high": float(probs[inside].max()),
                "firms": float(inside.sum()),
                "predicted": float(probs[inside].mean()),
                "observed": float(labels[inside].mean()),
            }
        )
    return rows


def probability_report(y: ArrayLike, p: ArrayLike) -> dict[str, Any]:
    """Log-loss, Brier score and calibration table of PDs ``p``, beside the base rate's.

    The base rate is these firms' own default rate: the best any constant PD could do for
    them, so a model that beats it adds information (a stricter bar than the training rate).
    """
    labels = np.asarray(y).astype(np.int8).ravel()
    base_rate = float(labels.mean())
    return {
        "log_loss": metrics.log_loss(labels, p),
        "log_loss_base_rate": metrics.base_rate_log_loss(labels, base_rate),
        "brier": metrics.brier(labels, p),
        "brier_base_rate": metrics.brier(labels, np.full(labels.size, base_rate)),
        "calibration": calibration_table(labels, p),
    }
