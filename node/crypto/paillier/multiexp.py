"""Ciphertext-scalar inner products with small integer scalars: the bucket method.

A gradient component is ``E(sum_i d_i x_i) = prod_i E(d_i)^(x_i)``. Raising each ciphertext
to its own scalar costs ``|x_i|`` squarings per row; with fixed-point features of a few bits
(or WOE bins, which take a handful of values) most rows share a scalar value. We multiply the
ciphertexts of rows with the same value into one bucket ``B_v`` (one multiplication per row)
and combine ``prod_v B_v^v`` with the running-product trick of Pippenger-style
multi-exponentiation: walking the ``m`` distinct values ``v_1 > ... > v_m`` downwards, the
running product ``R_k = B_v1 ... B_vk`` enters the result with exponent ``v_k - v_(k+1)``
(``v_(m+1) = 0``). Those exponents are the gaps between neighbouring values, small and few
distinct, so ``prod_k R_k^gap_k`` is again a bucket product and is combined the same way,
recursively, until one bucket is left (the largest gap shrinks at every level). The cost is
about one multiplication per row plus two per distinct value, with no exponentiation by the
gaps. Negative scalars go to a second set of buckets whose product is inverted once at the end.
"""

from __future__ import annotations

from collections.abc import Sequence

import gmpy2
import numpy as np
from gmpy2 import mpz
from numpy.typing import NDArray

from node.crypto.paillier.ciphertexts import Ciphertexts, as_ciphertexts
from node.crypto.paillier.keys import Ciphertext

_ONE = mpz(1)


def _combine(buckets: dict[int, mpz], nsquare: mpz) -> mpz:
    """``prod_v buckets[v]^v`` for positive ``v`` (see the module docstring)."""
    while len(buckets) > 1:
        values = sorted(buckets, reverse=True)
        gaps: dict[int, mpz] = {}
        running = _ONE
        for i, value in enumerate(values):
            running = running * buckets[value] % nsquare
            gap = value - (values[i + 1] if i + 1 < len(values) else 0)
            found = gaps.get(gap)
            gaps[gap] = running if found is None else found * running % nsquare
        buckets = gaps
    if not buckets:
        return _ONE
    ((value, bucket),) = buckets.items()
    return bucket if value == 1 else gmpy2.powmod(bucket, value, nsquare)


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


def weighted_sum(cts: Ciphertexts, ks: Sequence[int]) -> Ciphertext:
    """Return ``E(sum_i k_i m_i)`` from ``c_i = E(m_i)`` and small signed integers ``k_i``.

    The result is not re-randomised: call ``rerandomize`` before it leaves the party.
    """
    nsquare = mpz(cts.key.nsquare)
    mcs = [mpz(c) for c in cts.values]
    return Ciphertext(int(_weighted_sum_mpz(mcs, [int(k) for k in ks], nsquare)))


def weighted_sums(cts: Ciphertexts, scalars: NDArray[np.int64]) -> Ciphertexts:
    """Column-wise :func:`weighted_sum`: ``scalars`` has one row per ciphertext; the result,
    one ciphertext per column, is under the same key.

    Requires ``scalars.shape == (len(cts), columns)``.
    """
    if scalars.ndim != 2 or scalars.shape[0] != len(cts):
        raise ValueError(
            f"scalars must have shape (len(cts), columns) = ({len(cts)}, k), got {scalars.shape}"
        )
    nsquare = mpz(cts.key.nsquare)
    mcs = [mpz(c) for c in cts.values]
    return Ciphertexts(
        cts.key,
        as_ciphertexts(
            int(_weighted_sum_mpz(mcs, scalars[:, j].tolist(), nsquare))
            for j in range(scalars.shape[1])
        ),
    )
