"""The bank's warning rules, applied to a whole book at once.

A borrower's assessed level is the most severe of:

- the early-warning model's PD against the policy's yellow / orange / red cut-offs;
- IFRS 9 significant increase in credit risk: PD at least ``pd_multiple`` times the PD at
  origination (the borrower's first refresh) and at least ``min_pd``;
- the bank's own overdue backstop (30 days past due by default);
- the five-category loan classification (normal, special mention, substandard, doubtful,
  loss) from days past due, each category mapped to a level;
- coded flags the holders published (a new court enforcement, tax arrears), each mapped to a
  level; only the code ever reached the bank.

Each rule that fires adds a coded reason, so the watch list says why without a value. The
model's rules (PD, SICR) are *soft*: a capacity-bound watch list (``watchlist.cap``) keeps
the riskiest of them by PD; the others are *hard* and always listed, but for the flags the
policy names ``soft_flags``: a flag whose track record at the bank does not bear out its
level would otherwise fill the list's room with its false alarms (docs/early-warning.md,
the harder setting).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from node.monitoring.policy import CATEGORIES, MonitoringPolicy

PD_REASON: Final = "EW-PD"
SICR_REASON: Final = "IFRS9-SICR"


@dataclass(frozen=True)
class Assessment:
    """Per borrower: the level the rules give (0 green .. 3 red), the five-category class
    (index into ``CATEGORIES``) and the coded reasons."""

    level: NDArray[np.int8]
    category: NDArray[np.int8]
    reasons: list[list[str]]
    hard: NDArray[np.int8]  # the level from the backstop, classification and hard flags alone


def classify(policy: MonitoringPolicy, dpd: NDArray[np.float64]) -> NDArray[np.int8]:
    """The five-category class of each borrower from its days past due (missing: normal)."""
    days = np.nan_to_num(np.asarray(dpd, dtype=np.float64), nan=0.0)
    category: NDArray[np.int8] = np.searchsorted(
        np.asarray(policy.category_from_dpd, dtype=np.float64), days, side="right"
    ).astype(np.int8)
    return category


def pd_level(policy: MonitoringPolicy, pd: NDArray[np.float64]) -> NDArray[np.int8]:
    """0-3 from the PD cut-offs (a missing PD gives green: other rules still apply)."""
    p = np.nan_to_num(np.asarray(pd, dtype=np.float64), nan=0.0)
    level: NDArray[np.int8] = np.searchsorted(np.asarray(policy.pd_levels), p, side="right").astype(
        np.int8
    )
    return level


def assess(
    policy: MonitoringPolicy,
    pd: NDArray[np.float64],
    origination_pd: NDArray[np.float64],
    dpd: NDArray[np.float64],
    flags: Sequence[Sequence[str]],
    model_reasons: Sequence[Sequence[str]],
) -> Assessment:
    """Apply every rule to every borrower (arrays aligned with the book)."""
    n = len(pd)
    pd = np.asarray(pd, dtype=np.float64)
    by_pd = pd_level(policy, pd)
    with np.errstate(invalid="ignore"):
        sicr = (pd >= policy.sicr_multiple * origination_pd) & (pd >= policy.sicr_min_pd)
    days = np.nan_to_num(np.asarray(dpd, dtype=np.float64), nan=0.0)
    backstop = days >= policy.backstop_dpd
    category = classify(policy, days)
    by_category = np.asarray(policy.category_levels, dtype=np.int8)[category]
    hard = np.maximum(by_category, np.where(backstop, policy.backstop_level, 0).astype(np.int8))
    level = np.maximum(hard, by_pd)
    level = np.maximum(level, np.where(sicr, policy.sicr_level, 0).astype(np.int8))
    reasons: list[list[str]] = [[] for _ in range(n)]
    for i in np.flatnonzero(by_pd > 0).tolist():
        reasons[i] = [PD_REASON, *model_reasons[i]]
    for i in np.flatnonzero(sicr).tolist():
        if by_pd[i] > 0:
            reasons[i].append(SICR_REASON)
        else:
            # listed for the rise of its PD alone: the model's reasons say what raised it
            reasons[i] = [SICR_REASON, *model_reasons[i]]
    for i in np.flatnonzero(backstop).tolist():
        reasons[i].append(f"BANK-DPD{policy.backstop_dpd}")
    for i in np.flatnonzero(category > 0).tolist():
        reasons[i].append("CLASS-" + CATEGORIES[category[i]].upper().replace("_", "-"))
    flag_levels = policy.flags
    for i, codes in enumerate(flags):
        for code in codes:
            if code in flag_levels:
                level[i] = max(level[i], flag_levels[code])
                if code not in policy.soft_flags:
                    hard[i] = max(hard[i], flag_levels[code])
                reasons[i].append(code)
    return Assessment(level.astype(np.int8), category, reasons, hard.astype(np.int8))
