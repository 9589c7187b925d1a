"""Tests for federated evaluation from per-bank score histograms."""

from __future__ import annotations

import numpy as np
import pytest

from node.training.horizontal.evaluation import federated_metrics, score_histograms
from node.training.metrics import auc, ks


def test_summed_histograms_give_the_pooled_auc_and_ks() -> None:
    # prepare: three banks' scores, pooled only for the reference
    rng = np.random.default_rng(3)
    banks = []
    for _ in range(3):
        y = rng.integers(0, 2, 2000)
        s = 1 / (1 + np.exp(-(rng.normal(0, 1, 2000) + 1.2 * y - 1)))
        banks.append((s, y))
    # execute
    hists = [score_histograms(s, y, 1000) for s, y in banks]
    pos = sum(h[0] for h in hists)
    neg = sum(h[1] for h in hists)
    metrics = federated_metrics(pos, neg, loss_sum=30.0, n=6000)
    # assert
    pooled_s = np.concatenate([s for s, _ in banks])
    pooled_y = np.concatenate([y for _, y in banks])
    assert metrics["val_auc"] == pytest.approx(auc(pooled_y, pooled_s), abs=1e-3)
    assert metrics["val_ks"] == pytest.approx(ks(pooled_y, pooled_s), abs=5e-3)
    assert metrics["val_loss"] == pytest.approx(0.005)


def test_metrics_without_histograms_report_loss_only() -> None:
    metrics = federated_metrics(np.zeros(0), np.zeros(0), loss_sum=5.0, n=10, prefix="test")
    assert metrics == {"test_loss": 0.5, "test_n": 10.0}


def test_histograms_refuse_scores_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match="probabilities"):
        score_histograms([1.5], [1], 10)


def test_histograms_refuse_bad_labels_lengths_and_bins() -> None:
    with pytest.raises(ValueError, match="0 or 1"):
        score_histograms([0.5], [2], 10)
    with pytest.raises(ValueError, match="differ"):
        score_histograms([0.5, 0.2], [1], 10)
    with pytest.raises(ValueError, match="bins"):
        score_histograms([0.5], [1], 0)
