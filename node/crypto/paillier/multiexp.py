"""Ciphertext-scalar inner products with small integer scalars: the bucket method.

A gradient component is ``E(sum_i d_i x_i) = prod_i E(d_i)^(x_i)``. Raising each ciphertext
to its own scalar costs ``|x_i|`` squarings per row; with fixed-point features of a few bits
(or WOE bins, which take a handful of values) most rows share a scalar value. We multiply the
ciphertexts of rows with the same value into one bucket ``B_v`` (one multiplication per row)
and combine ``prod_v B_v^v`` with the running-product trick used in Pippenger-style
multi-exponentiation: walking the distinct values from the largest down, ``S`` accumulates the
buckets and ``T`` multiplies in ``S`` once per unit step of value, so the combination costs
about two multiplications per distinct value plus a small power for each gap. Negative scalars
go to a second set of buckets whose product is inverted once at the end.
"""

from __future__ import annotations

from collections.abc import Sequence

import gmpy2
import numpy as np
from gmpy2 import mpz
from numpy.typing import NDArray

from node.crypto.paillier.keys import PublicKey

_ONE = mpz(1)


def _combine(buckets: dict[int, mpz], nsquare: mpz) -> mpz:
    if not buckets:
        return _ONE
    values = sorted(buckets, reverse=True)
    running = _ONE
    total = _ONE
    for i, value in enumerate(values):
        running = running * buckets[value] % nsquare
        gap = value - (values[i + 1] if i + 1 < len(values) else 0)
        step = running if gap == 1 else gmpy2.powmod(running, gap, nsquare)
        total = total * step % nsquare
    return total


def _weighted_sum_mpz(cs: Sequence[mpz], ks: Sequence[int], nsquare: mpz) -> mpz:
    positive: dict[int, mpz] = {}
    negative: dict[int, mpz] = {}
    for c, k in zip(cs, ks, strict=True):
        if k > 0:
            found = positive.get(k)
            positive[k] = c if found is None else found * c % nsquare
        elif k < 0:
            found = negative.get(-k)
            negative[-k] = c if found is None else found * c % nsquare
    result = _combine(positive, nsquare)
    if negative:
        result = result * gmpy2.invert(_combine(negative, nsquare), nsquare) % nsquare
    return result


def weighted_sum(pk: PublicKey, cs: Sequence[int], ks: Sequence[int]) -> int:
    """Return ``E(sum_i k_i m_i)`` from ``c_i = E(m_i)`` and small signed integers ``k_i``.

    The result is not re-randomised: call ``pk.rerandomize`` before it leaves the party.
    """
    nsquare = mpz(pk.nsquare)
    return int(_weighted_sum_mpz([mpz(c) for c in cs], [int(k) for k in ks], nsquare))


def weighted_sums(pk: PublicKey, cs: Sequence[int], scalars: NDArray[np.int64]) -> list[int]:
    """Column-wise :func:`weighted_sum`: ``scalars`` has one row per ciphertext.

    Requires ``scalars.shape == (len(cs), columns)``.
    """
    if scalars.ndim != 2 or scalars.shape[0] != len(cs):
        raise ValueError(
            f"scalars must have shape (len(cs), columns) = ({len(cs)}, k), got {scalars.shape}"
        )
    nsquare = mpz(pk.nsquare)
    mcs = [mpz(c) for c in cs]
    return [
        int(_weighted_sum_mpz(mcs, scalars[:, j].tolist(), nsquare))
        for j in range(scalars.shape[1])
    ]
