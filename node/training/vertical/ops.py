"""The arithmetic the protocol runs on residues: Paillier ciphertexts, or the plaintext twin.

Both implementations expose the same operations on vectors of "cells" so the roles are written
once. ``PaillierOps`` works on ciphertexts under the arbiter's public key; ``PlainOps`` (the
insecure twin, for benchmarks and equivalence tests) works on the plaintext residues
themselves, modulo a fixed 512-bit modulus, so both runs compute bit-identical integers.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from concurrent.futures import Executor

import numpy as np
from numpy.typing import NDArray

from node.crypto.paillier import (
    PrivateKey,
    PublicKey,
    ciphertexts_from_bytes,
    ciphertexts_to_bytes,
    decrypt_many,
    encrypt_many,
    weighted_sums,
)
from node.crypto.paillier.exceptions import InvalidCiphertext
from node.training.vertical import wire
from node.training.vertical.exceptions import MalformedMessage

PLAIN_MODULUS = (1 << 512) - 569
"""A 512-bit prime for the twin: large enough that no gradient wraps, like a Paillier ``n``."""


def _weighted_sums_task(n: int, cs: list[int], scalars: NDArray[np.int64]) -> list[int]:
    return weighted_sums(PublicKey(n), cs, scalars)


def _scale_task(n: int, cs: list[int], scalars: list[int]) -> list[int]:
    pk = PublicKey(n)
    return [pk.mul_scalar(c, k) for c, k in zip(cs, scalars, strict=True)]


def _rerandomize_task(n: int, cs: list[int]) -> list[int]:
    pk = PublicKey(n)
    return [pk.rerandomize(c) for c in cs]


def _chunks(count: int, pool: Executor | None) -> list[slice]:
    parts = 1 if pool is None or count < 512 else 4
    step = -(-count // parts)
    return [slice(i, i + step) for i in range(0, count, step)]


class CellOps(ABC):
    """Vector operations on the protocol's cells (ciphertexts or plaintext residues)."""

    modulus: int
    """The plaintext modulus: signed results are read modulo it."""

    @abstractmethod
    def encrypt(self, values: list[int], pool: Executor | None) -> list[int]:
        """Fresh cells for signed integers."""

    @abstractmethod
    def add_plain(self, cells: list[int], values: list[int]) -> list[int]:
        """Add signed plaintext integers cell-wise (no fresh randomness)."""

    @abstractmethod
    def add(self, left: list[int], right: list[int]) -> list[int]:
        """Add two cell vectors."""

    @abstractmethod
    def inner(
        self, cells: list[int], scalars: NDArray[np.int64], pool: Executor | None
    ) -> list[int]:
        """Column-wise sums ``sum_i scalars[i, j] * cells[i]``."""

    @abstractmethod
    def scale(self, cells: list[int], scalars: list[int], pool: Executor | None) -> list[int]:
        """Multiply each cell by its own small non-negative integer."""

    @abstractmethod
    def rerandomize(self, cells: list[int], pool: Executor | None) -> list[int]:
        """Fresh randomness for every cell (same plaintexts)."""

    @abstractmethod
    def mask(self, cells: list[int], masks: list[int]) -> list[int]:
        """Add uniform masks and re-randomise, so the result can go to the key holder."""

    @abstractmethod
    def dump(self, cells: list[int]) -> bytes:
        """Serialize for the wire."""

    @abstractmethod
    def load(self, blob: bytes, sender: str, topic: str, expected: int) -> list[int]:
        """Parse and validate ``expected`` cells."""

    def random_masks(self, count: int) -> list[int]:
        """Masks uniform in ``Z_modulus``: the masked value is uniform whatever it hides."""
        return [secrets.randbelow(self.modulus) for _ in range(count)]

    def signed(self, value: int) -> int:
        """Read a residue as a signed integer in ``(-modulus/2, modulus/2]``."""
        value %= self.modulus
        return value - self.modulus if value > self.modulus // 2 else value


