"""What a bank's contribution vector holds, slot by slot, and how a decrypted sum is read back.

Two vectors travel each round (see ``docs/protocols/horizontal.md``):

- the **update**: ``n_i * (q_j + Q)`` for every model parameter ``j`` (``q`` the clipped,
  quantized change of the weights, ``Q`` the offset), then ``n_i`` itself. Summed over the
  banks that reported, the last slot is ``N = sum n_i`` and each parameter slot minus
  ``Q*N`` is ``sum n_i q_ij`` — exactly the FedAvg numerator, so the weights cover precisely
  the banks that reported;
- the **evaluation**: per split, positives and negatives per score bin, the fixed-point loss
  sum split into limbs, the example count, and two contributor counters.

Both are packed with ``node.crypto.paillier.packing`` into slots wide enough for the sum of
all banks of the job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from node.crypto.paillier.packing import (
    PackingError,
    SlotLayout,
    from_offset,
    layout_for,
    pack,
    quant_max,
    quantize,
    to_offset,
    unpack,
)
from node.training.horizontal.trainer import EvalCounts

LOSS_FRAC_BITS = 8
MAX_EXAMPLE_LOSS = 17.0
"""Per-example log-loss is bounded by -log(1e-7) ≈ 16.1 once probabilities are clipped."""


class DecodeError(ValueError):
    """A decrypted sum is outside what well-formed contributions can produce."""


@dataclass(frozen=True)
class UpdateCodec:
    """Encodes one bank's weighted, clipped, quantized update; decodes the federation's sum."""

    n_params: int
    bound: float
    frac_bits: int
    max_weight: int
    parties: int
    key_bits: int
    layout: SlotLayout = field(init=False)

    def __post_init__(self) -> None:
        per_party = max(2 * self.offset * self.max_weight, self.max_weight)
        object.__setattr__(self, "layout", layout_for(per_party, self.parties, self.key_bits))

    @property
    def offset(self) -> int:
        return quant_max(self.bound, self.frac_bits)

    @property
    def slots(self) -> int:
        return self.n_params + 1

    @property
    def plaintexts(self) -> int:
        return self.layout.plaintexts_for(self.slots)

    def encode(self, delta: NDArray[np.float64], weight: int) -> list[int]:
        """Plaintexts for ``weight`` examples' worth of ``delta`` (raises ``PackingError``)."""
        if delta.size != self.n_params:
            raise PackingError(f"update has {delta.size} values, expected {self.n_params}")
        if not 1 <= weight <= self.max_weight:
            raise PackingError(
                f"sample count outside 1..{self.max_weight}; raise max_samples_per_bank"
            )
        slots = to_offset(quantize(delta, self.bound, self.frac_bits), self.offset, weight)
        return pack(np.append(slots, np.uint64(weight)), self.layout)

    def decode(self, plaintexts: list[int]) -> tuple[NDArray[np.float64], int]:
        """The weighted mean update and the total weight ``N`` of the banks summed.

        Raises
        ------
        DecodeError
            A slot overflowed or holds a value no set of valid contributions can sum to.
        """
        try:
            sums = unpack(plaintexts, self.layout, self.slots)
        except PackingError as exc:
            raise DecodeError(exc.problem) from None
        total = int(sums[-1])
        if not 1 <= total <= self.parties * self.max_weight:
            raise DecodeError("the total sample count is out of range")
        if int(sums[:-1].max(initial=0)) > 2 * self.offset * total:
            raise DecodeError("an update slot exceeds what the reported sample count allows")
        numer = from_offset(sums[:-1], self.offset * total)
        return numer.astype(np.float64) / (float(1 << self.frac_bits) * total), total


@dataclass(frozen=True)
class EvalCodec:
    """Encodes per-split evaluation counts; decodes the summed counts of the federation."""

    bins: int
    max_count: int
    parties: int
    key_bits: int
    splits: tuple[str, ...] = ("val",)
    layout: SlotLayout = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "layout", layout_for(self.limb_base - 1, self.parties, self.key_bits)
        )

    @property
    def limb_base(self) -> int:
        return 1 << self.max_count.bit_length()

    @property
    def loss_limbs(self) -> int:
        loss_max = int(self.max_count * MAX_EXAMPLE_LOSS) << LOSS_FRAC_BITS
        bits = self.max_count.bit_length()
        return -(-loss_max.bit_length() // bits)

    @property
    def block(self) -> int:
        return 2 * self.bins + self.loss_limbs + 3

    @property
    def slots(self) -> int:
        return self.block * len(self.splits)

    @property
    def plaintexts(self) -> int:
        return self.layout.plaintexts_for(self.slots)

    def _block(self, counts: EvalCounts | None) -> NDArray[np.uint64]:
        out = np.zeros(self.block, dtype=np.uint64)
        if counts is None:
            return out
        if not 0 <= counts.n <= self.max_count:
            raise PackingError("evaluation count outside 0..max_samples_per_bank")
        has_hist = counts.pos.size > 0
        if has_hist:
            if counts.pos.size != self.bins or counts.neg.size != self.bins:
                raise PackingError(f"histograms must have {self.bins} bins")
            if counts.pos.sum() + counts.neg.sum() > self.max_count:
                raise PackingError("histogram counts exceed max_samples_per_bank")
            out[: self.bins] = counts.pos
            out[self.bins : 2 * self.bins] = counts.neg
        loss = round(min(counts.loss_sum, counts.n * MAX_EXAMPLE_LOSS) * 2**LOSS_FRAC_BITS)
        for i in range(self.loss_limbs):
            out[2 * self.bins + i] = (loss // self.limb_base**i) % self.limb_base
        out[-3] = counts.n
        out[-2] = 1
        out[-1] = 1 if has_hist else 0
        return out

    def encode(self, per_split: dict[str, EvalCounts | None]) -> list[int]:
        """Plaintexts for this bank's counts on each split (``None``: split absent)."""
        slots = np.concatenate([self._block(per_split.get(s)) for s in self.splits])
        return pack(slots, self.layout)

    def decode(self, plaintexts: list[int]) -> dict[str, tuple[EvalCounts, int, int]]:
        """Per split: the summed counts, how many banks contributed, how many sent histograms.

        Raises
        ------
        DecodeError
            A slot overflowed or a counter exceeds the number of banks in the job.
        """
        try:
            sums = unpack(plaintexts, self.layout, self.slots)
        except PackingError as exc:
            raise DecodeError(exc.problem) from None
        out: dict[str, tuple[EvalCounts, int, int]] = {}
        for k, split in enumerate(self.splits):
            b = sums[k * self.block : (k + 1) * self.block].astype(object)
            contributors, with_hist = int(b[-2]), int(b[-1])
            if contributors > self.parties or with_hist > contributors:
                raise DecodeError("a contributor counter exceeds the number of banks")
            limbs = b[2 * self.bins : 2 * self.bins + self.loss_limbs]
            loss = sum(int(v) * self.limb_base**i for i, v in enumerate(limbs))
            pos = np.asarray(b[: self.bins], dtype=np.int64)
            neg = np.asarray(b[self.bins : 2 * self.bins], dtype=np.int64)
            if with_hist == 0:
                pos, neg = pos[:0], neg[:0]
            counts = EvalCounts(pos=pos, neg=neg, loss_sum=loss / 2**LOSS_FRAC_BITS, n=int(b[-3]))
            out[split] = (counts, contributors, with_hist)
        return out
