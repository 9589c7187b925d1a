"""How a party's masked gradient is packed into few ciphertexts for the key holder.

A batch gradient component is ``G_j = sum_i X_ij D_i``: features carry 8 fractional bits and
are below ``2**7`` in magnitude (``|X| < 2**15``), residuals carry 34 fractional bits with
``|D| < 2**40`` (partial logits below ``MAX_ABS_PARTIAL``, slopes below 1/4), and a batch holds
at most 8,000 < ``2**13`` rows, so ``|G_j| < 2**68``. Each component gets a signed slot of
``SLOT_BITS`` bits, and ``(key_bits - 2) // SLOT_BITS`` slots share one plaintext (28 for a
2048-bit key), so the whole packed value stays below ``n / 2`` and reads back as a signed
integer. The key holder decrypts one ciphertext per 28 weights instead of one per weight.
"""

from __future__ import annotations

from typing import Final

SLOT_BITS: Final = 72
MAX_ABS_PARTIAL: Final = 64.0
"""Partial logits beyond this mean the model diverged; a party refuses to encode them (its
slot arithmetic assumes ``|h| < 2**6``)."""


def slots_per_cipher(key_bits: int) -> int:
    """Gradient components per packed plaintext for a key of ``key_bits`` bits."""
    return (key_bits - 2) // SLOT_BITS


def cipher_count(width: int, key_bits: int) -> int:
    """Packed ciphertexts a party with ``width`` weights sends per batch."""
    per = slots_per_cipher(key_bits)
    return -(-width // per)


def unpack(packed: list[int], width: int, key_bits: int) -> list[int]:
    """The ``width`` signed components of signed packed plaintexts (inverse of the packing)."""
    per = slots_per_cipher(key_bits)
    half = 1 << (SLOT_BITS - 1)
    out: list[int] = []
    for value in packed:
        for _ in range(min(per, width - len(out))):
            slot = value & ((1 << SLOT_BITS) - 1)
            if slot >= half:
                slot -= 1 << SLOT_BITS
            out.append(slot)
            value = (value - slot) >> SLOT_BITS
    return out
