"""Tests for fixed-point encoding and slot packing (pure integers, and under real Paillier)."""

from __future__ import annotations

import numpy as np
import pytest

from node.crypto.paillier.packing import (
    PackingError,
    SlotLayout,
    clip,
    dequantize,
    from_offset,
    headroom_bits,
    layout_for,
    pack,
    quant_max,
    quantize,
    to_offset,
    unpack,
)


def _reference_sum_of_packed(vectors: list[np.ndarray], layout: SlotLayout) -> list[int]:
    """Slow, obviously correct reference: add packed plaintexts as Python integers."""
    packed = [pack(v, layout) for v in vectors]
    return [sum(column) for column in zip(*packed, strict=True)]


def test_pack_unpack_round_trip() -> None:
    # prepare
    rng = np.random.default_rng(1)
    layout = SlotLayout(slot_bytes=3, slots_per_plaintext=10)
    values = rng.integers(0, 1 << 24, size=37, dtype=np.uint64)
    # execute
    plaintexts = pack(values, layout)
    back = unpack(plaintexts, layout, values.size)
    # assert
    assert len(plaintexts) == 4
    np.testing.assert_array_equal(back, values)
    assert all(p < 1 << (24 * 10) for p in plaintexts)


def test_slot_order_is_little_endian() -> None:
    # prepare
    layout = SlotLayout(slot_bytes=1, slots_per_plaintext=4)
    # execute
    (plaintext,) = pack(np.array([1, 2, 3], dtype=np.uint64), layout)
    # assert
    assert plaintext == 1 + (2 << 8) + (3 << 16)


def test_sum_of_packed_equals_packed_sum_with_negatives_and_many_parties() -> None:
    # prepare: 50 parties, signed updates with weights, headroom for all of them
    rng = np.random.default_rng(7)
    parties, size, bound, frac_bits, max_weight = 50, 301, 2.0, 20, 9000
    offset = quant_max(bound, frac_bits)
    layout = layout_for((2 * offset + 1) * max_weight, parties, key_bits=2048)
    updates = [rng.normal(0, 1.5, size) for _ in range(parties)]
    weights = rng.integers(1, max_weight + 1, size=parties)
    quantized = [quantize(u, bound, frac_bits) for u in updates]
    slots = [to_offset(q, offset, int(w)) for q, w in zip(quantized, weights, strict=True)]
    # execute
    plain_sum = _reference_sum_of_packed(slots, layout)
    recovered = from_offset(unpack(plain_sum, layout, size), offset * int(weights.sum()))
    # assert: exact integer equality with the weighted sum of quantized values
    expected = sum(int(w) * q.astype(object) for q, w in zip(quantized, weights, strict=True))
    assert recovered.tolist() == list(expected)
    assert (recovered < 0).any() and (recovered > 0).any()
    averaged = dequantize(recovered, frac_bits, divisor=float(weights.sum()))
    clipped = [np.clip(u, -bound, bound) for u in updates]
    reference = np.average(np.stack(clipped), axis=0, weights=weights)
    np.testing.assert_allclose(averaged, reference, atol=2.0**-frac_bits)


def test_quantize_clips_and_rounds() -> None:
    # prepare
    values = np.array([-10.0, -0.5, 0.0, 0.25, 0.3, 10.0])
    # execute
    q = quantize(values, bound=1.0, frac_bits=4)
    # assert
    assert q.tolist() == [-16, -8, 0, 4, 5, 16]


def test_clip_refuses_non_finite() -> None:
    with pytest.raises(PackingError, match="NaN or infinity"):
        clip(np.array([0.0, np.nan]), 1.0)


def test_clip_refuses_non_positive_bound() -> None:
    with pytest.raises(PackingError, match="positive"):
        clip(np.array([0.0]), 0.0)


def test_quant_max_refuses_too_many_fraction_bits() -> None:
    with pytest.raises(PackingError, match="frac_bits"):
        quant_max(1.0, 60)


def test_to_offset_refuses_value_outside_range() -> None:
    with pytest.raises(PackingError, match="outside the offset range"):
        to_offset(np.array([5]), offset=4)


def test_to_offset_refuses_zero_weight() -> None:
    with pytest.raises(PackingError, match="weight"):
        to_offset(np.array([1]), offset=4, weight=0)


def test_from_offset_refuses_negative_total() -> None:
    with pytest.raises(PackingError, match="total offset"):
        from_offset(np.array([1], dtype=np.uint64), -1)


def test_dequantize_refuses_zero_divisor() -> None:
    with pytest.raises(PackingError, match="divisor"):
        dequantize(np.array([1]), 4, divisor=0.0)


def test_pack_refuses_overflowing_slot() -> None:
    layout = SlotLayout(slot_bytes=1, slots_per_plaintext=4)
    with pytest.raises(PackingError, match="does not fit"):
        pack(np.array([256], dtype=np.uint64), layout)


def test_pack_refuses_negative_and_float() -> None:
    layout = SlotLayout(slot_bytes=2, slots_per_plaintext=4)
    with pytest.raises(PackingError, match="non-negative"):
        pack(np.array([-1]), layout)
    with pytest.raises(PackingError, match="integers"):
        pack(np.array([1.5]), layout)


def test_unpack_detects_overflowed_plaintext() -> None:
    # prepare: a plaintext wider than its slots, as a poisoned sum would be
    layout = SlotLayout(slot_bytes=1, slots_per_plaintext=2)
    # execute / assert
    with pytest.raises(PackingError, match="overflowed"):
        unpack([1 << 16], layout, 2)


def test_unpack_refuses_too_many_slots() -> None:
    layout = SlotLayout(slot_bytes=1, slots_per_plaintext=2)
    with pytest.raises(PackingError, match="asked for"):
        unpack([0], layout, 3)


def test_layout_for_keeps_plaintext_below_modulus_and_sizes_headroom() -> None:
    # prepare
    max_per_party = (1 << 23) * 10_000
    # execute
    layout = layout_for(max_per_party, parties=16, key_bits=2048)
    # assert
    assert headroom_bits(max_per_party, 16) == (max_per_party * 16).bit_length()
    assert layout.slot_max >= max_per_party * 16
    assert layout.slot_bits * layout.slots_per_plaintext <= 2047


def test_layout_for_refuses_sums_over_64_bits() -> None:
    with pytest.raises(PackingError, match="64"):
        layout_for(1 << 62, parties=8, key_bits=2048)


def test_layout_for_refuses_tiny_key() -> None:
    with pytest.raises(PackingError, match="cannot hold"):
        layout_for(1 << 40, parties=2, key_bits=16)


def test_slot_layout_validates_width() -> None:
    with pytest.raises(PackingError, match="slot_bytes"):
        SlotLayout(slot_bytes=9, slots_per_plaintext=1)
    with pytest.raises(PackingError, match="slots_per_plaintext"):
        SlotLayout(slot_bytes=1, slots_per_plaintext=0)


def test_unpack_detects_non_zero_padding() -> None:
    layout = SlotLayout(slot_bytes=1, slots_per_plaintext=4)
    with pytest.raises(PackingError, match="padding"):
        unpack([1 << 24], layout, 2)
