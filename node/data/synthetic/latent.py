"""The hidden firm-health process that drives every holder's data and the defaults.

Each firm has a long-run quality, a monthly health that wanders around it (AR(1) with
industry-wide shocks), and possibly a distress episode from some month on, during which its
health drifts down. The monthly default hazard rises steeply as health falls. So a firm that
defaults has usually been deteriorating for months, which the government (tax, headcount,
power), the third parties (invoices, sales) and, later and more faintly, the bank (account flows,
overdue days) all see in their own data. See ``docs/synthetic-data.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from node.data.synthetic.config import FOLLOW_UP_MONTHS, HISTORY_MONTHS, SyntheticConfig

#: Trade of each industry: (GB/T 4754 section, trade word for firm names, risk offset,
#: monthly revenue per employee in yuan, monthly kWh per employee).
INDUSTRIES: Final = (
    ("C", "制造", -0.10, 32_000.0, 900.0),
    ("F", "商贸", 0.00, 45_000.0, 150.0),
    ("E", "建筑工程", -0.25, 38_000.0, 300.0),
    ("I", "信息技术", 0.20, 40_000.0, 120.0),
    ("H", "餐饮", -0.20, 18_000.0, 400.0),
    ("G", "物流", -0.05, 30_000.0, 350.0),
    ("L", "商务服务", 0.10, 28_000.0, 100.0),
    ("M", "科技", 0.15, 36_000.0, 110.0),
)
_AR: Final = 0.85  # month-to-month persistence of health around the firm's quality
_SHOCK: Final = 0.30  # monthly idiosyncratic health shock
_HAZARD_SLOPE: Final = 1.6  # log-odds of monthly default per unit of health lost


@dataclass(frozen=True)
class LatentFirms:
    """The hidden state of ``n`` firms over ``HISTORY_MONTHS + FOLLOW_UP_MONTHS`` months.

    Month index ``HISTORY_MONTHS - 1`` is the observation month.
    """

    industry: np.ndarray  # (n,) index into INDUSTRIES
    employees: np.ndarray  # (n,) base headcount
    age_years: np.ndarray  # (n,) firm age at the observation month
    quality: np.ndarray  # (n,) long-run quality, N(0, 1)-ish
    health: np.ndarray  # (n, months)
    distress_onset: np.ndarray  # (n,) month index, -1 when never distressed
    default_month: np.ndarray  # (n,) month index of the first default, -1 when none

    @property
    def n(self) -> int:
        """Number of firms."""
        return int(self.quality.size)

    @property
    def defaulted_12m(self) -> np.ndarray:
        """Whether the firm defaults within the follow-up year (the label)."""
        return self.default_month >= HISTORY_MONTHS


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def simulate_firms(rng: np.random.Generator, config: SyntheticConfig) -> LatentFirms:
    """Draw firm profiles, their monthly health and their default months (vectorised)."""
    n = config.n_firms
    months = HISTORY_MONTHS + FOLLOW_UP_MONTHS
    industry = rng.integers(0, len(INDUSTRIES), n)
    risk = np.array([row[2] for row in INDUSTRIES])[industry]
    employees = np.clip(np.round(np.exp(rng.normal(np.log(12.0), 0.9, n))), 2, 800)
    age_years = np.clip(1.0 + rng.gamma(2.0, 3.0, n), 1.0, 30.0)
    quality = rng.normal(0.0, 1.0, n)
    level = quality + risk + 0.15 * (np.log(age_years) - 1.5)

    # industry-wide monthly shocks (a shared economy), then the AR(1) walk around the level
    macro = rng.normal(0.0, 0.08, (len(INDUSTRIES), months))[industry]
    eps = rng.normal(0.0, _SHOCK, (n, months))
    health = np.empty((n, months))
    health[:, 0] = level + rng.normal(0.0, 0.5, n)
    for t in range(1, months):
        health[:, t] = level + _AR * (health[:, t - 1] - level) + eps[:, t] + macro[:, t]

    # distress: weaker firms enter more often; onset anywhere from a year before the
    # observation month to the end of the follow-up; health then drifts down month by month
    p_distress = config.distress_rate * 2.0 * _sigmoid(-0.9 * quality)
    distressed = rng.random(n) < np.clip(p_distress, 0.0, 0.95)
    onset = np.where(distressed, rng.integers(HISTORY_MONTHS - 12, months, n), -1)
    slope = rng.uniform(0.10, 0.30, n)
    t_idx = np.arange(months)[None, :]
    since = np.where(distressed[:, None], np.maximum(t_idx - onset[:, None], 0), 0)
    health -= slope[:, None] * since

    # monthly default hazard in the follow-up year; the first hit is the default month
    follow = health[:, HISTORY_MONTHS:]
    hazard = _sigmoid(config.default_intercept - _HAZARD_SLOPE * follow)
    hits = rng.random(follow.shape) < hazard
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + HISTORY_MONTHS, -1)
    # after a default the firm's health collapses (arrears, lay-offs) for the rest of the panel
    after = (first[:, None] >= 0) & (t_idx > first[:, None])
    health -= np.where(after, 1.5, 0.0)
    return LatentFirms(
        industry=industry,
        employees=employees,
        age_years=age_years,
        quality=quality,
        health=health,
        distress_onset=onset,
        default_month=first,
    )
