"""The bit budget: how a row's (g, h) pair and many histogram bin sums share one plaintext.

For one tree the label holder encrypts ``rows`` pairs, each as one plaintext

    m_i = gq_i * 2^H + hq_i          gq_i in [-2^f, 2^f], hq_i in [0, 2^(f-2)]

(``f`` = ``frac_bits``, ``H`` = ``h_bits``). A feature holder multiplies the ciphertexts of the
rows in a bin, which adds their plaintexts: a bin over ``k <= rows`` rows holds
``G * 2^H + H_sum`` with ``|G| <= k 2^f`` and ``0 <= H_sum <= k 2^(f-2) < 2^H``, so the hessian
sum never carries into the gradient part. The holder then adds the public offset
``O = rows * 2^f`` to the gradient part, making every bin value

    v = (G + O) * 2^H + H_sum,     0 <= G + O <= 2 rows 2^f < 2^Gb,   so   0 <= v < 2^(Gb + H)

a non-negative integer of at most ``slot_bits = Gb + H`` bits (``Gb`` = ``g_bits``). It packs
``per_plaintext = (key_bits - 1) // slot_bits`` bin values into one plaintext,
``P = sum_j v_j 2^(j slot_bits) < 2^(key_bits - 1) <= n``: no slot overflows into the next and
the packed plaintext never wraps modulo ``n``. The label holder decrypts ``P``, reads each slot
and subtracts ``O``. With ``f = 20``, 20,000 rows and a 2048-bit key, a slot is 69 bits and one
ciphertext carries 29 bin sums. See docs/protocols/secureboost.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from node.training.vertical.exceptions import MalformedMessage


class LayoutError(ValueError):
    """The key is too short for even one bin sum of this many rows at this precision."""


@dataclass(frozen=True)
class GHLayout:
    """The packing of one tree: ``rows`` encrypted pairs at ``frac_bits``, ``key_bits`` key."""

    frac_bits: int
    rows: int
    key_bits: int

    def __post_init__(self) -> None:
        if self.rows < 1 or self.frac_bits < 2:
            raise LayoutError("a layout needs at least one row and two fractional bits")
        if self.per_plaintext < 1:
            raise LayoutError(
                f"a {self.key_bits}-bit key cannot hold one {self.slot_bits}-bit bin sum; "
                "use a longer key or fewer gh_frac_bits"
            )

    @property
    def h_bits(self) -> int:
        """Width of the hessian part: the largest hessian sum is ``rows 2^(f-2)``."""
        return (self.rows << (self.frac_bits - 2)).bit_length()

    @property
    def g_bits(self) -> int:
        """Width of the offset gradient part: ``G + O`` is at most ``2 rows 2^f``."""
        return (2 * self.rows << self.frac_bits).bit_length()

    @property
    def slot_bits(self) -> int:
        return self.g_bits + self.h_bits

    @property
    def per_plaintext(self) -> int:
        """Bin sums per plaintext, keeping every packed plaintext below ``2^(key_bits-1)``."""
        return (self.key_bits - 1) // self.slot_bits

    @property
    def offset(self) -> int:
        """``O``: added to each bin's gradient part so it is never negative."""
        return self.rows << self.frac_bits

    def row_values(self, gq: NDArray[np.int64], hq: NDArray[np.int64]) -> list[int]:
        """The plaintext of every row: ``gq * 2^H + hq`` (negative when ``gq`` is)."""
        shift = self.h_bits
        return [(g << shift) + h for g, h in zip(gq.tolist(), hq.tolist(), strict=True)]

    def plaintexts_for(self, slots: int) -> int:
        return -(-slots // self.per_plaintext)

    def packed_offset(self, slots: int) -> int:
        """The offset of ``slots`` bin values packed into one plaintext."""
        one = self.offset << self.h_bits
        return sum(one << (j * self.slot_bits) for j in range(slots))

    def unpack(
        self, plaintexts: list[int], slots: int, sender: str, topic: str
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """The gradient and hessian sums of ``slots`` bins packed into ``plaintexts``.

        Raises
        ------
        MalformedMessage
            The count does not match, or a plaintext exceeds its slots (it cannot have been
            produced by the protocol from rows of this tree).
        """
        if len(plaintexts) != self.plaintexts_for(slots):
            raise MalformedMessage(sender, topic, f"{len(plaintexts)} packed values")
        width, h_bits, per = self.slot_bits, self.h_bits, self.per_plaintext
        slot_mask, h_mask = (1 << width) - 1, (1 << h_bits) - 1
        g = np.empty(slots, dtype=np.int64)
        h = np.empty(slots, dtype=np.int64)
        for i, value in enumerate(plaintexts):
            used = min(per, slots - i * per)
            if value < 0 or value.bit_length() > used * width:
                raise MalformedMessage(sender, topic, f"packed value {i} exceeds its slots")
            for j in range(used):
                v = (value >> (j * width)) & slot_mask
                g[i * per + j] = (v >> h_bits) - self.offset
                h[i * per + j] = v & h_mask
        if (np.abs(g) > self.offset).any() or (h > (self.rows << (self.frac_bits - 2))).any():
            raise MalformedMessage(sender, topic, "a bin sum is out of range")
        return g, h
