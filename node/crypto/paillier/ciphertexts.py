"""Typed ciphertexts: a batch bound to the public key it was made under.

Every heavy operation of the project works on vectors of a few hundred to a few thousand
ciphertexts (bulk encryption, multi-exponentiation, packing, worker processes), so the key is
attached to the *batch*: ``Ciphertexts`` holds the ``PublicKey`` and a tuple of residues, and
its operations check that both operands carry the same key (``KeyMismatch`` otherwise) once per
batch, not once per value. A single residue keeps the light ``Ciphertext`` type: an ``int`` to
the interpreter, a distinct type to mypy, so a plaintext cannot be passed where a ciphertext is
expected (or the other way round) without an explicit, greppable conversion.

Mypy cannot tell two keys apart (a key is a runtime value): it rejects plain integers where
ciphertexts belong; the key check at run time rejects ciphertexts of another key, including
those that arrive over the wire (``ciphertexts_from_bytes`` binds what it parses to the key the
receiver expects). See ``docs/paillier.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import cast, overload

from gmpy2 import mpz

from node.crypto.paillier.exceptions import KeyMismatch
from node.crypto.paillier.keys import Ciphertext, PublicKey


def as_ciphertexts(values: Iterable[int]) -> tuple[Ciphertext, ...]:
    """Declare raw residues (from a worker process, a bulk formula) to be ciphertexts.

    The explicit conversion of a run of integers (``Ciphertext(i)`` converts one): use it only
    on values that *are* ciphertexts under the key they are then bound to (results of
    encryption or homomorphic arithmetic).
    It costs one tuple, no check.
    """
    return cast("tuple[Ciphertext, ...]", tuple(values))


class Ciphertexts:
    """Ciphertexts under one public key, in order; immutable.

    Parameters
    ----------
    key:
        The public key every value was encrypted under.
    values:
        The residues in ``Z*_{n^2}`` (see ``as_ciphertexts`` for raw integers).

    ``repr`` shows the count and the key's fingerprint prefix, never a value.
    """

    __slots__ = ("key", "values")

    key: PublicKey
    values: tuple[Ciphertext, ...]

    def __init__(self, key: PublicKey, values: Sequence[Ciphertext]) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "values", tuple(values))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Ciphertexts are immutable")

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Iterator[Ciphertext]:
        return iter(self.values)

    @overload
    def __getitem__(self, index: int) -> Ciphertext: ...
    @overload
    def __getitem__(self, index: slice) -> Ciphertexts: ...
    def __getitem__(self, index: int | slice) -> Ciphertext | Ciphertexts:
        if isinstance(index, slice):
            return Ciphertexts(self.key, self.values[index])
        return self.values[index]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Ciphertexts) and other.key == self.key and other.values == self.values
        )

    def __hash__(self) -> int:
        return hash((self.key, self.values))

    def __repr__(self) -> str:
        return f"Ciphertexts(count={len(self.values)}, key={self.key.fingerprint[:8].hex()})"

    def __reduce__(self) -> tuple[type[Ciphertexts], tuple[PublicKey, tuple[Ciphertext, ...]]]:
        return Ciphertexts, (self.key, self.values)

    # -- binding ---------------------------------------------------------------------------
    def require(self, key: PublicKey, operation: str = "use") -> Ciphertexts:
        """Return ``self`` if it is under ``key``.

        Raises
        ------
        KeyMismatch
            The batch was made under another key (the error names both fingerprints).
        """
        if self.key is not key and self.key != key:
            raise KeyMismatch(key.fingerprint, self.key.fingerprint, operation)
        return self

    def take(self, positions: Iterable[int]) -> Ciphertexts:
        """The ciphertexts at ``positions``, in that order (same key)."""
        values = self.values
        return Ciphertexts(self.key, [values[i] for i in positions])

    @classmethod
    def join(cls, key: PublicKey, parts: Iterable[Ciphertexts]) -> Ciphertexts:
        """Concatenate batches, all under ``key``.

        Raises
        ------
        KeyMismatch
            A part was made under another key.
        """
        values: list[Ciphertext] = []
        for part in parts:
            values += part.require(key, "join").values
        return cls(key, values)

    # -- homomorphic operations (results are not re-randomised) ----------------------------
    def add(self, other: Ciphertexts) -> Ciphertexts:
        """``E(a_i + b_i)`` item by item.

        Raises
        ------
        KeyMismatch
            ``other`` is under another key.
        ValueError
            The batches differ in length.
        """
        other.require(self.key, "add")
        if len(other.values) != len(self.values):
            raise ValueError(f"cannot add {len(other.values)} ciphertexts to {len(self.values)}")
        nsquare = mpz(self.key.nsquare)
        return Ciphertexts(
            self.key,
            as_ciphertexts(
                [int(mpz(a) * b % nsquare) for a, b in zip(self.values, other.values, strict=True)]
            ),
        )

    def add_plain(self, plaintexts: Sequence[int]) -> Ciphertexts:
        """``E(a_i + m_i)`` for signed plaintexts ``m_i`` (one multiplication by ``g^m_i``).

        Raises
        ------
        PlaintextOutOfRange
            A plaintext is outside ``[-(n//2), n)``; the error names its position.
        ValueError
            ``plaintexts`` differs in length from the batch.
        """
        if len(plaintexts) != len(self.values):
            raise ValueError(f"{len(plaintexts)} plaintexts for {len(self.values)} ciphertexts")
        key = self.key
        n, nsquare = mpz(key.n), mpz(key.nsquare)
        return Ciphertexts(
            key,
            as_ciphertexts(
                [
                    int(mpz(c) * (1 + mpz(key.to_residue(int(m), i)) * n) % nsquare)
                    for i, (c, m) in enumerate(zip(self.values, plaintexts, strict=True))
                ]
            ),
        )
