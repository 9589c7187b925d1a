"""Encryption with randomness drawn ahead of time, so encrypting online is one multiplication.

A Paillier encryption is ``(1 + m n) · r mod n^2``; almost all of its cost is the obfuscator
``r`` (a DJN ``h_s^a``, see ``obfuscation.py``), and ``r`` does not depend on ``m``. A party that
knows it will encrypt ``k`` values soon (the label holder of a boosting job encrypts one value
per training row for every tree) can draw ``k`` obfuscators on its worker pool while it waits
for the other parties, then encrypt the values the moment they are known.

Each obfuscator is handed out exactly once (``take`` removes what it returns), lives only in
this process's memory and is drawn exactly as ``PublicKey.encrypt`` draws it, so a ciphertext
made here is distributed exactly like one made by ``encrypt``. See ``docs/paillier.md``.

The key holder can draw faster: knowing ``n = p q`` it computes the same ``h_s^a mod n^2`` from
``h_s^a mod p^2`` and ``h_s^a mod q^2`` (Chinese remainder theorem), with fixed-base tables over
moduli of half the size, where a multiplication costs a third. The value is identical, so
nothing about its distribution changes; the primes stay in the key holder's worker processes,
as they do for decryption (``bulk.py``).
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Executor, Future

import gmpy2
from gmpy2 import mpz

from node.crypto.paillier.ciphertexts import Ciphertexts, as_ciphertexts
from node.crypto.paillier.keys import PrivateKey, PublicKey
from node.crypto.paillier.obfuscation import (
    BULK_WINDOW_BITS,
    FixedBaseTable,
    djn_base,
    exponent_bits,
    obfuscator_for,
)

CHUNK = 256
"""Obfuscators per worker task: ~0.1 s of work at 2048 bits, 128 KiB to send back; small
enough that a party's latency-bound work queued behind a prefetch waits little."""


def draw_obfuscators(n: int, count: int) -> list[int]:
    """Return ``count`` fresh DJN obfuscators for modulus ``n`` (runs in a worker process)."""
    obfuscator = obfuscator_for(n, BULK_WINDOW_BITS)
    return [int(obfuscator.draw()) for _ in range(count)]


class CrtObfuscator:
    """DJN obfuscators ``h_s^a mod n^2`` computed modulo ``p^2`` and ``q^2`` (key holder only).

    ``h_s = (-x^2)^n mod n^2`` for a locally drawn ``x``, as in ``Obfuscator``; ``a`` is a
    fresh ``ceil(|n|/2)``-bit exponent per draw.
    """

    def __init__(self, p: int, q: int) -> None:
        n = mpz(p) * q
        base = djn_base(n)
        self.exponent_bits = exponent_bits(n)
        self._psquare, self._qsquare = mpz(p) ** 2, mpz(q) ** 2
        self._p_table = FixedBaseTable(
            base % self._psquare, self._psquare, self.exponent_bits, BULK_WINDOW_BITS
        )
        self._q_table = FixedBaseTable(
            base % self._qsquare, self._qsquare, self.exponent_bits, BULK_WINDOW_BITS
        )
        self._p_inverse = gmpy2.invert(self._psquare, self._qsquare)

    def draw(self) -> mpz:
        exponent = secrets.randbits(self.exponent_bits)
        at_p = self._p_table.power(exponent)
        at_q = self._q_table.power(exponent)
        return at_p + self._psquare * ((at_q - at_p) * self._p_inverse % self._qsquare)


_crt: dict[tuple[int, int], CrtObfuscator] = {}


def draw_obfuscators_crt(p: int, q: int, count: int) -> list[int]:
    """``draw_obfuscators`` for the holder of the primes (runs in a worker process)."""
    obfuscator = _crt.get((p, q))
    if obfuscator is None:
        _crt.clear()
        obfuscator = _crt[(p, q)] = CrtObfuscator(p, q)
    return [int(obfuscator.draw()) for _ in range(count)]


class RandomnessReserve:
    """Obfuscators for one public key, drawn ahead on a worker pool and used once each.

    Parameters
    ----------
    public_key:
        The key the obfuscators are for.
    pool:
        Where to draw them; ``None`` draws in the calling thread when they are taken.
    private_key:
        Given by the key holder only: draws use the primes (same values, about twice as fast).
    """

    def __init__(
        self, public_key: PublicKey, pool: Executor | None, private_key: PrivateKey | None = None
    ) -> None:
        self.public_key = public_key
        self._pool = pool
        self._primes = (private_key.p, private_key.q) if private_key is not None else None
        self._pending: deque[Future[list[int]]] = deque()
        self._ready: deque[int] = deque()
        self._queued = 0

    @property
    def queued(self) -> int:
        """Obfuscators drawn or being drawn and not yet taken."""
        return self._queued

    def prefetch(self, count: int) -> None:
        """Start drawing ``count`` more obfuscators in the background (no-op without a pool)."""
        if self._pool is None:
            return
        for start in range(0, count, CHUNK):
            size = min(CHUNK, count - start)
            if self._primes is not None:
                future = self._pool.submit(draw_obfuscators_crt, *self._primes, size)
            else:
                future = self._pool.submit(draw_obfuscators, self.public_key.n, size)
            self._pending.append(future)
            self._queued += size

    def take(self, count: int) -> list[int]:
        """Return ``count`` obfuscators, waiting for prefetched ones and drawing any shortfall."""
        while len(self._ready) < count and self._pending:
            self._ready.extend(self._pending.popleft().result())
        out = [self._ready.popleft() for _ in range(min(count, len(self._ready)))]
        self._queued -= len(out)
        if len(out) < count:
            out += self._draw(count - len(out))
        return out

    def _draw(self, count: int) -> list[int]:
        if self._pool is not None:  # a shortfall: not worth a bulk table in this process
            obfuscator = obfuscator_for(self.public_key.n)
            return [int(obfuscator.draw()) for _ in range(count)]
        if self._primes is not None:
            return draw_obfuscators_crt(*self._primes, count)
        return draw_obfuscators(self.public_key.n, count)

    def close(self) -> None:
        """Drop everything not yet taken (cancelling draws that have not started)."""
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        self._ready.clear()
        self._queued = 0


def encrypt_with(pk: PublicKey, values: Sequence[int], obfuscators: Sequence[int]) -> Ciphertexts:
    """Encrypt each value with its own obfuscator: ``(1 + m n) · r mod n^2``, under ``pk``.

    Requires one unused obfuscator per value (from ``RandomnessReserve.take``); reusing one
    would let anyone divide two ciphertexts and read the difference of their plaintexts.

    Raises
    ------
    ValueError
        The two sequences differ in length.
    PlaintextOutOfRange
        A value is outside ``[-(n//2), n)``; the error names its position.
    """
    if len(values) != len(obfuscators):
        raise ValueError(f"{len(values)} values but {len(obfuscators)} obfuscators")
    n, nsquare = mpz(pk.n), mpz(pk.nsquare)
    return Ciphertexts(
        pk,
        as_ciphertexts(
            [
                int((1 + mpz(pk.to_residue(int(m), i)) * n) * r % nsquare)
                for i, (m, r) in enumerate(zip(values, obfuscators, strict=True))
            ]
        ),
    )
