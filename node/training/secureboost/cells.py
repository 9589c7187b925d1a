"""What the protocol computes on: Paillier ciphertexts, or the plaintext twin's residues.

``CellArith`` is the additive group a feature holder works in, small and picklable so worker
processes rebuild it cheaply. Worker tasks compute on raw integers; at every boundary (the wire,
the histogram and packing entry points, the label holder's keys) cells are typed
(``node.training.cells``): ``Ciphertexts`` bound to the job's key, or the twin's ``Residues``,
and ``values`` refuses any other. For Paillier, ciphertexts modulo ``n^2`` (adding plaintexts is
multiplying ciphertexts, shifting a plaintext left by ``b`` bits is raising to ``2^b``); for the
twin, the plaintexts themselves modulo an odd ``key_bits``-bit number, so both runs use the same
packing layout and produce bit-identical sums. ``GuestKeys`` is the label holder's side: the
key pair, encryption with precomputed randomness, decryption.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field

import gmpy2
from gmpy2 import mpz

from node.crypto.paillier import (
    Ciphertexts,
    PrivateKey,
    PublicKey,
    RandomnessReserve,
    as_ciphertexts,
    ciphertexts_from_bytes,
    ciphertexts_to_bytes,
    decrypt_many,
    encrypt_with,
    generate_keypair,
    public_key_from_bytes,
    public_key_to_bytes,
)
from node.crypto.paillier.exceptions import InvalidCiphertext, InvalidKey
from node.crypto.paillier.obfuscation import obfuscator_for
from node.training.cells import Cells, Residues, ciphertexts_of, residues_of
from node.training.vertical import wire
from node.training.vertical.exceptions import MalformedMessage


def twin_modulus(key_bits: int) -> int:
    """The twin's plaintext modulus: odd, exactly ``key_bits`` bits, like a Paillier ``n``."""
    return (1 << key_bits) - 1


@dataclass(frozen=True)
class CellArith:
    """The group of one job's cells. ``n`` is the plaintext modulus (Paillier ``n`` or twin)."""

    n: int
    encrypted: bool
    _modulus: mpz = field(init=False, repr=False, compare=False)
    _key: PublicKey | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_modulus", mpz(self.n) ** 2 if self.encrypted else mpz(self.n))
        object.__setattr__(self, "_key", PublicKey(self.n) if self.encrypted else None)

    def cells(self, values: Iterable[int]) -> Cells:
        """Bind raw results of this group's arithmetic (a worker's output) to the job."""
        if self._key is None:
            return Residues(self.n, tuple(values))
        return Ciphertexts(self._key, as_ciphertexts(values))

    def values(self, cells: Cells, operation: str) -> tuple[int, ...]:
        """The raw values of this job's cells, for the arithmetic below.

        Raises
        ------
        KeyMismatch
            Ciphertexts under another key.
        TypeError
            Cells of the other kind (twin residues in an encrypted run, or the reverse).
        """
        if self._key is None:
            return residues_of(cells, self.n).values
        return ciphertexts_of(cells).require(self._key, operation).values

    def join(self, parts: Iterable[Cells]) -> Cells:
        """Concatenate this job's cell vectors, in order."""
        return self.cells([v for part in parts for v in self.values(part, "join")])

    @property
    def identity(self) -> mpz:
        """The cell of plaintext 0 with no randomness (the empty sum)."""
        return mpz(1) if self.encrypted else mpz(0)

    @property
    def combine_op(self) -> Callable[[mpz, mpz], mpz]:
        """The group operation before reduction (multiply ciphertexts / add residues)."""
        return operator.mul if self.encrypted else operator.add

    @property
    def modulus(self) -> mpz:
        """What ``combine_op`` results are reduced by."""
        return self._modulus

    def shift(self, cell: mpz, bits: int) -> mpz:
        """The cell of ``plaintext * 2^bits``: ``bits`` squarings for Paillier."""
        if self.encrypted:
            return gmpy2.powmod(cell, mpz(1) << bits, self._modulus)
        return (cell << bits) % self._modulus

    def add_plain(self, cell: mpz, value: int) -> mpz:
        """The cell of ``plaintext + value`` (``value >= 0``), with no fresh randomness."""
        if self.encrypted:
            return cell * (1 + mpz(value) * self.n) % self._modulus
        return (cell + value) % self._modulus

    def rerandomize(self, cell: mpz) -> mpz:
        """A fresh-looking cell of the same plaintext (the twin has nothing to refresh)."""
        if self.encrypted:
            return cell * obfuscator_for(self.n).draw() % self._modulus
        return cell

    def dump(self, cells: Cells) -> bytes:
        """Serialize for the wire (the Paillier core's validated format, or fixed-width ints)."""
        values = self.values(cells, "send")
        if self._key is not None:
            body = ciphertexts_to_bytes(Ciphertexts(self._key, as_ciphertexts(values)))
            return wire.encode_cipher(body, len(values))
        return wire.encode_ints(values, self.n)

    def load(self, blob: bytes, sender: str, topic: str, expected: int) -> Cells:
        """Parse and validate exactly ``expected`` cells.

        Raises
        ------
        MalformedMessage
            Wrong kind or count, or a ciphertext outside ``Z*_{n^2}`` / under another key.
        """
        if self._key is None:
            return Residues(self.n, tuple(wire.decode_ints(blob, self.n, sender, topic, expected)))
        body = wire.decode_cipher(blob, sender, topic, expected)
        try:
            cells = ciphertexts_from_bytes(self._key, body)
        except InvalidCiphertext as exc:
            raise MalformedMessage(sender, topic, exc.reason) from None
        if len(cells) != expected:
            raise MalformedMessage(sender, topic, f"holds {len(cells)} ciphertexts")
        return cells


