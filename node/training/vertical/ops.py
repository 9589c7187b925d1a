"""The arithmetic the protocol runs on residues: Paillier ciphertexts, or the plaintext twin.

Both implementations expose the same operations on vectors of "cells" so the roles are written
once. ``PaillierOps`` works on ciphertexts under the arbiter's public key; ``PlainOps`` (the
insecure twin, for benchmarks and equivalence tests) works on the plaintext residues
themselves, modulo a prime just above ``2**key_bits``, so both runs compute bit-identical
integers: every value the protocol forms stays far below either modulus.
"""

from __future__ import annotations

import functools
import secrets
from abc import ABC, abstractmethod
from concurrent.futures import Executor

import gmpy2
import numpy as np
from numpy.typing import NDArray

from node.crypto.paillier import (
    PrivateKey,
    PublicKey,
    RandomnessReserve,
    ciphertexts_from_bytes,
    ciphertexts_to_bytes,
    decrypt_many,
    encrypt_many,
    encrypt_with,
    weighted_sums,
)
from node.crypto.paillier.exceptions import InvalidCiphertext
from node.training.vertical import wire
from node.training.vertical.exceptions import MalformedMessage

PARALLEL_FROM = 256
"""Below this many cells a vector operation runs in the calling process (pickling would cost
more than the arithmetic)."""


@functools.cache
def plain_modulus(key_bits: int) -> int:
    """The twin's modulus: the first prime above ``2**key_bits`` (larger than any key's ``n``)."""
    return int(gmpy2.next_prime(1 << key_bits))


def _weighted_sums_task(n: int, cs: list[int], scalars: NDArray[np.int64]) -> list[int]:
    return weighted_sums(PublicKey(n), cs, scalars)


def _affine_task(
    n: int, cs: list[int], scalars: list[int], values: list[int], fresh: list[int] | None
) -> list[int]:
    """``E(k_i m_i + v_i)`` per cell: ``c^k (1 + v n)``, times a fresh obfuscator if given."""
    pk = PublicKey(n)
    nsquare = gmpy2.mpz(pk.nsquare)
    out = [
        gmpy2.powmod(c, k, nsquare) * pk.raw_plain(v) % nsquare
        for c, k, v in zip(cs, scalars, values, strict=True)
    ]
    if fresh is None:
        return [int(c) for c in out]
    return [int(c * r % nsquare) for c, r in zip(out, fresh, strict=True)]


def _rerandomize_task(n: int, cs: list[int]) -> list[int]:
    pk = PublicKey(n)
    return [pk.rerandomize(c) for c in cs]


