"""The arithmetic the protocol runs on residues: Paillier ciphertexts, or the plaintext twin.

Both implementations expose the same operations on vectors of cells (``node.training.cells``)
so the roles are written once. ``PaillierOps`` works on ``Ciphertexts`` under the arbiter's
public key and refuses any other (``KeyMismatch``); ``PlainOps`` (the insecure twin, for
benchmarks and equivalence tests) works on ``Residues``, the plaintexts themselves, modulo a
prime just above ``2**key_bits``, so both runs compute bit-identical integers: every value the
protocol forms stays far below either modulus. Worker tasks receive and return raw integers
(they pickle cheaply); the parent binds what comes back to the key.
"""

from __future__ import annotations

import functools
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor

import gmpy2
import numpy as np
from numpy.typing import NDArray

from node.crypto.paillier import (
    Ciphertext,
    Ciphertexts,
    PrivateKey,
    PublicKey,
    RandomnessReserve,
    as_ciphertexts,
    ciphertexts_from_bytes,
    ciphertexts_to_bytes,
    decrypt_many,
    encrypt_many,
    encrypt_with,
    weighted_sums,
)
from node.crypto.paillier.exceptions import InvalidCiphertext
from node.training.cells import Cells, Residues, ciphertexts_of, residues_of
from node.training.vertical import wire
from node.training.vertical.exceptions import MalformedMessage

PARALLEL_FROM = 256
"""Below this many cells a vector operation runs in the calling process (pickling would cost
more than the arithmetic)."""


@functools.cache
def plain_modulus(key_bits: int) -> int:
    """The twin's modulus: the first prime above ``2**key_bits`` (larger than any key's ``n``)."""
    return int(gmpy2.next_prime(1 << key_bits))


def _weighted_sums_task(
    n: int, cs: tuple[Ciphertext, ...], scalars: NDArray[np.int64]
) -> tuple[Ciphertext, ...]:
    return weighted_sums(Ciphertexts(PublicKey(n), cs), scalars).values


