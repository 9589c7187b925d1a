"""Daily caps per bank and per firm: counted, enforced, persisted, reset by the UTC day."""

from __future__ import annotations

import random
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


def _one_at_a_time(
    per_bank: int, per_firm: int, requests: list[tuple[str, list[str]]]
) -> list[list[bool]]:
    """The caps' rule applied firm by firm, in order (what the column form must equal)."""
    banks: dict[str, int] = {}
    firms: dict[str, int] = {}
    out = []
    for bank, asked in requests:
        row = []
        for firm in asked:
            banks[bank] = banks.get(bank, 0) + 1
            ok = banks[bank] <= per_bank and firms.get(firm, 0) < per_firm
            if ok:
                firms[firm] = firms.get(firm, 0) + 1
            row.append(ok)
        out.append(row)
    return out


def test_requests_counted_as_columns_match_the_rule_firm_by_firm(tmp_path: Path) -> None:
    # prepare: requests with repeated firms, two banks, budgets that run out part way
    rng = random.Random(11)
    requests = [
        (
            rng.choice(["bank-a/n1", "bank-b/n1"]),
            [f"f{rng.randrange(40)}" for _ in range(rng.randrange(1, 30))],
        )
        for _ in range(60)
    ]
    caps = DailyCaps(tmp_path / "caps.sqlite", per_bank=500, per_firm=3)

    # execute: half before a restart, half after
    got = [caps.admit(bank, firms, at=DAY1).tolist() for bank, firms in requests[:30]]
    caps.close()
    caps = DailyCaps(tmp_path / "caps.sqlite", per_bank=500, per_firm=3)
    got += [caps.admit(bank, firms, at=DAY1).tolist() for bank, firms in requests[30:]]

    # assert
    assert got == _one_at_a_time(500, 3, requests)
