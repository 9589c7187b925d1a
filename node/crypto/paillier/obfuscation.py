"""Fast Paillier obfuscation: Damgård–Jurik–Nielsen short exponents over a fixed-base table.

A textbook Paillier encryption multiplies ``g^m`` by ``r^n mod n^2`` for a fresh random ``r``:
one full modular exponentiation with a ``|n|``-bit exponent (about 8 ms for a 2048-bit key on
this project's reference machine). Damgård, Jurik and Nielsen ("A generalization of Paillier's
public-key system with applications to electronic voting", IJIS 2010) replace
``r^n`` by ``h_s^a mod n^2`` where ``h_s = (-x^2)^n mod n^2`` for a random ``x`` in ``Z*_n``
and ``a`` is a random exponent of ``ceil(|n| / 2)`` bits; the ciphertexts are
indistinguishable from textbook ones under the DCR assumption plus the assumption that a
short random exponent of that generator hides as well as a full-length one (the assumption
behind the DJN option of Intel's Paillier Cryptosystem Library). Because the base ``h_s`` is
fixed, we precompute its powers ``h_s^(d * 2^(w i))`` for every ``w``-bit digit position ``i``
and digit value ``d``: one obfuscation is then one modular multiplication per digit of ``a``
and no squaring — 128 for a 2048-bit key with bytes (``w = 8``, the default), 94 with the
11-bit windows of the worker processes that draw in bulk, instead of the ~2,400 of the full
exponentiation. The exponent's distribution is the same whatever ``w``: only the table differs.

Each process draws its own ``x`` (nothing is shared or sent): the base is not secret in the
DJN scheme, but drawing it locally means no other party — not even the key holder — chose it,
so a malicious key holder cannot hand out a degenerate base (e.g. of small order). See
``docs/paillier.md``.
"""

from __future__ import annotations

import secrets
import threading

import gmpy2
from gmpy2 import mpz

WINDOW_BITS = 8
"""Table window for occasional encryptions: 256 entries per exponent byte (16 MiB per 2048-bit
key, built in ~0.15 s)."""

BULK_WINDOW_BITS = 11
"""Table window for worker processes that draw thousands of obfuscators (``precompute.py``):
2,047 entries per 11-bit digit (94 digits, 98 MiB per 2048-bit key, built once per process
in ~0.9 s), so an obfuscator costs 94 multiplications instead of 128 (~0.55 ms instead of
~0.70 ms). 12-bit windows (86 multiplications, 176 MiB) measured no faster: the lookups into a
larger table miss the cache more often."""

_CACHED_KEYS = {WINDOW_BITS: 4, BULK_WINDOW_BITS: 2}
"""Tables kept per process and window: the bulk tables are large, and a worker rarely serves
more than the job it runs and the one before."""
_ONE = mpz(1)


class FixedBaseTable:
    """Powers of one base modulo ``modulus``, for exponents of at most ``exponent_bits`` bits.

    Row ``i`` holds ``base^(d * 2^(window * i))`` for every digit ``d < 2^window``, so a power
    is one multiplication per non-zero ``window``-bit digit of the exponent and no squaring.

    Parameters
    ----------
    base, modulus:
        The fixed base and the modulus (``h_s`` and ``n^2``).
    exponent_bits:
        Length of the exponents that ``power`` accepts.
    window:
        Digit width in bits: the table has ``ceil(exponent_bits / window) * (2^window - 1)``
        entries.
    """

    def __init__(
        self, base: mpz, modulus: mpz, exponent_bits: int, window: int = WINDOW_BITS
    ) -> None:
        self.modulus = modulus
        self.exponent_bits = exponent_bits
        self.window = window
        rows: list[list[mpz]] = []
        step = base
        for _ in range(-(-exponent_bits // window)):
            row = [_ONE] * (1 << window)
            acc = _ONE
            for digit in range(1, 1 << window):
                acc = acc * step % modulus
                row[digit] = acc
            rows.append(row)
            step = acc * step % modulus  # step ** 2^window: the base of the next digit
        self._rows = rows

    def power(self, exponent: int) -> mpz:
        """Return ``base ** exponent mod modulus``.

        Requires ``0 <= exponent < 2**exponent_bits``.
        """
        modulus, window = self.modulus, self.window
        mask = (1 << window) - 1
        acc = _ONE
        for row in self._rows:
            digit = exponent & mask
            if digit:
                acc = acc * row[digit] % modulus
            exponent >>= window
        return acc


def djn_base(n: mpz) -> mpz:
    """A fresh DJN base ``h_s = (-x^2)^n mod n^2`` for a locally drawn ``x`` in ``Z*_n``."""
    while True:
        x = mpz(secrets.randbelow(int(n) - 2) + 2)
        if gmpy2.gcd(x, n) == 1:
            break
    return gmpy2.powmod((-x * x) % n, n, n * n)


def exponent_bits(n: mpz) -> int:
    """Bits of a DJN exponent for modulus ``n``: ``ceil(|n| / 2)`` rounded up to whole bytes."""
    return 8 * ((int(n).bit_length() // 2 + 7) // 8)


class Obfuscator:
    """Draws DJN obfuscators ``h_s^a mod n^2`` for one public modulus ``n``."""

    def __init__(self, n: mpz, window: int = WINDOW_BITS) -> None:
        self.exponent_bits = exponent_bits(n)
        self._table = FixedBaseTable(djn_base(n), n * n, self.exponent_bits, window)

    def draw(self) -> mpz:
        """Return a fresh obfuscator; multiply a ciphertext by it to randomise it."""
        return self._table.power(secrets.randbits(self.exponent_bits))


_obfuscators: dict[tuple[int, int], Obfuscator] = {}
_lock = threading.Lock()


def obfuscator_for(n: int, window: int = WINDOW_BITS) -> Obfuscator:
    """Return this process's obfuscator for modulus ``n``, building it on first use.

    Building costs one multiplication per table entry (~33,000 for a 2048-bit key at the
    default window, ~0.17 s; ~192,000 at ``BULK_WINDOW_BITS``, ~0.9 s); the result is cached per
    process for the last few keys (``_CACHED_KEYS``).
    """
    with _lock:
        found = _obfuscators.get((n, window))
        if found is None:
            found = Obfuscator(mpz(n), window)
            same = [key for key in _obfuscators if key[1] == window]
            if len(same) >= _CACHED_KEYS.get(window, 1):
                del _obfuscators[same[0]]
            _obfuscators[(n, window)] = found
        return found
