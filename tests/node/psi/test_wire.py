"""Wire format: round trips, and every malformed message named by sender and topic."""

from __future__ import annotations

import numpy as np
import pytest

from node.psi import MalformedMessage
from node.psi.wire import (
    Status,
    decode_hello,
    decode_index,
    decode_points,
    decode_result,
    decode_seed,
    decode_start,
    decode_summary,
    encode_hello,
    encode_index,
    encode_points,
    encode_result,
    encode_seed,
    encode_start,
    encode_summary,
)

POINTS = bytes(range(64))


def test_round_trips() -> None:
    # prepare
    salt = bytes(range(32))
    positions = np.array([5, 0, 7], dtype=np.int64)
    # execute / assert
    assert decode_hello(encode_hello(Status.OK, 12), "g", "t") == (Status.OK, 12)
    assert decode_start(encode_start(Status.EMPTY, 9, salt, "gov"), "b", "t") == (
        Status.EMPTY, 9, salt, "gov")  # fmt: skip
    assert decode_points(encode_points(1, 3, POINTS), "g", "t", 1, 3, 2) == POINTS
    assert decode_seed(encode_seed(salt), "g", "t") == salt
    assert decode_result(encode_result([(4, 1), (0, 0)]), "b", "t", 2) == [(4, 1), (0, 0)]
    got = decode_index(encode_index(0, 1, positions), "b", "t", 0, 1, 3, 8)
    assert got.tolist() == [5, 0, 7]
    assert decode_summary(encode_summary({"input": 3}), "g", "t") == {"input": 3}


@pytest.mark.parametrize(
    "decode",
    [
        lambda: decode_hello(b"\x02" + encode_hello(Status.OK, 1)[1:], "gov", "psi/hello"),
        lambda: decode_hello(encode_hello(Status.OK, 1) + b"x", "gov", "psi/hello"),
        lambda: decode_hello(bytes([1, 1, 99]) + bytes(8), "gov", "psi/hello"),
        lambda: decode_hello(encode_seed(bytes(32)), "gov", "psi/hello"),
        lambda: decode_start(b"\x01\x02", "gov", "psi/leader"),
        lambda: decode_start(encode_start(Status.OK, 1, bytes(32), "ab")[:-1], "b", "t"),
        lambda: decode_points(encode_points(2, 3, POINTS), "gov", "psi/b", 1, 3, 2),
        lambda: decode_points(encode_points(1, 3, POINTS[:40]), "gov", "psi/b", 1, 3, 2),
        lambda: decode_seed(encode_seed(bytes(31)), "gov", "psi/seed"),
        lambda: decode_result(encode_result([(1, 1)]), "bank", "psi/leader", 2),
        lambda: decode_index(encode_index(0, 1, np.array([9])), "bank", "t", 0, 1, 1, 8),
        lambda: decode_index(encode_index(0, 1, np.array([1])), "bank", "t", 0, 1, 2, 8),
        lambda: decode_summary(b"\x01\x07[1]", "gov", "t"),
        lambda: decode_summary(b"\x01\x07\xff", "gov", "t"),
    ],
)
def test_malformed_messages_are_refused(decode: object) -> None:
    # execute / assert
    with pytest.raises(MalformedMessage) as info:
        decode()  # type: ignore[operator]
    assert info.value.sender in {"gov", "bank", "b"}


def test_summary_kind_is_checked() -> None:
    # prepare
    wrong = encode_hello(Status.OK, 0)
    # execute / assert
    with pytest.raises(MalformedMessage, match="kind"):
        decode_summary(wrong, "gov", "psi/summary")