class PaillierOps(CellOps):
    """Cells are Paillier ciphertexts under the arbiter's public key."""

    def __init__(self, public_key: PublicKey) -> None:
        self.pk = public_key
        self.modulus = public_key.n

    def encrypt(self, values: list[int], pool: Executor | None) -> list[int]:
        return encrypt_many(self.pk, values, pool=pool, chunk=max(256, len(values) // 4 + 1))

    def add_plain(self, cells: list[int], values: list[int]) -> list[int]:
        return [self.pk.add_plain(c, v) for c, v in zip(cells, values, strict=True)]

    def add(self, left: list[int], right: list[int]) -> list[int]:
        return [self.pk.add(a, b) for a, b in zip(left, right, strict=True)]

    def inner(
        self, cells: list[int], scalars: NDArray[np.int64], pool: Executor | None
    ) -> list[int]:
        columns = scalars.shape[1]
        if pool is None or columns < 2:
            return weighted_sums(self.pk, cells, scalars)
        groups = np.array_split(np.arange(columns), min(columns, 4))
        futures = [
            pool.submit(_weighted_sums_task, self.pk.n, cells, np.ascontiguousarray(scalars[:, g]))
            for g in groups
            if len(g)
        ]
        return [c for future in futures for c in future.result()]

    def scale(self, cells: list[int], scalars: list[int], pool: Executor | None) -> list[int]:
        parts = _chunks(len(cells), pool)
        if pool is None or len(parts) == 1:
            return _scale_task(self.pk.n, cells, scalars)
        futures = [pool.submit(_scale_task, self.pk.n, cells[p], scalars[p]) for p in parts]
        return [c for future in futures for c in future.result()]

    def rerandomize(self, cells: list[int], pool: Executor | None) -> list[int]:
        parts = _chunks(len(cells), pool)
        if pool is None or len(parts) == 1:
            return _rerandomize_task(self.pk.n, cells)
        futures = [pool.submit(_rerandomize_task, self.pk.n, cells[p]) for p in parts]
        return [c for future in futures for c in future.result()]

    def mask(self, cells: list[int], masks: list[int]) -> list[int]:
        return [
            self.pk.rerandomize(self.pk.add_plain(c, m)) for c, m in zip(cells, masks, strict=True)
        ]

    def dump(self, cells: list[int]) -> bytes:
        return wire.encode_cipher(ciphertexts_to_bytes(self.pk, cells), len(cells))

    def load(self, blob: bytes, sender: str, topic: str, expected: int) -> list[int]:
        body = wire.decode_cipher(blob, sender, topic, expected)
        try:
            cells = ciphertexts_from_bytes(self.pk, body)
        except InvalidCiphertext as exc:
            raise MalformedMessage(sender, topic, exc.reason) from None
        if len(cells) != expected:
            raise MalformedMessage(sender, topic, f"holds {len(cells)} ciphertexts")
        return cells


class PlainOps(CellOps):
    """The insecure twin: cells are the plaintext residues modulo ``PLAIN_MODULUS``."""

    def __init__(self) -> None:
        self.modulus = PLAIN_MODULUS

    def encrypt(self, values: list[int], pool: Executor | None) -> list[int]:
        return [v % self.modulus for v in values]

    def add_plain(self, cells: list[int], values: list[int]) -> list[int]:
        return [(c + v) % self.modulus for c, v in zip(cells, values, strict=True)]

    def add(self, left: list[int], right: list[int]) -> list[int]:
        return [(a + b) % self.modulus for a, b in zip(left, right, strict=True)]

    def inner(
        self, cells: list[int], scalars: NDArray[np.int64], pool: Executor | None
    ) -> list[int]:
        signed = [self.signed(c) for c in cells]
        return [
            sum(v * int(k) for v, k in zip(signed, scalars[:, j].tolist(), strict=True))
            % self.modulus
            for j in range(scalars.shape[1])
        ]

    def scale(self, cells: list[int], scalars: list[int], pool: Executor | None) -> list[int]:
        return [c * k % self.modulus for c, k in zip(cells, scalars, strict=True)]

    def rerandomize(self, cells: list[int], pool: Executor | None) -> list[int]:
        return list(cells)

    def mask(self, cells: list[int], masks: list[int]) -> list[int]:
        return self.add_plain(cells, masks)

    def dump(self, cells: list[int]) -> bytes:
        return wire.encode_ints(cells, self.modulus)

    def load(self, blob: bytes, sender: str, topic: str, expected: int) -> list[int]:
        return wire.decode_ints(blob, self.modulus, sender, topic, expected)


class Decryptor:
    """The arbiter's side: opens masked cells (Paillier) or passes them through (twin)."""

    def __init__(self, private_key: PrivateKey | None) -> None:
        self.sk = private_key

    def open(self, cells: list[int], pool: Executor | None) -> list[int]:
        """Plaintext residues of ``cells``, in order."""
        if self.sk is None:
            return list(cells)
        return decrypt_many(self.sk, cells, pool=pool)
