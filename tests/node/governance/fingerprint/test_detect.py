"""Detection: the Chernoff bound holds, the leaker is named, an innocent table accuses no one."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest

from node.governance.fingerprint import (
    Candidate,
    SuspectTable,
    embed_frame,
    judge,
    log10_chernoff_tail,
    release_key,
    root_key,
)

TOLERANCES = {"growth": 0.001, "kwh": 100.0}


def _exact_tail(n: int, agree: int) -> float:
    """Reference: P[Binomial(n, 1/2) >= agree], summed exactly."""
    return sum(math.comb(n, k) for k in range(agree, n + 1)) / 2**n


@pytest.mark.parametrize(("n", "agree"), [(10, 8), (50, 30), (200, 130), (400, 400), (64, 33)])
def test_chernoff_bound_is_never_below_the_exact_tail(n: int, agree: int) -> None:
    assert 10 ** log10_chernoff_tail(n, agree) >= _exact_tail(n, agree)


def test_chance_agreement_gives_no_evidence() -> None:
    assert log10_chernoff_tail(100, 50) == 0.0
    assert log10_chernoff_tail(0, 0) == 0.0


def _base(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "growth": np.round(rng.normal(0.05, 0.3, n), 4),
            "kwh": np.round(rng.lognormal(10, 1, n), -2),
            "name": [f"firm {i}" for i in range(n)],
        }
    )


def _releases(base: pd.DataFrame, count: int) -> tuple[list[Candidate], dict[str, pd.DataFrame]]:
    root = root_key(os.urandom(32))
    candidates, copies = [], {}
    for i in range(count):
        rid = f"release-{i}"
        key = release_key(root, rid)
        copies[rid], spec = embed_frame(base, TOLERANCES, key)
        candidates.append(Candidate(rid, spec, key))
    return candidates, copies


def test_a_small_subset_names_its_release_and_only_it() -> None:
    # prepare
    candidates, copies = _releases(_base(), 20)
    leak = copies["release-7"].sample(60, random_state=3)
    # execute
    verdict = judge(SuspectTable(leak), candidates)
    # assert
    assert [s.release_id for s in verdict.accused] == ["release-7"]
    assert verdict.tested == 20
    assert verdict.log10_bound(verdict.accused[0]) <= -9


def test_unmarked_and_foreign_tables_accuse_no_one() -> None:
    base = _base()
    candidates, _ = _releases(base, 20)
    rng = np.random.default_rng(9)
    for trial in range(200):
        table = base if trial % 2 else embed_frame(_base(seed=trial), TOLERANCES, os.urandom(32))[0]
        table = table.sample(int(rng.integers(50, len(table))), random_state=trial)
        verdict = judge(SuspectTable(table), candidates)
        assert not verdict.accused


def test_both_colluders_of_a_cell_by_cell_merge_are_named() -> None:
    candidates, copies = _releases(_base(), 10)
    a, b = copies["release-1"], copies["release-2"]
    from_b = np.random.default_rng(1).random(a.shape) < 0.5
    merged = a.where(~from_b, b)
    verdict = judge(SuspectTable(merged), candidates)
    assert {s.release_id for s in verdict.accused} == {"release-1", "release-2"}


def test_a_table_without_carrier_columns_is_not_tested() -> None:
    candidates, copies = _releases(_base(), 3)
    verdict = judge(SuspectTable(copies["release-0"][["name"]]), candidates)
    assert verdict.tested == 0 and not verdict.accused


def test_the_threshold_must_be_a_probability() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        judge(SuspectTable(_base()), [], max_false_accusation=0.0)
