"""Daily caps per bank and per firm: counted, enforced, persisted, reset by the UTC day."""

from __future__ import annotations

from pathlib import Path

from node.scoring.caps import DailyCaps

DAY1 = 1_800_000_000.0  # a fixed UTC moment
DAY2 = DAY1 + 86_400.0


def test_a_firm_beyond_its_cap_is_refused_and_refusals_do_not_count_against_it(
    tmp_path: Path,
) -> None:
    caps = DailyCaps(tmp_path / "caps.sqlite", per_bank=100, per_firm=2)
    # execute: firm f asked three times in one request, then again
    first = caps.admit("bank-a/n1", ["f", "f", "f", "g"], at=DAY1)
    again = caps.admit("bank-b/n1", ["f"], at=DAY1)  # the per-firm cap spans banks
    # assert
    assert first.tolist() == [True, True, False, True]
    assert again.tolist() == [False]


def test_a_bank_beyond_its_daily_budget_is_refused_until_the_next_day(tmp_path: Path) -> None:
    caps = DailyCaps(tmp_path / "caps.sqlite", per_bank=3, per_firm=10)
    assert caps.admit("bank-a/n1", ["a", "b"], at=DAY1).tolist() == [True, True]
    assert caps.admit("bank-a/n1", ["c", "d"], at=DAY1).tolist() == [True, False]
    assert caps.admit("bank-b/n1", ["c"], at=DAY1).tolist() == [True]  # another bank
    assert caps.admit("bank-a/n1", ["e"], at=DAY2).tolist() == [True]


def test_counts_survive_a_restart(tmp_path: Path) -> None:
    caps = DailyCaps(tmp_path / "caps.sqlite", per_bank=10, per_firm=2)
    caps.admit("bank-a/n1", ["f", "f"], at=DAY1)
    caps.close()
    reopened = DailyCaps(tmp_path / "caps.sqlite", per_bank=10, per_firm=2)
    assert reopened.admit("bank-a/n1", ["f"], at=DAY1).tolist() == [False]