def _chunks(count: int, pool: Executor | None, parts: int = 4) -> list[slice]:
    parts = 1 if pool is None or count < PARALLEL_FROM else parts
    step = max(1, -(-count // parts))
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
    def affine(
        self,
        cells: list[int],
        scalars: list[int],
        values: list[int],
        fresh: bool,
        pool: Executor | None,
    ) -> list[int]:
        """Cells of ``scalars[i] * m_i + values[i]`` (``scalars`` small and non-negative);
        with ``fresh``, every result is re-randomised."""

    @abstractmethod
    def shift(self, cell: int, bits: int) -> int:
        """Multiply one cell by ``2**bits``."""

    @abstractmethod
    def prefetch(self, count: int, pool: Executor | None) -> None:
        """Start drawing randomness for ``count`` fresh cells on ``pool`` (no-op for the twin).

        A party calls this as soon as it knows what it will encrypt next, so the draws run
        while it waits for its peers; ``encrypt``, ``affine`` and ``mask`` then use them.
        """

    @abstractmethod
    def close(self) -> None:
        """Drop randomness drawn ahead and not used (the run ended)."""

    @abstractmethod
    def mask(self, cells: list[int], masks: list[int]) -> list[int]:
        """Add uniform masks and re-randomise, so the result can go to the key holder."""

    @abstractmethod
    def dump(self, cells: list[int]) -> bytes:
        """Serialize for the wire."""

    @abstractmethod
    def load(
        self, blob: bytes, sender: str, topic: str, expected: int, *, check_units: bool = True
    ) -> list[int]:
        """Parse and validate ``expected`` cells.

        ``check_units=False`` is for data parties: they never decrypt, and everything they
        derive from a received cell reaches the key holder, which checks every ciphertext it
        decrypts (see ``ciphertexts_from_bytes``).
        """

    def pack(self, cells: list[int], slot_bits: int, per_cell: int) -> list[int]:
        """Pack cells ``c_0, c_1, ...`` holding small signed values into fewer cells.

        Packed cell ``k`` holds ``sum_j v_(k*per_cell + j) * 2**(slot_bits * j)`` (Horner's
        rule: ``slot_bits`` doublings per slot). Requires every ``|v| < 2**(slot_bits - 1)``
        and ``per_cell * slot_bits`` well below the modulus' bit length.
        """
        packed = []
        for start in range(0, len(cells), per_cell):
            group = cells[start : start + per_cell]
            acc = group[-1]
            for cell in reversed(group[:-1]):
                acc = self.add([self.shift(acc, slot_bits)], [cell])[0]
            packed.append(acc)
        return packed

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
        self._reserve: RandomnessReserve | None = None

    def prefetch(self, count: int, pool: Executor | None) -> None:
        if pool is None or count <= 0:
            return
        if self._reserve is None:
            self._reserve = RandomnessReserve(self.pk, pool)
        self._reserve.prefetch(count)

    def close(self) -> None:
        if self._reserve is not None:
            self._reserve.close()

    def _fresh(self, count: int) -> list[int] | None:
        """``count`` obfuscators drawn ahead, or ``None`` when fewer are queued."""
        if self._reserve is None or self._reserve.queued < count:
            return None
        return self._reserve.take(count)

    def encrypt(self, values: list[int], pool: Executor | None) -> list[int]:
        fresh = self._fresh(len(values))
        if fresh is not None:
            return encrypt_with(self.pk, values, fresh)
        return encrypt_many(self.pk, values, pool=pool, chunk=max(128, len(values) // 4 + 1))

    def add_plain(self, cells: list[int], values: list[int]) -> list[int]:
        return [self.pk.add_plain(c, v) for c, v in zip(cells, values, strict=True)]

    def add(self, left: list[int], right: list[int]) -> list[int]:
        return [self.pk.add(a, b) for a, b in zip(left, right, strict=True)]

    def inner(
        self, cells: list[int], scalars: NDArray[np.int64], pool: Executor | None
    ) -> list[int]:
        columns = scalars.shape[1]
        if pool is None or columns < 2 or len(cells) < PARALLEL_FROM:
            return weighted_sums(self.pk, cells, scalars)
        groups = np.array_split(np.arange(columns), min(columns, 4))
        futures = [
            pool.submit(_weighted_sums_task, self.pk.n, cells, np.ascontiguousarray(scalars[:, g]))
            for g in groups
            if len(g)
        ]
        return [c for future in futures for c in future.result()]

    def affine(
        self,
        cells: list[int],
        scalars: list[int],
        values: list[int],
        fresh: bool,
        pool: Executor | None,
    ) -> list[int]:
        residues = [self.pk.to_residue(v, i) for i, v in enumerate(values)]
        drawn = self._fresh(len(cells)) if fresh else None
        parts = _chunks(len(cells), pool)
        if pool is None or len(parts) == 1:
            out = _affine_task(self.pk.n, cells, scalars, residues, drawn)
        else:
            futures = [
                pool.submit(
                    _affine_task,
                    self.pk.n,
                    cells[p],
                    scalars[p],
                    residues[p],
                    None if drawn is None else drawn[p],
                )
                for p in parts
            ]
            out = [c for future in futures for c in future.result()]
        if fresh and drawn is None:
            return self._rerandomize(out, pool)
        return out

    def shift(self, cell: int, bits: int) -> int:
        return self.pk.mul_scalar(cell, 1 << bits)

    def _rerandomize(self, cells: list[int], pool: Executor | None) -> list[int]:
        parts = _chunks(len(cells), pool)
        if pool is None or len(parts) == 1:
            return _rerandomize_task(self.pk.n, cells)
        futures = [pool.submit(_rerandomize_task, self.pk.n, cells[p]) for p in parts]
        return [c for future in futures for c in future.result()]

    def mask(self, cells: list[int], masks: list[int]) -> list[int]:
        masked = [self.pk.add_plain(c, m) for c, m in zip(cells, masks, strict=True)]
        drawn = self._fresh(len(masked))
        if drawn is None:
            return [self.pk.rerandomize(c) for c in masked]
        nsquare = self.pk.nsquare
        return [c * r % nsquare for c, r in zip(masked, drawn, strict=True)]

    def dump(self, cells: list[int]) -> bytes:
        return wire.encode_cipher(ciphertexts_to_bytes(self.pk, cells), len(cells))

    def load(
        self, blob: bytes, sender: str, topic: str, expected: int, *, check_units: bool = True
    ) -> list[int]:
        body = wire.decode_cipher(blob, sender, topic, expected)
        try:
            cells = ciphertexts_from_bytes(self.pk, body, check_units=check_units)
        except InvalidCiphertext as exc:
            raise MalformedMessage(sender, topic, exc.reason) from None
        if len(cells) != expected:
            raise MalformedMessage(sender, topic, f"holds {len(cells)} ciphertexts")
        return cells


class PlainOps(CellOps):
    """The insecure twin: cells are the plaintext residues modulo ``plain_modulus(key_bits)``."""

    def __init__(self, key_bits: int) -> None:
        self.modulus = plain_modulus(key_bits)

    def prefetch(self, count: int, pool: Executor | None) -> None:
        return None  # no randomness

    def close(self) -> None:
        return None

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

    def affine(
        self,
        cells: list[int],
        scalars: list[int],
        values: list[int],
        fresh: bool,
        pool: Executor | None,
    ) -> list[int]:
        return [(c * k + v) % self.modulus for c, k, v in zip(cells, scalars, values, strict=True)]

    def shift(self, cell: int, bits: int) -> int:
        return (cell << bits) % self.modulus

    def mask(self, cells: list[int], masks: list[int]) -> list[int]:
        return self.add_plain(cells, masks)

    def dump(self, cells: list[int]) -> bytes:
        return wire.encode_ints(cells, self.modulus)

    def load(
        self, blob: bytes, sender: str, topic: str, expected: int, *, check_units: bool = True
    ) -> list[int]:
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
