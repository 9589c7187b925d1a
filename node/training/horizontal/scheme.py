"""How contributions are sealed by banks, added by the aggregator and opened by banks.

``SumScheme`` is the one seam between the protocol and the cryptography: the bank and
aggregator roles never touch a key or a ciphertext directly. ``PaillierScheme`` (in
``paillier_scheme.py``) is what jobs use; ``PlainScheme`` sends the same packed integers in
the clear and exists only to measure what encryption costs (``encryption: none``).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import Final

from node.training.cells import Cells, Residues, residues_of
from node.training.horizontal.exceptions import InvalidContribution

CHUNK_ITEMS: Final = 4096
"""Ciphertexts per message: 4096 x 512 bytes (2048-bit key) = 2 MiB, under the 4 MiB cap."""


def fingerprint_of(public_bytes: bytes) -> str:
    """A short, stable identifier of a public key, sent with every contribution."""
    return hashlib.sha256(public_bytes).hexdigest()[:32]


class SumScheme(ABC):
    """Additively homomorphic sealing of lists of non-negative integers (packed plaintexts).

    Constraints every implementation keeps:

    - ``add(load(seal(a)), load(seal(b)))`` opens to ``[x + y for x, y in zip(a, b)]``.
    - ``load`` MUST reject anything ``seal`` could not have produced under this key with
      ``InvalidContribution`` and MUST NOT return partially parsed lists.
    - An instance built from the public key alone (the aggregator's) MUST NOT open.
    """

    name: str
    fingerprint: str

    @abstractmethod
    def seal(self, plaintexts: list[int]) -> list[bytes]:
        """Encrypt and serialize ``plaintexts`` into chunks of at most ``CHUNK_ITEMS``."""

    @abstractmethod
    def load(self, blobs: list[bytes], count: int) -> Cells:
        """Parse and check chunks from a peer; exactly ``count`` items are expected.

        Raises
        ------
        InvalidContribution
            Wrong item count, an item out of range, or bytes that do not parse.
        """

    @abstractmethod
    def dump(self, items: Cells) -> list[bytes]:
        """Serialize already-sealed items (the aggregator's sum) into chunks."""

    @abstractmethod
    def add(self, left: Cells, right: Cells) -> Cells:
        """Item-wise homomorphic addition (refuses items sealed under another key)."""

    @abstractmethod
    def open(self, items: Cells) -> list[int]:
        """Decrypt items into plaintexts (needs the private key)."""

    def _check_count(self, items: Cells, count: int) -> None:
        if len(items) != count:
            raise InvalidContribution(f"{len(items)} items, expected {count}")


class PlainScheme(SumScheme):
    """No encryption: fixed-width big-endian integers. Benchmarks only — it hides nothing."""

    name = "none"

    def __init__(self, key_bits: int) -> None:
        self.width = (key_bits + 7) // 8
        self.limit = 1 << (key_bits - 1)
        self.modulus = 1 << key_bits  # sums of packed plaintexts stay below it (no reduction)
        self.fingerprint = fingerprint_of(b"plain:%d" % key_bits)

    def seal(self, plaintexts: list[int]) -> list[bytes]:
        return self.dump(Residues(self.modulus, tuple(plaintexts)))

    def dump(self, items: Cells) -> list[bytes]:
        values = residues_of(items, self.modulus).values
        return [
            b"".join(v.to_bytes(self.width, "big") for v in values[i : i + CHUNK_ITEMS])
            for i in range(0, len(values), CHUNK_ITEMS)
        ]

    def load(self, blobs: list[bytes], count: int) -> Residues:
        items: list[int] = []
        for blob in blobs:
            if len(blob) % self.width:
                raise InvalidContribution(f"chunk length is not a multiple of {self.width}")
            items += [
                int.from_bytes(blob[i : i + self.width], "big")
                for i in range(0, len(blob), self.width)
            ]
        loaded = Residues(self.modulus, tuple(items))
        self._check_count(loaded, count)
        if any(v >= self.limit for v in items):
            raise InvalidContribution("an item is larger than any packed plaintext")
        return loaded

    def add(self, left: Cells, right: Cells) -> Residues:
        pairs = zip(
            residues_of(left, self.modulus).values,
            residues_of(right, self.modulus).values,
            strict=True,
        )
        return Residues(self.modulus, tuple([a + b for a, b in pairs]))

    def open(self, items: Cells) -> list[int]:
        return list(residues_of(items, self.modulus).values)
