"""Fixed-point encoding of real values as signed integers for Paillier plaintexts.

A real ``x`` becomes ``round(x * 2**frac_bits)``; sums and products of encodings stay exact
integers, and the caller divides by the accumulated scale once, after decryption. Keeping
encodings small matters twice: the plaintext must not wrap modulo ``n``, and ciphertext-scalar
products cost in proportion to the scalar's bit length (see ``multiexp.py``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from node.crypto.paillier.exceptions import PaillierError

MAX_ENCODED_BITS = 62
"""Encodings go through ``int64`` so NumPy can round whole columns at once."""


class EncodingOverflow(PaillierError, ValueError):
    """A value is too large for the requested fixed-point precision.

    Carries the ``frac_bits`` and the ``position`` of the first offending value, never the
    value.
    """

    def __init__(self, frac_bits: int, position: int) -> None:
        super().__init__(
            f"value at position {position} does not fit {MAX_ENCODED_BITS} bits with "
            f"{frac_bits} fractional bits; clip or standardize the input, or use fewer bits"
        )
        self.frac_bits = frac_bits
        self.position = position


def encode(values: ArrayLike, frac_bits: int) -> NDArray[np.int64]:
    """Return ``round(values * 2**frac_bits)`` as ``int64`` (any shape).

    Raises
    ------
    EncodingOverflow
        A value (or NaN/inf) does not fit ``MAX_ENCODED_BITS`` bits after scaling.
    """
    scaled = np.asarray(values, dtype=np.float64) * float(2**frac_bits)
    bad = ~(np.abs(scaled) < 2.0**MAX_ENCODED_BITS)
    if bad.any():
        raise EncodingOverflow(frac_bits, int(np.flatnonzero(bad.ravel())[0]))
    return np.rint(scaled).astype(np.int64)


def decode(values: ArrayLike, frac_bits: int) -> NDArray[np.float64]:
    """Return ``values / 2**frac_bits`` as floats; ``values`` may be Python big integers."""
    ints = [int(v) for v in np.asarray(values, dtype=object).ravel()]
    shape = np.shape(values)
    return np.array([v / 2**frac_bits for v in ints], dtype=np.float64).reshape(shape)
