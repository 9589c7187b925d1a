"""Tests for key-bound ciphertext batches: arithmetic under one key, refusal across keys."""

from __future__ import annotations

import pickle

import pytest

from node.crypto.paillier import (
    Ciphertexts,
    KeyMismatch,
    PrivateKey,
    PublicKey,
    decrypt_many,
    encrypt_many,
    generate_keypair,
)


@pytest.fixture(scope="module")
def other_keypair() -> tuple[PublicKey, PrivateKey]:
    """A second real key, 512 bits like ``small_keypair``: the check is on key identity, which
    does not depend on the size, and small keys keep the module fast."""
    return generate_keypair(512)


def test_add_and_add_plain_stay_under_the_key(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, sk = small_keypair
    a, b = encrypt_many(pk, [1, -2, 3]), encrypt_many(pk, [10, 20, -30])
    # execute
    total = a.add(b).add_plain([100, 0, -1])
    # assert
    assert total.key is pk
    assert decrypt_many(sk, total, signed=True) == [111, 18, -28]
    assert decrypt_many(sk, Ciphertexts.join(pk, [a[:1], b[1:]]), signed=True) == [1, 20, -30]
    assert decrypt_many(sk, b.take([2, 0]), signed=True) == [-30, 10]


def test_adding_ciphertexts_of_two_keys_is_refused_naming_both_fingerprints(
    small_keypair: tuple[PublicKey, PrivateKey], other_keypair: tuple[PublicKey, PrivateKey]
) -> None:
    # prepare
    pk, _ = small_keypair
    other, _ = other_keypair
    mine, theirs = encrypt_many(pk, [1, 2]), encrypt_many(other, [1, 2])
    # execute
    with pytest.raises(KeyMismatch) as info:
        mine.add(theirs)
    # assert: both fingerprints named, no ciphertext in the message
    assert info.value.expected == pk.fingerprint[:8].hex()
    assert info.value.found == other.fingerprint[:8].hex()
    assert info.value.operation == "add"
    assert all(str(c) not in str(info.value) for c in (*mine, *theirs))


def test_joining_multiplying_or_decrypting_across_keys_is_refused(
    small_keypair: tuple[PublicKey, PrivateKey], other_keypair: tuple[PublicKey, PrivateKey]
) -> None:
    # prepare
    pk, sk = small_keypair
    other, other_sk = other_keypair
    mine, theirs = encrypt_many(pk, [5]), encrypt_many(other, [7])
    # execute / assert: homomorphic addition is ciphertext multiplication, in either order
    with pytest.raises(KeyMismatch):
        theirs.add(mine)
    with pytest.raises(KeyMismatch):
        Ciphertexts.join(pk, [mine, theirs])
    with pytest.raises(KeyMismatch):
        decrypt_many(sk, theirs)
    with pytest.raises(KeyMismatch):
        decrypt_many(other_sk, mine)


def test_lengths_must_match(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    pk, _ = small_keypair
    with pytest.raises(ValueError, match="cannot add 1 ciphertexts to 2"):
        encrypt_many(pk, [1, 2]).add(encrypt_many(pk, [1]))
    with pytest.raises(ValueError, match="1 plaintexts for 2 ciphertexts"):
        encrypt_many(pk, [1, 2]).add_plain([1])


def test_batch_is_immutable_hides_its_values_and_pickles_with_its_key(
    small_keypair: tuple[PublicKey, PrivateKey],
) -> None:
    # prepare
    pk, sk = small_keypair
    cts = encrypt_many(pk, [42, 43])
    # execute
    copy = pickle.loads(pickle.dumps(cts))
    # assert
    with pytest.raises(AttributeError):
        cts.values = ()
    assert repr(cts) == f"Ciphertexts(count=2, key={pk.fingerprint[:8].hex()})"
    assert copy == cts and copy.key == pk
    assert decrypt_many(sk, copy) == [42, 43]
