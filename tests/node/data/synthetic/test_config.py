"""Configuration of the generator refuses nonsense up front."""

from __future__ import annotations

from datetime import date

import pytest

from node.data.synthetic import SyntheticConfig


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_firms": 5},
        {"bank_coverage": 0.0},
        {"third_party_coverage": 1.5},
        {"distress_rate": 1.0},
        {"observation_month": date(2025, 12, 15)},
    ],
)
def test_invalid_config(kwargs) -> None:
    with pytest.raises(ValueError):
        SyntheticConfig(**kwargs)


def test_defaults_match_the_documented_federation() -> None:
    config = SyntheticConfig()
    assert (config.n_firms, config.seed) == (20_000, 7)
    assert (config.bank_coverage, config.government_coverage, config.third_party_coverage) == (
        0.60,
        0.95,
        0.70,
    )
