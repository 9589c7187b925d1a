"""The bank alone predicts default clearly worse than all holders together."""

from __future__ import annotations

import pytest

from node.data.synthetic import SyntheticConfig, build_federation
from scripts.synthetic_auc import separability


def test_all_holders_beat_the_bank_alone() -> None:
    # prepare: a small federation (fast), the default seed
    federation = build_federation(SyntheticConfig(n_firms=6_000, seed=7))

    # execute: 5-fold out-of-fold logistic regression on firms present at all three holders
    report = separability(federation)

    # assert: the gap the federation exists for, and a bank model that is still useful
    assert report.n_defaults >= 100
    assert report.gap >= 0.05
    assert 0.60 <= report.bank_only_auc <= 0.78
    assert report.all_holders_auc >= 0.75


def test_too_few_defaults_is_refused() -> None:
    # prepare: so few firms that almost none default at all three holders
    federation = build_federation(SyntheticConfig(n_firms=20, seed=1))
    # execute / assert
    with pytest.raises(ValueError):
        separability(federation)
