"""Tests for the vertical protocol's message formats and their validation."""

from __future__ import annotations

import numpy as np
import pytest

from node.training.vertical import MalformedMessage, wire


def test_round_trips() -> None:
    # prepare
    bits = np.array([True, False, True, True, False])
    q = np.array([0, 2**64 - 1, 12345], dtype=np.uint64)
    # execute / assert
    assert wire.decode_ints(wire.encode_ints([0, 5, 999], 1000), 1000, "a", "t", 3) == [0, 5, 999]
    assert wire.decode_bits(wire.encode_bits(bits), "a", "t", 5).tolist() == bits.tolist()
    assert wire.decode_u64(wire.encode_u64(q), "a", "t", 3).tolist() == q.tolist()
    assert wire.decode_json(wire.encode_json({"k": 1}), "a", "t", {"k"}) == {"k": 1}
    assert wire.decode_cipher(wire.encode_cipher(b"xyz", 3), "a", "t", 3) == b"xyz"


@pytest.mark.parametrize(
    ("blob", "decode"),
    [
        (b"\x01", lambda b: wire.decode_ints(b, 1000, "gov", "vlr/x")),
        (b"\x02I\x00\x00\x00\x00", lambda b: wire.decode_ints(b, 1000, "gov", "vlr/x")),
        (wire.encode_json({"k": 1}), lambda b: wire.decode_ints(b, 1000, "gov", "vlr/x")),
        (wire.encode_ints([5], 1000), lambda b: wire.decode_ints(b, 1000, "gov", "vlr/x", 2)),
        (wire.encode_ints([5], 1000)[:-1], lambda b: wire.decode_ints(b, 1000, "gov", "vlr/x")),
        (wire.encode_ints([1001], 2000), lambda b: wire.decode_ints(b, 1000, "gov", "vlr/x")),
        (wire.encode_bits(np.ones(9, bool))[:-1], lambda b: wire.decode_bits(b, "gov", "vlr/x", 9)),
        (wire.encode_u64(np.ones(2, np.uint64)), lambda b: wire.decode_u64(b, "gov", "vlr/x", 3)),
        (wire.encode_json({"k": 1}), lambda b: wire.decode_json(b, "gov", "vlr/x", {"j"})),
        (b"\x01J\x00\x00\x00\x02{x", lambda b: wire.decode_json(b, "gov", "vlr/x", {"k"})),
        (wire.encode_cipher(b"", 1), lambda b: wire.decode_cipher(b, "gov", "vlr/x", 2)),
    ],
)
def test_malformed_payloads_name_sender_and_topic(blob: bytes, decode: object) -> None:
    # execute
    with pytest.raises(MalformedMessage) as info:
        decode(blob)  # type: ignore[operator]
    # assert
    assert info.value.sender == "gov" and info.value.topic == "vlr/x"
