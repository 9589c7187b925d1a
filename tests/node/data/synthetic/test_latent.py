"""The hidden health process: defaults fall in the follow-up year and follow distress."""

from __future__ import annotations

import numpy as np

from node.data.synthetic import SyntheticConfig
from node.data.synthetic.config import FOLLOW_UP_MONTHS, HISTORY_MONTHS
from node.data.synthetic.latent import simulate_firms


def test_defaults_follow_low_and_falling_health() -> None:
    # prepare / execute
    firms = simulate_firms(np.random.default_rng(5), SyntheticConfig(n_firms=5_000))
    obs = HISTORY_MONTHS - 1
    d = firms.defaulted_12m

    # assert: default months only in the follow-up year
    months = firms.default_month[d]
    assert ((months >= HISTORY_MONTHS) & (months < HISTORY_MONTHS + FOLLOW_UP_MONTHS)).all()
    assert (firms.default_month[~d] == -1).all()
    # defaulters are weaker at the observation month and were falling over the year before it
    assert firms.health[d, obs].mean() < firms.health[~d, obs].mean() - 0.5
    drop = firms.health[:, obs] - firms.health[:, obs - 11]
    assert drop[d].mean() < drop[~d].mean()
    # distressed firms default far more often than the others
    distressed = firms.distress_onset >= 0
    assert d[distressed].mean() > 3 * d[~distressed].mean()
