"""Holders see the same health through windows of different clarity."""

from __future__ import annotations

import numpy as np

from node.data.synthetic import SyntheticConfig
from node.data.synthetic.latent import simulate_firms
from node.data.synthetic.panels import observe


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_government_sees_health_more_clearly_than_the_bank() -> None:
    # prepare
    rng = np.random.default_rng(9)
    firms = simulate_firms(rng, SyntheticConfig(n_firms=3_000))
    # execute
    p = observe(rng, firms)
    # assert: size-free signals (per employee) against health, month by month
    emp = firms.employees[:, None]
    tax_signal = _corr(np.log1p(p.tax_paid / emp), firms.health)
    bank_signal = _corr(np.log(p.inflow / emp), firms.health)
    assert tax_signal > bank_signal + 0.1
    # overdue days appear only when health is far below average
    assert firms.health[p.overdue_days > 0].mean() < -2.0
    assert (p.ecommerce_sales[~p.online] == 0).all()
