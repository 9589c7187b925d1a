"""The column mark: grid steps, error within tolerance, bits read back, keys independent."""

from __future__ import annotations

import os

import numpy as np
import pytest

from node.governance.fingerprint.scheme import (
    Step,
    choose_step,
    column_key,
    embed_column,
    nice_step,
    prf_bits,
    read_column,
    release_key,
    root_key,
)


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (0.001, Step(1, 1000)),
        (0.00099, Step(5, 10000)),
        (0.0007, Step(5, 10000)),
        (100.0, Step(100, 1)),
        (250.0, Step(200, 1)),
        (1.0, Step(1, 1)),
        (7.5, Step(5, 1)),
    ],
)
def test_nice_step_is_the_largest_1_2_5_step_not_above_the_limit(
    limit: float, expected: Step
) -> None:
    assert nice_step(limit) == expected


def test_nice_step_refuses_a_non_positive_limit() -> None:
    with pytest.raises(ValueError, match="positive"):
        nice_step(0.0)


def test_step_round_trips_and_refuses_malformed_lists() -> None:
    assert Step.from_list(Step(5, 10000).to_list()) == Step(5, 10000)
    with pytest.raises(ValueError, match="positive integers"):
        Step.from_list([0, 10])


def test_on_grid_columns_get_the_full_tolerance_as_step() -> None:
    # prepare: kWh rounded to 100 by the noise transform, growth rates with 4 decimals
    kwh = np.array([48500.0, 16900.0, 100.0, np.nan])
    growth = np.array([0.0627, -0.3735, 0.005])
    # assert: on its grid a value moves by one step at most, off it by 1.5 steps
    assert choose_step(kwh, 100.0) == Step(100, 1)
    assert choose_step(growth, 0.001) == Step(5, 10000)


def _key() -> bytes:
    return column_key(release_key(root_key(os.urandom(32)), "r1"), "tax_growth_12m")


def test_marked_values_stay_within_the_tolerance_and_the_range() -> None:
    # prepare
    rng = np.random.default_rng(3)
    x = np.clip(np.round(rng.normal(0.05, 0.4, 5000), 4), -1.0, 2.0)
    tolerance = 0.001
    step = choose_step(x, tolerance)
    # execute
    marked, carried = embed_column(x, step, _key())
    # assert
    assert np.max(np.abs(marked - x)) <= tolerance
    assert marked.min() >= x.min() and marked.max() <= x.max()  # clip bounds respected
    assert carried > 0.95 * x.size


def test_nulls_and_zeros_are_left_alone() -> None:
    x = np.array([0.0, np.nan, 12.3456, 0.0, -4.5])
    marked, carried = embed_column(x, Step(5, 10000), _key())
    assert marked[0] == 0.0 and marked[3] == 0.0 and np.isnan(marked[1])
    assert carried == 2


def test_values_are_written_as_short_decimals() -> None:
    x = np.round(np.random.default_rng(1).normal(0, 1, 200), 4)
    marked, _ = embed_column(x, Step(5, 10000), _key())
    assert all(len(repr(float(v)).split(".")[-1]) <= 4 for v in marked)


def test_embedded_bits_read_back_and_match_the_key() -> None:
    # prepare
    x = np.round(np.random.default_rng(2).lognormal(10, 1, 4000), -2)
    step, key = Step(100, 1), _key()
    marked, _ = embed_column(x, step, key)
    # execute
    pairs, bits = read_column(marked, step)
    # assert: one vote per distinct pair, each equal to the key's bit
    assert pairs.size == np.unique(pairs).size > 500
    assert np.array_equal(bits, prf_bits(key, pairs))


def test_another_key_agrees_about_half_the_time() -> None:
    x = np.round(np.random.default_rng(4).normal(0, 1, 20000), 4)
    step = Step(5, 10000)
    marked, _ = embed_column(x, step, _key())
    pairs, bits = read_column(marked, step)
    agreement = float(np.mean(prf_bits(_key(), pairs) == bits))
    assert 0.45 < agreement < 0.55


def test_values_moved_off_the_grid_are_skipped_and_ties_dropped() -> None:
    step = Step(1, 1)
    # 10.2 is read as 10 (pair 5, bit 0); 13.5 and 7.4 are off the grid; 11 and 10 tie
    pairs, bits = read_column(np.array([10.2, 13.5, 7.4, 20.0]), step)
    assert list(pairs) == [5, 10] and list(bits) == [0, 0]
    pairs, _ = read_column(np.array([10.0, 11.0]), step)
    assert pairs.size == 0


def test_prf_bits_are_deterministic_per_key_and_input() -> None:
    key, pairs = _key(), np.arange(-50, 50, dtype=np.int64)
    assert np.array_equal(prf_bits(key, pairs), prf_bits(key, pairs))
    assert prf_bits(key, np.zeros(0, dtype=np.int64)).size == 0
    assert set(np.unique(prf_bits(key, pairs))) == {0, 1}
