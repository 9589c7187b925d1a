"""X25519 secret scalars for PSI, and the inverse scalars that remove the leader's blinding.

X25519 clamps every scalar: bits 0-2 cleared, bit 255 cleared, bit 254 set. A clamped scalar
is a multiple of the cofactor, so after one blinding every point sits in the prime-order
subgroup of the curve (order ``ORDER_CURVE``) or, for the half of all u-coordinates that lie on
the quadratic twist, of the twist (order ``ORDER_TWIST``). There, multiplying by
``a^-1 mod q`` undoes a blinding by ``a``. The inverse has to be written as a clamped scalar
too (a multiple of 8 in ``[2^254, 2^255)`` congruent to ``a^-1`` mod ``q``); about one random
scalar in eight has such inverses for both groups, so the leader draws until it finds one.

Why: the leader knows its own scalar, so from ``H(x)^(ab)`` it may compute ``H(x)^b`` and
compare it with the follower's ``H(y)^b``. That learns nothing the leader did not already hold,
and costs one ladder per leader id instead of one per follower id, which is what makes PSI
against a much larger set fast (see ``docs/protocols/psi.md``).
"""

from __future__ import annotations

import os
from typing import Final

import gmpy2

P: Final = 2**255 - 19
MONTGOMERY_A: Final = 486662
ORDER_CURVE: Final = 2**252 + 27742317777372353535851937790883648493
ORDER_TWIST: Final = 2**253 - 55484635554744707071703875581767296995
_LOW: Final = 1 << 254
_HIGH: Final = 1 << 255
# Draws before giving up; the chance of 200 misses in a row is below 2**-38.
MAX_DRAWS: Final = 200


def clamp(scalar: bytes) -> int:
    """The integer X25519 multiplies by when given ``scalar`` (RFC 7748, section 5)."""
    k = int.from_bytes(scalar, "little")
    return (k & ~7 & ~_HIGH) | _LOW


def clamped_inverse(scalar: bytes, order: int) -> bytes | None:
    """A scalar that X25519 uses unchanged and that inverts ``scalar`` modulo ``order``.

    Returns ``None`` when no multiple of 8 in ``[2^254, 2^255)`` is congruent to the inverse.
    """
    inverse = pow(clamp(scalar), -1, order)
    candidate = inverse + ((-inverse * pow(order, -1, 8)) % 8) * order  # now divisible by 8
    step = 8 * order
    if candidate < _LOW:
        candidate += -(-(_LOW - candidate) // step) * step
    if candidate >= _HIGH:
        return None
    return candidate.to_bytes(32, "little")


def invertible_scalar() -> tuple[bytes, bytes, bytes]:
    """Draw a fresh secret scalar with clamped inverses on the curve and on the twist.

    Returns ``(scalar, inverse on the curve, inverse on the twist)``; all three live in memory
    only, for one job.

    Raises
    ------
    RuntimeError
        ``MAX_DRAWS`` random scalars had no clamped inverse (a broken random source).
    """
    for _ in range(MAX_DRAWS):
        scalar = os.urandom(32)
        on_curve = clamped_inverse(scalar, ORDER_CURVE)
        on_twist = clamped_inverse(scalar, ORDER_TWIST)
        if on_curve is not None and on_twist is not None:
            return scalar, on_curve, on_twist
    raise RuntimeError("no invertible X25519 scalar found; check the system's random source")


def on_twist(u: bytes) -> bool:
    """Whether the u-coordinate ``u`` (canonical, little-endian) lies on the twist."""
    x = gmpy2.mpz(int.from_bytes(u, "little"))
    # Euler's criterion through gmpy2: about 3 µs, against 90 µs for Python's pow().
    return bool(gmpy2.legendre((x * x * x + MONTGOMERY_A * x * x + x) % P, P) == -1)
