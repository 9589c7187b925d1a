"""Knobs of the synthetic federation, with defaults that give the documented figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

#: Months of history before (and including) the observation month; 24 so that the 24-month
#: court columns and the 12-month growth columns (this year against last) can be computed.
HISTORY_MONTHS: Final = 24
#: Months after the observation month in which a default counts for ``default_12m``.
FOLLOW_UP_MONTHS: Final = 12
#: ``panel_signal`` of the harder early-warning setting: panels follow health half as closely.
HARDER_PANEL_SIGNAL: Final = 0.5


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of one generated federation.

    Attributes
    ----------
    n_firms
        Firms in the whole economy (before each holder's coverage is applied).
    seed
        Seed of the single ``numpy`` generator every draw comes from: same seed, same files.
    observation_month
        First day of the month the snapshot tables describe (its data included).
    bank_coverage, government_coverage, third_party_coverage
        Share of firms present at each holder, drawn independently per firm, so the holders
        overlap only partly (about 40 % of firms are at all three with the defaults).
    distress_rate
        Base share of firms that enter a distress episode (health drifting down) at some
        month; weaker firms enter more often. Distress is what makes defaults predictable.
    default_intercept
        Logit of the monthly default hazard of a firm of average health; tuned so that about
        7 % of the bank's customers default within the follow-up year.
    panel_signal
        How strongly every holder's monthly figures follow firm health (1.0: the documented
        process). Below 1 the panels carry weaker warning signals of the same defaults (the
        default process itself is unchanged): the harder setting of the early-warning
        benchmark uses 0.5 (``HARDER_PANEL_SIGNAL``).
    """

    n_firms: int = 20_000
    seed: int = 7
    observation_month: date = date(2025, 12, 1)
    bank_coverage: float = 0.60
    government_coverage: float = 0.95
    third_party_coverage: float = 0.70
    distress_rate: float = 0.10
    default_intercept: float = -7.0
    panel_signal: float = 1.0

    def __post_init__(self) -> None:
        if self.n_firms < 10:
            raise ValueError(f"n_firms must be at least 10, got {self.n_firms}")
        for name in ("bank_coverage", "government_coverage", "third_party_coverage"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        if not 0.0 <= self.distress_rate < 1.0:
            raise ValueError(f"distress_rate must be in [0, 1), got {self.distress_rate}")
        if not 0.0 < self.panel_signal <= 1.0:
            raise ValueError(f"panel_signal must be in (0, 1], got {self.panel_signal}")
        if self.observation_month.day != 1:
            raise ValueError("observation_month must be the first day of a month")
