"""Tests for the Paillier key pair, encryption, decryption and homomorphic operations."""

from __future__ import annotations

import logging

import phe
import pytest

from node.crypto.paillier import (
    InvalidKey,
    PlaintextOutOfRange,
    PrivateKey,
    PublicKey,
    generate_keypair,
)


def test_round_trip_signed_and_unsigned(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, sk = small_keypair
    values = [0, 1, 12345, -1, -(2**100), pk.n - 1, -(pk.n // 2)]
    # execute
    cs = [pk.encrypt(m) for m in values]
    # assert
    assert [sk.decrypt(c) for c in cs] == [m % pk.n for m in values]
    assert [sk.decrypt_signed(c) for c in cs[:5]] == values[:5]


def test_production_size_key_round_trip(real_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, sk = real_keypair
    # execute
    c = pk.encrypt(-42)
    # assert
    assert pk.n_bits == 2048
    assert sk.decrypt_signed(c) == -42


def test_encryption_is_randomized(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, _ = small_keypair
    # execute
    cs = {pk.encrypt(7) for _ in range(20)}
    # assert
    assert len(cs) == 20


def test_interoperates_with_python_paillier(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare: python-paillier is the slow, independent reference
    pk, sk = small_keypair
    ref_pk = phe.PaillierPublicKey(pk.n)
    ref_sk = phe.PaillierPrivateKey(ref_pk, sk.p, sk.q)
    # execute
    ours = pk.encrypt(987654321)
    theirs = ref_pk.raw_encrypt(123456789)
    # assert
    assert ref_sk.raw_decrypt(ours) == 987654321
    assert sk.decrypt(theirs) == 123456789
    assert pk.raw_encrypt(5, r=17) == ref_pk.raw_encrypt(5, r_value=17)


def test_homomorphic_operations(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, sk = small_keypair
    a, b = pk.encrypt(30), pk.encrypt(-12)
    # execute
    total = pk.add(a, b)
    plus_plain = pk.add_plain(a, -40)
    scaled = pk.mul_scalar(a, 5)
    scaled_negative = pk.mul_scalar(b, -3)
    negated = pk.neg(a)
    fresh = pk.rerandomize(a)
    # assert
    assert sk.decrypt_signed(total) == 18
    assert sk.decrypt_signed(plus_plain) == -10
    assert sk.decrypt_signed(scaled) == 150
    assert sk.decrypt_signed(scaled_negative) == 36
    assert sk.decrypt_signed(negated) == -30
    assert fresh != a and sk.decrypt(fresh) == 30
    assert sk.decrypt(pk.raw_plain(9)) == 9


def test_plaintext_out_of_range_is_refused(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, _ = small_keypair
    # execute / assert
    with pytest.raises(PlaintextOutOfRange) as info:
        pk.encrypt(pk.n)
    assert str(pk.n) not in str(info.value)
    with pytest.raises(PlaintextOutOfRange):
        pk.encrypt(-(pk.n // 2) - 1)


def test_generated_modulus_has_requested_length_and_warns_when_short(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # prepare
    caplog.set_level(logging.WARNING, logger="fedcredit.crypto.paillier")
    # execute
    pk, sk = generate_keypair(768)
    # assert
    assert pk.n_bits == 768
    assert sk.p * sk.q == pk.n and sk.p != sk.q
    assert any("768-bit" in r.getMessage() for r in caplog.records)


def test_too_short_or_odd_key_length_is_refused() -> None:
    # execute / assert
    with pytest.raises(InvalidKey):
        generate_keypair(128)
    with pytest.raises(InvalidKey):
        generate_keypair(513)


def test_public_key_refuses_even_modulus() -> None:
    # execute / assert
    with pytest.raises(InvalidKey):
        PublicKey(2**600)


def test_private_key_refuses_wrong_primes(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, sk = small_keypair
    # execute / assert
    with pytest.raises(InvalidKey):
        PrivateKey(pk, sk.p, sk.q + 2)
    with pytest.raises(InvalidKey):
        PrivateKey(PublicKey(sk.p * sk.p), sk.p, sk.p)


def test_repr_names_no_key_material(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, sk = small_keypair
    # execute
    text = repr(pk) + repr(sk)
    # assert
    assert str(pk.n) not in text and str(sk.p) not in text and str(sk.q) not in text