def _affine_task(
    n: int,
    cs: Sequence[int],
    scalars: Sequence[int],
    values: Sequence[int],
    fresh: Sequence[int] | None,
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


def _rerandomize_task(n: int, cs: tuple[Ciphertext, ...]) -> list[Ciphertext]:
    pk = PublicKey(n)
    return [pk.rerandomize(c) for c in cs]


def _chunks(count: int, pool: Executor | None, parts: int = 4) -> list[slice]:
    parts = 1 if pool is None or count < PARALLEL_FROM else parts
    step = max(1, -(-count // parts))
    return [slice(i, i + step) for i in range(0, count, step)]


class CellOps(ABC):
    """Vector operations on the protocol's cells (ciphertexts or plaintext residues).

    Every operation refuses cells that are not its own (another key, or the other kind) at run
    time; mypy refuses integer lists where cells belong.
    """

    modulus: int
    """The plaintext modulus: signed results are read modulo it."""

    @abstractmethod
    def encrypt(self, values: list[int], pool: Executor | None) -> Cells:
        """Fresh cells for signed integers."""

    @abstractmethod
    def add_plain(self, cells: Cells, values: Sequence[int]) -> Cells:
        """Add signed plaintext integers cell-wise (no fresh randomness)."""

    @abstractmethod
    def add(self, left: Cells, right: Cells) -> Cells:
        """Add two cell vectors."""

    @abstractmethod
    def inner(self, cells: Cells, scalars: NDArray[np.int64], pool: Executor | None) -> Cells:
        """Column-wise sums ``sum_i scalars[i, j] * cells[i]``."""

    @abstractmethod
    def affine(
        self,
        cells: Cells,
        scalars: list[int],
        values: list[int],
        fresh: bool,
        pool: Executor | None,
    ) -> Cells:
        """Cells of ``scalars[i] * m_i + values[i]`` (``scalars`` small and non-negative);
        with ``fresh``, every result is re-randomised."""

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
    def mask(self, cells: Cells, masks: list[int]) -> Cells:
        """Add uniform masks and re-randomise, so the result can go to the key holder."""

    @abstractmethod
    def dump(self, cells: Cells) -> bytes:
        """Serialize for the wire."""

    @abstractmethod
    def load(
        self, blob: bytes, sender: str, topic: str, expected: int, *, check_units: bool = True
    ) -> Cells:
        """Parse and validate ``expected`` cells.

        ``check_units=False`` is for data parties: they never decrypt, and everything they
        derive from a received cell reaches the key holder, which checks every ciphertext it
        decrypts (see ``ciphertexts_from_bytes``).
        """

    @abstractmethod
    def join(self, parts: Iterable[Cells]) -> Cells:
        """Concatenate cell vectors, in order."""

    @abstractmethod
    def _values(self, cells: Cells, operation: str) -> Sequence[int]:
        """The raw residues of cells that are this object's own (refuses any other)."""

    @abstractmethod
    def _wrap(self, values: Iterable[int]) -> Cells:
        """Bind raw residues computed by this object's arithmetic."""

    @abstractmethod
    def _shift_one(self, value: int, bits: int) -> int:
        """One raw cell times ``2**bits``."""

    @abstractmethod
    def _add_one(self, left: int, right: int) -> int:
        """The raw sum of two raw cells."""

    def pack(self, cells: Cells, slot_bits: int, per_cell: int) -> Cells:
        """Pack cells ``c_0, c_1, ...`` holding small signed values into fewer cells.

        Packed cell ``k`` holds ``sum_j v_(k*per_cell + j) * 2**(slot_bits * j)`` (Horner's
        rule: ``slot_bits`` doublings per slot). Requires every ``|v| < 2**(slot_bits - 1)``
        and ``per_cell * slot_bits`` well below the modulus' bit length.
        """
        values = self._values(cells, "pack")
        packed = []
        for start in range(0, len(values), per_cell):
            group = values[start : start + per_cell]
            acc = group[-1]
            for cell in reversed(group[:-1]):
                acc = self._add_one(self._shift_one(acc, slot_bits), cell)
            packed.append(acc)
        return self._wrap(packed)

    def random_masks(self, count: int) -> list[int]:
        """Masks uniform in ``Z_modulus``: the masked value is uniform whatever it hides."""
        return [secrets.randbelow(self.modulus) for _ in range(count)]

    def signed(self, value: int) -> int:
        """Read a residue as a signed integer in ``(-modulus/2, modulus/2]``."""
        value %= self.modulus
        return value - self.modulus if value > self.modulus // 2 else value


class PaillierOps(CellOps):
    """Cells are ``Ciphertexts`` under the arbiter's public key (and no other)."""

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

    def _own(self, cells: Cells, operation: str) -> Ciphertexts:
        return ciphertexts_of(cells).require(self.pk, operation)

    def _values(self, cells: Cells, operation: str) -> tuple[Ciphertext, ...]:
        return self._own(cells, operation).values

    def _wrap(self, values: Iterable[int]) -> Ciphertexts:
        return Ciphertexts(self.pk, as_ciphertexts(values))

    def _shift_one(self, value: int, bits: int) -> int:
        return self.pk.mul_scalar(Ciphertext(value), 1 << bits)

    def _add_one(self, left: int, right: int) -> int:
        return self.pk.add(Ciphertext(left), Ciphertext(right))

    def encrypt(self, values: list[int], pool: Executor | None) -> Ciphertexts:
        fresh = self._fresh(len(values))
        if fresh is not None:
            return encrypt_with(self.pk, values, fresh)
        return encrypt_many(self.pk, values, pool=pool, chunk=max(128, len(values) // 4 + 1))

    def add_plain(self, cells: Cells, values: Sequence[int]) -> Ciphertexts:
        return self._own(cells, "add plaintexts to").add_plain(values)

    def add(self, left: Cells, right: Cells) -> Ciphertexts:
        return self._own(left, "add").add(ciphertexts_of(right))

    def join(self, parts: Iterable[Cells]) -> Ciphertexts:
        return Ciphertexts.join(self.pk, [ciphertexts_of(part) for part in parts])

    def inner(self, cells: Cells, scalars: NDArray[np.int64], pool: Executor | None) -> Ciphertexts:
        own = self._own(cells, "sum")
        columns = scalars.shape[1]
        if pool is None or columns < 2 or len(own) < PARALLEL_FROM:
            return weighted_sums(own, scalars)
        groups = np.array_split(np.arange(columns), min(columns, 4))
        futures = [
            pool.submit(
                _weighted_sums_task, self.pk.n, own.values, np.ascontiguousarray(scalars[:, g])
            )
            for g in groups
            if len(g)
        ]
        return self._wrap([c for future in futures for c in future.result()])

    def affine(
        self,
        cells: Cells,
        scalars: list[int],
        values: list[int],
        fresh: bool,
        pool: Executor | None,
    ) -> Ciphertexts:
        own = self._values(cells, "scale")
        residues = [self.pk.to_residue(v, i) for i, v in enumerate(values)]
        drawn = self._fresh(len(own)) if fresh else None
        parts = _chunks(len(own), pool)
        if pool is None or len(parts) == 1:
            out = _affine_task(self.pk.n, own, scalars, residues, drawn)
        else:
            futures = [
                pool.submit(
                    _affine_task,
                    self.pk.n,
                    own[p],
                    scalars[p],
                    residues[p],
                    None if drawn is None else drawn[p],
                )
                for p in parts
            ]
            out = [c for future in futures for c in future.result()]
        result = self._wrap(out)
        if fresh and drawn is None:
            return self._rerandomize(result, pool)
        return result

    def _rerandomize(self, cells: Ciphertexts, pool: Executor | None) -> Ciphertexts:
        values = cells.values
        parts = _chunks(len(values), pool)
        if pool is None or len(parts) == 1:
            return self._wrap(_rerandomize_task(self.pk.n, values))
        futures = [pool.submit(_rerandomize_task, self.pk.n, values[p]) for p in parts]
        return self._wrap([c for future in futures for c in future.result()])

    def mask(self, cells: Cells, masks: list[int]) -> Ciphertexts:
        masked = self.add_plain(cells, masks)
        drawn = self._fresh(len(masked))
        if drawn is None:
            return self._wrap([self.pk.rerandomize(c) for c in masked.values])
        nsquare = self.pk.nsquare
        return self._wrap([c * r % nsquare for c, r in zip(masked.values, drawn, strict=True)])

    def dump(self, cells: Cells) -> bytes:
        own = self._own(cells, "send")
        return wire.encode_cipher(ciphertexts_to_bytes(own), len(own))

    def load(
        self, blob: bytes, sender: str, topic: str, expected: int, *, check_units: bool = True
    ) -> Ciphertexts:
        body = wire.decode_cipher(blob, sender, topic, expected)
        try:
            cells = ciphertexts_from_bytes(self.pk, body, check_units=check_units)
        except InvalidCiphertext as exc:
            raise MalformedMessage(sender, topic, exc.reason) from None
        if len(cells) != expected:
            raise MalformedMessage(sender, topic, f"holds {len(cells)} ciphertexts")
        return cells


class PlainOps(CellOps):
    """The insecure twin: cells are ``Residues`` modulo ``plain_modulus(key_bits)``."""

    def __init__(self, key_bits: int) -> None:
        self.modulus = plain_modulus(key_bits)

    def prefetch(self, count: int, pool: Executor | None) -> None:
        return None  # no randomness

    def close(self) -> None:
        return None

    def _values(self, cells: Cells, operation: str) -> tuple[int, ...]:
        return residues_of(cells, self.modulus).values

    def _wrap(self, values: Iterable[int]) -> Residues:
        return Residues(self.modulus, tuple(values))

    def _shift_one(self, value: int, bits: int) -> int:
        return (value << bits) % self.modulus

    def _add_one(self, left: int, right: int) -> int:
        return (left + right) % self.modulus

    def encrypt(self, values: list[int], pool: Executor | None) -> Residues:
        return self._wrap([v % self.modulus for v in values])

    def add_plain(self, cells: Cells, values: Sequence[int]) -> Residues:
        own = self._values(cells, "add plaintexts to")
        return self._wrap([(c + v) % self.modulus for c, v in zip(own, values, strict=True)])

    def add(self, left: Cells, right: Cells) -> Residues:
        pairs = zip(self._values(left, "add"), self._values(right, "add"), strict=True)
        return self._wrap([(a + b) % self.modulus for a, b in pairs])

    def join(self, parts: Iterable[Cells]) -> Residues:
        return self._wrap([v for part in parts for v in self._values(part, "join")])

    def inner(self, cells: Cells, scalars: NDArray[np.int64], pool: Executor | None) -> Residues:
        signed = [self.signed(c) for c in self._values(cells, "sum")]
        return self._wrap(
            [
                sum(v * int(k) for v, k in zip(signed, scalars[:, j].tolist(), strict=True))
                % self.modulus
                for j in range(scalars.shape[1])
            ]
        )

    def affine(
        self,
        cells: Cells,
        scalars: list[int],
        values: list[int],
        fresh: bool,
        pool: Executor | None,
    ) -> Residues:
        own = self._values(cells, "scale")
        return self._wrap(
            [(c * k + v) % self.modulus for c, k, v in zip(own, scalars, values, strict=True)]
        )

    def mask(self, cells: Cells, masks: list[int]) -> Residues:
        return self.add_plain(cells, masks)

    def dump(self, cells: Cells) -> bytes:
        return wire.encode_ints(self._values(cells, "send"), self.modulus)

    def load(
        self, blob: bytes, sender: str, topic: str, expected: int, *, check_units: bool = True
    ) -> Residues:
        return self._wrap(wire.decode_ints(blob, self.modulus, sender, topic, expected))


class Decryptor:
    """The arbiter's side: opens masked cells (Paillier) or passes them through (twin)."""

    def __init__(self, private_key: PrivateKey | None) -> None:
        self.sk = private_key

    def open(self, cells: Cells, pool: Executor | None) -> list[int]:
        """Plaintext residues of ``cells``, in order.

        Raises
        ------
        KeyMismatch
            The ciphertexts are under another key than this decryptor's.
        TypeError
            Ciphertexts given to the twin, or residues to the key holder.
        """
        if self.sk is None:
            return list(residues_of(cells, None).values)
        return decrypt_many(self.sk, ciphertexts_of(cells), pool=pool)
