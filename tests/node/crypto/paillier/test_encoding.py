"""Tests for fixed-point encoding."""

from __future__ import annotations

import numpy as np
import pytest

from node.crypto.paillier import EncodingOverflow, decode, encode


def test_round_trip_within_resolution() -> None:
    # prepare
    values = np.array([[0.0, -1.5, 3.14159], [1e-9, -7.25, 100.0]])
    # execute
    ints = encode(values, 16)
    back = decode(ints, 16)
    # assert
    assert ints.dtype == np.int64 and ints.shape == values.shape
    assert np.max(np.abs(back - values)) <= 2.0**-17
    assert decode([2**70], 10)[0] == 2.0**60


def test_overflow_and_nan_name_position() -> None:
    # execute / assert
    with pytest.raises(EncodingOverflow) as info:
        encode([1.0, 2.0**60], 8)
    assert info.value.position == 1
    with pytest.raises(EncodingOverflow):
        encode([float("nan")], 8)
