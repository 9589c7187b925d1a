"""Hash a normalised unified social credit code to an X25519 u-coordinate, salted per job.

Any 32 bytes are a valid X25519 input (RFC 7748 masks the top bit and reduces modulo p), so
SHA-256 of (domain ‖ job salt ‖ counter ‖ code) is a point. The per-job salt makes the points
of one job useless in any other and rules out tables precomputed before the job. A handful of
u-coordinates have small order and give an all-zero shared secret (``exchange`` raises); the
counter then moves on to the next candidate. Whether a point has small order does not depend
on the secret scalar (scalars are clamped to multiples of the cofactor), so every party picks
the same candidate for the same code.
"""

from __future__ import annotations

import hashlib
from typing import Final

DOMAIN: Final = b"fedcredit/psi/v1/h2c"
SALT_BYTES: Final = 32
# Candidates tried before giving up; a random candidate has small order with probability
# about 2**-250, so a second one is already never needed in practice.
MAX_COUNTER: Final = 8


def hash_to_u(salt: bytes, code: str | bytes, counter: int = 0) -> bytes:
    """Return candidate ``counter`` of the u-coordinate for ``code`` under the job ``salt``.

    ``code`` is hashed as its UTF-8 bytes; passing those bytes directly gives the same point.

    Preconditions: ``salt`` is ``SALT_BYTES`` long, ``code`` is normalised, and
    ``0 <= counter < MAX_COUNTER``.

    Raises
    ------
    ValueError
        A precondition does not hold.
    """
    if len(salt) != SALT_BYTES:
        raise ValueError(f"salt must be {SALT_BYTES} bytes")
    if not 0 <= counter < MAX_COUNTER:
        raise ValueError(f"counter must be in [0, {MAX_COUNTER})")
    data = code if isinstance(code, bytes) else code.encode("utf-8")
    return hashlib.sha256(DOMAIN + salt + bytes([counter]) + data).digest()
