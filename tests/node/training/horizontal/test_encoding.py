"""Tests for the update and evaluation vectors: exact sums across banks, corruption detected."""

from __future__ import annotations

import numpy as np
import pytest

from node.crypto.paillier.packing import PackingError
from node.training.horizontal.encoding import DecodeError, EvalCodec, UpdateCodec
from node.training.horizontal.trainer import EvalCounts


def _sum(vectors: list[list[int]]) -> list[int]:
    return [sum(col) for col in zip(*vectors, strict=True)]


def test_update_sum_decodes_to_the_weighted_fedavg_mean() -> None:
    # prepare
    rng = np.random.default_rng(0)
    codec = UpdateCodec(
        n_params=97, bound=1.0, frac_bits=20, max_weight=10_000, parties=5, key_bits=1024
    )
    deltas = [rng.normal(0, 0.3, 97) for _ in range(4)]
    weights = [100, 2500, 7, 9999]
    # execute: only four of five banks report
    mean, total = codec.decode(
        _sum([codec.encode(d, w) for d, w in zip(deltas, weights, strict=True)])
    )
    # assert
    expected = np.average(np.clip(np.stack(deltas), -1, 1), axis=0, weights=weights)
    assert total == sum(weights)
    np.testing.assert_allclose(mean, expected, atol=2**-20)


def test_update_decode_detects_overflowed_sum() -> None:
    # prepare
    codec = UpdateCodec(n_params=3, bound=1.0, frac_bits=8, max_weight=10, parties=2, key_bits=1024)
    poisoned = [p + (1 << 1000) for p in codec.encode(np.zeros(3), 5)]
    # execute / assert
    with pytest.raises(DecodeError):
        codec.decode(poisoned)


def test_update_decode_detects_slot_beyond_reported_weight() -> None:
    codec = UpdateCodec(n_params=2, bound=1.0, frac_bits=4, max_weight=10, parties=2, key_bits=1024)
    plain = codec.encode(np.zeros(2), 1)
    with pytest.raises(DecodeError, match="exceeds"):
        codec.decode([plain[0] + 500])  # first slot grows far past 2*Q*N with N == 1


def test_update_encode_refuses_bad_weight_and_size() -> None:
    codec = UpdateCodec(n_params=2, bound=1.0, frac_bits=4, max_weight=10, parties=2, key_bits=1024)
    with pytest.raises(PackingError, match="sample count"):
        codec.encode(np.zeros(2), 11)
    with pytest.raises(PackingError, match="expected 2"):
        codec.encode(np.zeros(3), 1)


def test_eval_sum_adds_counts_loss_and_contributors() -> None:
    # prepare
    codec = EvalCodec(bins=10, max_count=5000, parties=3, key_bits=1024, splits=("val", "test"))
    a = EvalCounts(np.arange(10), np.arange(10)[::-1].copy(), loss_sum=1234.5678, n=90)
    b = EvalCounts(np.ones(10, dtype=np.int64), np.zeros(10, dtype=np.int64), 0.25, n=10)
    no_hist = EvalCounts(np.zeros(0, np.int64), np.zeros(0, np.int64), 10.0, n=4)
    # execute
    total = codec.decode(
        _sum([codec.encode({"val": a, "test": None}), codec.encode({"val": b, "test": no_hist})])
    )
    # assert
    val, contributors, with_hist = total["val"]
    assert (contributors, with_hist) == (2, 2)
    assert val.pos.tolist() == (np.arange(10) + 1).tolist()
    assert val.neg.tolist() == np.arange(10)[::-1].tolist()
    assert val.n == 100 and val.loss_sum == pytest.approx(1234.8178, abs=1e-2)
    test, contributors, with_hist = total["test"]
    assert (contributors, with_hist, test.n, test.pos.size) == (1, 0, 4, 0)


def test_eval_encode_refuses_counts_over_the_maximum() -> None:
    codec = EvalCodec(bins=2, max_count=10, parties=2, key_bits=1024)
    big = EvalCounts(np.array([8, 8]), np.array([0, 0]), 1.0, n=16)
    with pytest.raises(PackingError):
        codec.encode({"val": big})


def test_eval_decode_refuses_impossible_contributor_count() -> None:
    codec = EvalCodec(bins=2, max_count=10, parties=2, key_bits=1024)
    one = codec.encode({"val": EvalCounts(np.array([1, 0]), np.array([0, 1]), 1.0, 2)})
    with pytest.raises(DecodeError, match="contributor"):
        codec.decode(_sum([one, one, one]))