def key_message(arith: CellArith) -> bytes:
    """The label holder's announcement of the scheme and public key."""
    scheme = "paillier" if arith.encrypted else "plain"
    key = public_key_to_bytes(PublicKey(arith.n)).hex() if arith.encrypted else ""
    return wire.encode_json({"scheme": scheme, "key": key, "bits": arith.n.bit_length()})


def arith_from_message(
    blob: bytes, sender: str, topic: str, plaintext: bool, bits: int
) -> CellArith:
    """A feature holder's view of the job's scheme from the label holder's announcement.

    Raises
    ------
    MalformedMessage
        The scheme differs from the job file, the key does not parse, or it is too short.
    """
    obj = wire.decode_json(blob, sender, topic, {"scheme", "key", "bits"})
    if obj["scheme"] != ("plain" if plaintext else "paillier") or obj["bits"] != bits:
        raise MalformedMessage(sender, topic, "scheme or key length differs from the job file")
    if plaintext:
        return CellArith(twin_modulus(bits), encrypted=False)
    try:
        pk = public_key_from_bytes(bytes.fromhex(str(obj["key"])))
    except (InvalidKey, ValueError):
        raise MalformedMessage(sender, topic, "public key does not parse") from None
    if pk.n_bits != bits:
        raise MalformedMessage(sender, topic, "public key length differs from the job file")
    return CellArith(pk.n, encrypted=True)


class GuestKeys:
    """The label holder's key pair (fresh for every attempt; nothing to persist) and reserve.

    With ``plaintext`` the twin: encryption is reduction modulo the twin modulus and
    decryption the identity, so the protocol code runs unchanged.
    """

    def __init__(self, key_bits: int, plaintext: bool, pool: Executor | None) -> None:
        self.pool = pool
        self._private: PrivateKey | None = None
        self._reserve: RandomnessReserve | None = None
        if plaintext:
            self.arith = CellArith(twin_modulus(key_bits), encrypted=False)
            return
        public, self._private = generate_keypair(key_bits)
        self.arith = CellArith(public.n, encrypted=True)
        self._reserve = RandomnessReserve(public, pool, self._private)

    @property
    def fingerprint(self) -> str:
        return PublicKey(self.arith.n).fingerprint[:8].hex() if self.arith.encrypted else ""

    def prefetch(self, count: int) -> None:
        """Draw randomness for ``count`` encryptions in the background (Paillier only)."""
        if self._reserve is not None and self._reserve.queued < count:
            self._reserve.prefetch(count - self._reserve.queued)

    def encrypt(self, values: list[int]) -> Cells:
        """One cell per signed integer, each with its own never-reused randomness."""
        if self._reserve is None or self._private is None:
            n = self.arith.n
            return self.arith.cells([v % n for v in values])
        return encrypt_with(self._private.public_key, values, self._reserve.take(len(values)))

    def decrypt(self, cells: Cells) -> list[int]:
        """Plaintexts in ``[0, n)`` of packed histogram cells.

        Raises
        ------
        KeyMismatch
            The cells are under another key than this label holder's.
        """
        if self._private is None:
            return [v % self.arith.n for v in self.arith.values(cells, "decrypt")]
        return decrypt_many(self._private, ciphertexts_of(cells), pool=self.pool, chunk=64)

    def close(self) -> None:
        if self._reserve is not None:
            self._reserve.close()
