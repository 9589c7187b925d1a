"""Fixed-point encoding and slot packing of real vectors for additive Paillier aggregation.

A model update is a vector of floats; Paillier adds integers modulo ``n``. This module turns
one into the other so that the *sum of k parties' ciphertexts* decrypts to the exact sum of
their quantized vectors:

1. ``clip`` each value to ``[-bound, bound]`` (bounds what one party can contribute);
2. ``quantize`` to a fixed-point integer ``round(x * 2**frac_bits)`` in ``[-Q, Q]``;
3. shift by the ``offset`` ``Q`` so every slot is non-negative (no two's complement: a
   borrow would otherwise run from one slot into the next when slots are added);
4. ``pack`` many non-negative slots into one plaintext, each slot wide enough to hold the
   sum of all parties (the *headroom*), so adding ciphertexts adds every slot at once.

After decryption of the sum, ``unpack`` recovers the slot sums and the caller subtracts the
total offset (offset times the number — or total weight — of contributions) before
``dequantize``. All functions are pure and deterministic: no keys, no randomness.

Slots are byte aligned (a slot is a whole number of bytes, at most 8) so packing and
unpacking are a single NumPy reshape instead of a Python loop over big integers; this costs
up to 7 bits per slot, which is cheap next to one 2048-bit ciphertext per ~40 values.
See ``docs/protocols/horizontal.md`` for the bit budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

MAX_SLOT_BYTES = 8
"""Slots are unpacked into ``uint64``; a sum must therefore fit in 64 bits."""


class PackingError(ValueError):
    """A value does not fit the slot layout, or a packed plaintext is out of range.

    Raised instead of silently wrapping: a wrapped slot would corrupt the aggregate without
    any sign. Carries the ``problem`` (never the offending value) as an attribute.
    """

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class SlotLayout:
    """How non-negative integers are laid out in one plaintext.

    Attributes
    ----------
    slot_bytes:
        Width of one slot in bytes (1..8); slot ``i`` occupies bits ``[8*slot_bytes*i, ...)``.
    slots_per_plaintext:
        How many slots share one plaintext; chosen so a full plaintext stays below ``n``.
    """

    slot_bytes: int
    slots_per_plaintext: int

    def __post_init__(self) -> None:
        if not 1 <= self.slot_bytes <= MAX_SLOT_BYTES:
            raise PackingError(f"slot_bytes must be 1..{MAX_SLOT_BYTES}, got {self.slot_bytes}")
        if self.slots_per_plaintext < 1:
            raise PackingError("slots_per_plaintext must be at least 1")

    @property
    def slot_bits(self) -> int:
        return 8 * self.slot_bytes

    @property
    def slot_max(self) -> int:
        """Largest value a slot (and therefore a slot *sum*) may hold."""
        return (1 << self.slot_bits) - 1

    def plaintexts_for(self, count: int) -> int:
        """Number of plaintexts needed for ``count`` slots."""
        return -(-count // self.slots_per_plaintext)


def clip(values: ArrayLike, bound: float) -> NDArray[np.float64]:
    """Clip every value to ``[-bound, bound]``; non-finite values are refused.

    Raises
    ------
    PackingError
        ``bound`` is not positive, or a value is NaN or infinite (a diverged local model).
    """
    if not bound > 0:
        raise PackingError(f"clip bound must be positive, got {bound}")
    arr = np.asarray(values, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise PackingError("update contains NaN or infinity; the local model diverged")
    return np.clip(arr, -bound, bound)


def quant_max(bound: float, frac_bits: int) -> int:
    """``Q``: the largest quantized magnitude for values clipped to ``bound``."""
    if not 0 <= frac_bits <= 52:
        raise PackingError(f"frac_bits must be 0..52 (float64 precision), got {frac_bits}")
    return int(np.ceil(bound * (1 << frac_bits)))


def quantize(values: ArrayLike, bound: float, frac_bits: int) -> NDArray[np.int64]:
    """Clip then round to fixed point: ``round(clip(x) * 2**frac_bits)`` in ``[-Q, Q]``."""
    scaled = np.rint(clip(values, bound) * float(1 << frac_bits))
    q = quant_max(bound, frac_bits)
    return np.clip(scaled, -q, q).astype(np.int64)


def dequantize(values: ArrayLike, frac_bits: int, divisor: float = 1.0) -> NDArray[np.float64]:
    """Invert ``quantize`` (and optionally divide by a total weight) in float64."""
    if not divisor > 0:
        raise PackingError(f"divisor must be positive, got {divisor}")
    arr = np.asarray(values)
    return arr.astype(np.float64) / (float(1 << frac_bits) * divisor)


def to_offset(values: ArrayLike, offset: int, weight: int = 1) -> NDArray[np.uint64]:
    """Map signed slots in ``[-offset, offset]`` to ``weight * (v + offset) >= 0``.

    ``weight`` is an integer multiplier (for FedAvg, a party's sample count) applied after
    the shift so that the summed offset is ``offset * sum(weights)``, which ``from_offset``
    removes once the total weight is known.

    Raises
    ------
    PackingError
        A value lies outside ``[-offset, offset]`` or ``weight`` is not positive.
    """
    if weight < 1:
        raise PackingError(f"weight must be a positive integer, got {weight}")
    arr = np.asarray(values, dtype=np.int64)
    if arr.size and (int(arr.min()) < -offset or int(arr.max()) > offset):
        raise PackingError(f"a value lies outside the offset range [-{offset}, {offset}]")
    if (2 * offset + 1) * weight >= 1 << 63:
        raise PackingError("offset times weight does not fit 63 bits; lower frac_bits")
    return ((arr + offset) * weight).astype(np.uint64)


def from_offset(sums: ArrayLike, total_offset: int) -> NDArray[np.int64]:
    """Remove ``total_offset`` (offset times total weight) from summed slots."""
    arr = np.asarray(sums, dtype=np.uint64)
    if total_offset < 0 or total_offset >= 1 << 63:
        raise PackingError("total offset must be in [0, 2**63)")
    return arr.astype(np.int64) - np.int64(total_offset)


def headroom_bits(max_per_party: int, parties: int) -> int:
    """Bits needed for a slot holding the sum of ``parties`` values each ``<= max_per_party``."""
    if max_per_party < 0 or parties < 1:
        raise PackingError("max_per_party must be >= 0 and parties >= 1")
    return max(1, (max_per_party * parties).bit_length())


def layout_for(max_per_party: int, parties: int, key_bits: int) -> SlotLayout:
    """Choose the densest byte-aligned layout whose slots hold the sum of ``parties``.

    A plaintext is kept below ``2**(key_bits - 1)``, which is below any modulus ``n`` of
    ``key_bits`` bits, so a packed plaintext is always a valid Paillier message and the
    sum never wraps modulo ``n`` as long as every slot sum stays within its slot.

    Raises
    ------
    PackingError
        The sum needs more than 64 bits, or the key is too small to hold one slot.
    """
    bits = headroom_bits(max_per_party, parties)
    slot_bytes = -(-bits // 8)
    if slot_bytes > MAX_SLOT_BYTES:
        raise PackingError(
            f"a slot sum needs {bits} bits (> 64); lower frac_bits, the clip bound or the "
            "maximum sample count"
        )
    slots = (key_bits - 1) // (8 * slot_bytes)
    if slots < 1:
        raise PackingError(f"a {key_bits}-bit key cannot hold one {bits}-bit slot")
    return SlotLayout(slot_bytes=slot_bytes, slots_per_plaintext=slots)


def pack(values: ArrayLike, layout: SlotLayout) -> list[int]:
    """Pack non-negative integers, ``layout.slots_per_plaintext`` to one plaintext.

    Slot ``j`` of plaintext ``i`` holds ``values[i * slots + j]`` in little-endian order;
    the last plaintext is padded with zero slots.

    Raises
    ------
    PackingError
        A value is negative or does not fit one slot.
    """
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise PackingError(f"pack takes integers, got dtype {arr.dtype}")
    if arr.size and arr.dtype.kind == "i" and int(arr.min()) < 0:
        raise PackingError("pack takes non-negative slots; shift by the offset first")
    flat = arr.astype(np.uint64).ravel()
    if flat.size and int(flat.max()) > layout.slot_max:
        raise PackingError(f"a value does not fit a {layout.slot_bits}-bit slot")
    per = layout.slots_per_plaintext
    count = layout.plaintexts_for(flat.size)
    padded = np.zeros(count * per, dtype="<u8")
    padded[: flat.size] = flat
    raw = padded.view(np.uint8).reshape(-1, 8)[:, : layout.slot_bytes]
    rows = raw.reshape(count, per * layout.slot_bytes)
    return [int.from_bytes(row.tobytes(), "little") for row in rows]


def unpack(plaintexts: list[int], layout: SlotLayout, count: int) -> NDArray[np.uint64]:
    """Inverse of ``pack``: the first ``count`` slots of ``plaintexts`` as ``uint64``.

    Raises
    ------
    PackingError
        A plaintext is negative or larger than its slots can hold (a slot overflowed or the
        plaintext was not produced by ``pack`` — e.g. a sum poisoned by a bad ciphertext),
        a padding slot past ``count`` is not zero, or ``count`` exceeds the slots available.
    """
    per = layout.slots_per_plaintext
    if count < 0 or count > len(plaintexts) * per:
        raise PackingError(f"asked for {count} slots from {len(plaintexts)} plaintexts")
    width = per * layout.slot_bytes
    buf = bytearray(len(plaintexts) * width)
    for i, p in enumerate(plaintexts):
        if p < 0 or p.bit_length() > 8 * width:
            raise PackingError(f"plaintext {i} exceeds its {per} slots: a slot overflowed")
        buf[i * width : (i + 1) * width] = p.to_bytes(width, "little")
    raw = np.frombuffer(bytes(buf), dtype=np.uint8).reshape(-1, layout.slot_bytes)
    wide = np.zeros((raw.shape[0], 8), dtype=np.uint8)
    wide[:, : layout.slot_bytes] = raw
    slots = wide.view("<u8").ravel()
    if slots[count:].any():
        raise PackingError("a padding slot is not zero: the plaintext was not produced by pack")
    return slots[:count].astype(np.uint64)
