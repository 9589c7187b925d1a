"""Tests for bucketed ciphertext-scalar inner products against a slow reference."""

from __future__ import annotations

import numpy as np
import pytest

from node.crypto.paillier import (
    Ciphertext,
    Ciphertexts,
    PrivateKey,
    PublicKey,
    weighted_sum,
    weighted_sums,
)


def _reference(pk: PublicKey, cs: list[Ciphertext], ks: list[int]) -> Ciphertext:
    """Obviously correct: one scalar multiplication per row, then additions."""
    total = pk.raw_plain(0)
    for c, k in zip(cs, ks, strict=True):
        total = pk.add(total, pk.mul_scalar(c, k))
    return total


def test_matches_reference_and_plaintext(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, sk = small_keypair
    rng = np.random.default_rng(3)
    ms = rng.integers(-(10**9), 10**9, size=60).tolist()
    cs = [pk.encrypt(m) for m in ms]
    scalars = rng.integers(-40, 40, size=(60, 3))
    scalars[:, 2] = 0
    # execute
    sums = weighted_sums(Ciphertexts(pk, cs), scalars)
    # assert
    for j in range(3):
        expected = sum(m * int(k) for m, k in zip(ms, scalars[:, j], strict=True))
        assert sums.key is pk
        assert sk.decrypt_signed(sums[j]) == expected
        assert sk.decrypt(sums[j]) == sk.decrypt(_reference(pk, cs, scalars[:, j].tolist()))
    assert sk.decrypt(weighted_sum(Ciphertexts(pk, cs), [1] * 60)) == sum(ms) % pk.n


@pytest.mark.parametrize(
    "scalars",
    [
        [7] * 30,  # one bucket: a single power
        [-3] * 30,  # negative only
        [1, 1000, 1001, 5000, -5000, 0, 2, 4095, -4096, 3] * 3,  # large gaps between values
        list(range(-15, 15)),  # dense: every gap is 1
        [0] * 30,  # the empty sum
    ],
)
def test_combination_is_exact_for_every_value_pattern(
    small_keypair: tuple[PublicKey, PrivateKey], scalars: list[int]
) -> None:
    # prepare
    pk, sk = small_keypair
    ms = np.random.default_rng(5).integers(-(10**6), 10**6, size=30).tolist()
    cs = [pk.encrypt(m) for m in ms]
    # execute
    total = weighted_sum(Ciphertexts(pk, cs), scalars)
    # assert
    assert sk.decrypt_signed(total) == sum(m * k for m, k in zip(ms, scalars, strict=True))
    assert total == _reference(pk, cs, scalars)  # the same ciphertext, not just plaintext


def test_shape_mismatch_is_refused(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, _ = small_keypair
    # execute / assert
    with pytest.raises(ValueError, match="shape"):
        weighted_sums(Ciphertexts(pk, [pk.encrypt(1)]), np.zeros((2, 1), dtype=np.int64))
