"""Paillier key pair and per-ciphertext operations on raw integers modulo ``n^2``.

One ciphertext is a ``Ciphertext``: an ``int`` in ``Z*_{n^2}`` at run time (it pickles and
serializes cheaply, no wrapper object per value), a distinct type for mypy. Batches carry their
key (``ciphertexts.py``). Arithmetic runs
on ``gmpy2`` internally (about 8x faster than Python ints at 4096 bits). The generator is
``g = n + 1``, so ``g^m = 1 + m*n mod n^2`` costs one multiplication.

Plaintexts live in ``Z_n``; signed values ``-(n//2) <= m < 0`` are stored as ``n + m`` and
come back from :meth:`PrivateKey.decrypt_signed`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import NewType

import gmpy2
from gmpy2 import mpz

from node.crypto.paillier.exceptions import InvalidKey, PlaintextOutOfRange
from node.crypto.paillier.obfuscation import obfuscator_for

log = logging.getLogger("fedcredit.crypto.paillier")

DEFAULT_KEY_BITS = 2048
"""NIST SP 800-57 part 1 rates a 2048-bit factoring modulus at 112-bit security (to 2030)."""

Ciphertext = NewType("Ciphertext", int)
"""One Paillier ciphertext, a residue in ``Z*_{n^2}``: distinct from a plaintext ``int`` for
mypy, free at run time. It does not carry its key; batches do (``Ciphertexts``)."""

ABSOLUTE_MIN_KEY_BITS = 256
"""Below this a key cannot even hold one fixed-point value; tests use 512-1024 bits."""


class PublicKey:
    """A Paillier public key ``n`` and the operations anyone holding it may perform.

    Parameters
    ----------
    n:
        The public modulus, a product of two distinct primes of equal length.

    Raises
    ------
    InvalidKey
        ``n`` is even or shorter than ``ABSOLUTE_MIN_KEY_BITS``.
    """

    __slots__ = ("_fingerprint", "_n", "_nsquare", "n", "nsquare")

    def __init__(self, n: int) -> None:
        if n.bit_length() < ABSOLUTE_MIN_KEY_BITS or n % 2 == 0:
            raise InvalidKey(f"modulus must be odd and at least {ABSOLUTE_MIN_KEY_BITS} bits")
        self.n = int(n)
        self.nsquare = self.n * self.n
        self._n = mpz(n)
        self._nsquare = self._n * self._n
        self._fingerprint = hashlib.sha256(self.n.to_bytes((n.bit_length() + 7) // 8)).digest()

    @property
    def n_bits(self) -> int:
        """Bit length of the modulus."""
        return self.n.bit_length()

    @property
    def fingerprint(self) -> bytes:
        """SHA-256 of the big-endian modulus: names the key without revealing anything."""
        return self._fingerprint

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other.n == self.n

    def __hash__(self) -> int:
        return hash(self.n)

    def __repr__(self) -> str:
        return f"PublicKey(bits={self.n_bits}, fingerprint={self._fingerprint[:6].hex()})"

    # -- plaintext handling -------------------------------------------------------------
    def to_residue(self, m: int, position: int | None = None) -> int:
        """Map a signed plaintext in ``[-(n//2), n)`` to ``Z_n``.

        Raises
        ------
        PlaintextOutOfRange
            ``m`` is outside ``[-(n//2), n)``.
        """
        if not -(self.n // 2) <= m < self.n:
            raise PlaintextOutOfRange(self.n_bits, position)
        return m % self.n

    # -- encryption ----------------------------------------------------------------------
    def encrypt(self, m: int) -> Ciphertext:
        """Encrypt ``m`` with fresh DJN randomness (see ``obfuscation.py``).

        Raises
        ------
        PlaintextOutOfRange
            ``m`` is outside ``[-(n//2), n)``.
        """
        residue = self.to_residue(m)
        noise = obfuscator_for(self.n).draw()
        return Ciphertext(int((1 + mpz(residue) * self._n) * noise % self._nsquare))

    def raw_encrypt(self, m: int, r: int) -> Ciphertext:
        """Textbook encryption ``(1 + m n) r^n mod n^2`` with caller-chosen ``r``.

        Deterministic, for test vectors and cross-checks; most callers want :meth:`encrypt`.
        """
        residue = self.to_residue(m)
        noise = gmpy2.powmod(mpz(r), self._n, self._nsquare)
        return Ciphertext(int((1 + mpz(residue) * self._n) * noise % self._nsquare))

    def raw_plain(self, m: int) -> Ciphertext:
        """Return ``g^m = 1 + m n mod n^2``: a *trivial* encryption anyone can read.

        Unsafe on its own (no randomness); only useful multiplied into a fresh ciphertext,
        e.g. the label holder adding its own term to the hosts' encrypted partial predictions.
        """
        return Ciphertext(int((1 + mpz(self.to_residue(m)) * self._n) % self._nsquare))

    def rerandomize(self, c: Ciphertext) -> Ciphertext:
        """Return a fresh-looking ciphertext of the same plaintext (one DJN obfuscator)."""
        return Ciphertext(int(mpz(c) * obfuscator_for(self.n).draw() % self._nsquare))

    # -- homomorphic operations ----------------------------------------------------------
    def add(self, c1: Ciphertext, c2: Ciphertext) -> Ciphertext:
        """``E(m1 + m2)``; the result is not re-randomised (see :meth:`rerandomize`).

        Both must be under this key: a single value carries no key to check (batches do, see
        ``Ciphertexts.add``).
        """
        return Ciphertext(int(mpz(c1) * c2 % self._nsquare))

    def add_plain(self, c: Ciphertext, m: int) -> Ciphertext:
        """``E(m_c + m)`` for a plaintext ``m``: one multiplication by ``g^m``."""
        return Ciphertext(int(mpz(c) * (1 + mpz(self.to_residue(m)) * self._n) % self._nsquare))

    def mul_scalar(self, c: Ciphertext, k: int) -> Ciphertext:
        """``E(k * m)`` for an integer ``k`` (negative ``k`` via the modular inverse)."""
        if k < 0:
            inverse = gmpy2.invert(mpz(c), self._nsquare)
            return Ciphertext(int(gmpy2.powmod(inverse, -k, self._nsquare)))
        return Ciphertext(int(gmpy2.powmod(mpz(c), k, self._nsquare)))

    def neg(self, c: Ciphertext) -> Ciphertext:
        """``E(-m)``: the modular inverse of ``c``."""
        return Ciphertext(int(gmpy2.invert(mpz(c), self._nsquare)))


class PrivateKey:
    """A Paillier private key ``(p, q)`` with CRT decryption (as in python-paillier).

    Parameters
    ----------
    public_key:
        The matching public key.
    p, q:
        The distinct primes with ``p * q == public_key.n``.

    Raises
    ------
    InvalidKey
        ``p * q != n`` or ``p == q``.
    """

    __slots__ = ("_hp", "_hq", "_p", "_p_inverse", "_psquare", "_q", "_qsquare", "public_key")

    def __init__(self, public_key: PublicKey, p: int, q: int) -> None:
        if p * q != public_key.n:
            raise InvalidKey("the primes do not multiply to the public modulus")
        if p == q:
            raise InvalidKey("the primes must be distinct")
        if q < p:
            p, q = q, p
        self.public_key = public_key
        self._p, self._q = mpz(p), mpz(q)
        self._psquare, self._qsquare = self._p * self._p, self._q * self._q
        self._p_inverse = gmpy2.invert(self._p, self._q)
        self._hp = self._h(self._p, self._psquare)
        self._hq = self._h(self._q, self._qsquare)

    def _h(self, x: mpz, xsquare: mpz) -> mpz:
        g = self.public_key._n + 1
        return gmpy2.invert((gmpy2.powmod(g, x - 1, xsquare) - 1) // x, x)

    @property
    def p(self) -> int:
        """The smaller prime."""
        return int(self._p)

    @property
    def q(self) -> int:
        """The larger prime."""
        return int(self._q)

    def __repr__(self) -> str:
        return f"PrivateKey(for={self.public_key!r})"

    def decrypt(self, c: Ciphertext) -> int:
        """Return the plaintext of ``c`` in ``[0, n)``.

        Precondition: ``0 < c < n^2`` (checked by the deserializer for received ciphertexts).
        """
        value = mpz(c)
        mp = (gmpy2.powmod(value, self._p - 1, self._psquare) - 1) // self._p * self._hp % self._p
        mq = (gmpy2.powmod(value, self._q - 1, self._qsquare) - 1) // self._q * self._hq % self._q
        return int(mp + (mq - mp) * self._p_inverse % self._q * self._p)

    def decrypt_signed(self, c: Ciphertext) -> int:
        """Return the plaintext of ``c`` in ``(-n/2, n/2]``: values above ``n//2`` are negative."""
        m = self.decrypt(c)
        n = self.public_key.n
        return m - n if m > n // 2 else m


def _random_prime(bits: int) -> mpz:
    # top two bits set: the product of two such primes has exactly 2 * bits bits
    candidate = mpz(secrets.randbits(bits) | (3 << (bits - 2)) | 1)
    return gmpy2.next_prime(candidate)


def generate_keypair(n_length: int = DEFAULT_KEY_BITS) -> tuple[PublicKey, PrivateKey]:
    """Generate a Paillier key pair whose modulus has exactly ``n_length`` bits.

    Keys below ``DEFAULT_KEY_BITS`` are allowed (tests, demos) but logged as a warning; job
    files refuse them unless explicitly flagged.

    Raises
    ------
    InvalidKey
        ``n_length`` is odd or below ``ABSOLUTE_MIN_KEY_BITS``.
    """
    if n_length < ABSOLUTE_MIN_KEY_BITS or n_length % 2:
        raise InvalidKey(
            f"key length must be even and at least {ABSOLUTE_MIN_KEY_BITS} bits "
            f"(got {n_length}); use {DEFAULT_KEY_BITS}"
        )
    if n_length < DEFAULT_KEY_BITS:
        log.warning(
            "generating a %d-bit Paillier key: below %d bits, for tests and demos only",
            n_length,
            DEFAULT_KEY_BITS,
        )
    while True:
        p = _random_prime(n_length // 2)
        q = _random_prime(n_length // 2)
        n = p * q
        if p != q and n.bit_length() == n_length:
            break
    public = PublicKey(int(n))
    return public, PrivateKey(public, int(p), int(q))
