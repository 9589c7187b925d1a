"""Tests for key and ciphertext byte formats and their validation."""

from __future__ import annotations

import struct

import pytest

from node.crypto.paillier import (
    Ciphertexts,
    InvalidCiphertext,
    InvalidKey,
    KeyMismatch,
    PrivateKey,
    PublicKey,
    ciphertexts_from_bytes,
    ciphertexts_per_message,
    ciphertexts_to_bytes,
    decrypt_many,
    generate_keypair,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_from_bytes,
    public_key_to_bytes,
)

HEADER = 1 + 8 + 4 + 2


def _with_value(pk: PublicKey, blob: bytes, position: int, value: int) -> bytes:
    width = (pk.nsquare.bit_length() + 7) // 8
    start = HEADER + position * width
    return blob[:start] + value.to_bytes(width, "big") + blob[start + width :]


def test_key_round_trips(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, sk = small_keypair
    # execute
    pk2 = public_key_from_bytes(public_key_to_bytes(pk))
    sk2 = private_key_from_bytes(private_key_to_bytes(sk))
    # assert
    assert pk2 == pk
    assert sk2.public_key == pk and (sk2.p, sk2.q) == (sk.p, sk.q)
    assert sk2.decrypt(pk.encrypt(77)) == 77


def test_ciphertexts_round_trip(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, _ = small_keypair
    cs = [pk.encrypt(i) for i in range(5)]
    # execute
    blob = ciphertexts_to_bytes(Ciphertexts(pk, cs))
    # assert
    assert blob[0] == 1
    assert ciphertexts_from_bytes(pk, blob) == Ciphertexts(pk, cs)
    assert len(ciphertexts_from_bytes(pk, ciphertexts_to_bytes(Ciphertexts(pk, [])))) == 0


def test_ciphertext_bytes_are_the_documented_format(
    small_keypair: tuple[PublicKey, PrivateKey],
) -> None:
    # prepare: the format written out by hand (version, fingerprint, count, width, values), so
    # typed ciphertexts cannot change what peers and stored checkpoints read
    pk, _ = small_keypair
    cs = [pk.encrypt(i) for i in range(3)]
    width = (pk.nsquare.bit_length() + 7) // 8
    expected = (
        b"\x01"
        + pk.fingerprint[:8]
        + struct.pack(">IH", 3, width)
        + b"".join(c.to_bytes(width, "big") for c in cs)
    )
    # execute
    blob = ciphertexts_to_bytes(Ciphertexts(pk, cs))
    # assert
    assert blob == expected


def test_parsed_ciphertexts_are_bound_to_the_expected_key(
    small_keypair: tuple[PublicKey, PrivateKey],
) -> None:
    # prepare: a second real key of the same (small, for speed) size
    pk, sk = small_keypair
    other, other_sk = generate_keypair(512)
    blob = ciphertexts_to_bytes(Ciphertexts(pk, [pk.encrypt(5), pk.encrypt(6)]))
    theirs = Ciphertexts(other, [other.encrypt(1), other.encrypt(2)])
    # execute
    parsed = ciphertexts_from_bytes(pk, blob)
    # assert: bound to the receiver's key, usable with it, refused with any other
    assert parsed.key is pk
    assert decrypt_many(sk, parsed.add(parsed)) == [10, 12]
    with pytest.raises(KeyMismatch):
        parsed.add(theirs)
    with pytest.raises(KeyMismatch):
        decrypt_many(other_sk, parsed)


@pytest.mark.parametrize(
    ("value_of", "reason"),
    [
        (lambda pk: 0, "outside"),
        (lambda pk: pk.nsquare, "outside"),
        (lambda pk: pk.n, "not invertible"),
    ],
)
def test_ciphertext_outside_group_is_refused_by_position(
    small_keypair: tuple[PublicKey, PrivateKey], value_of: object, reason: str
) -> None:
    # prepare
    pk, _ = small_keypair
    blob = ciphertexts_to_bytes(Ciphertexts(pk, [pk.encrypt(i) for i in range(4)]))
    width = (pk.nsquare.bit_length() + 7) // 8
    value = value_of(pk)  # type: ignore[operator]
    if value.bit_length() > 8 * width:
        pytest.skip("n^2 needs one more byte than the fixed width")
    bad = _with_value(pk, blob, 2, value)
    # execute
    with pytest.raises(InvalidCiphertext) as info:
        ciphertexts_from_bytes(pk, bad)
    # assert
    assert info.value.position == 2
    assert reason in info.value.reason


def test_unit_check_can_be_left_to_the_decrypting_party(
    small_keypair: tuple[PublicKey, PrivateKey],
) -> None:
    # prepare: a multiple of n is in range but shares a factor with n
    pk, _ = small_keypair
    bad = _with_value(
        pk, ciphertexts_to_bytes(Ciphertexts(pk, [pk.encrypt(i) for i in range(3)])), 1, pk.n
    )
    # execute
    parsed = ciphertexts_from_bytes(pk, bad, check_units=False)
    # assert: parsed for a party that never decrypts; refused for one that would
    assert parsed[1] == pk.n
    with pytest.raises(InvalidCiphertext):
        ciphertexts_from_bytes(pk, bad)
    with pytest.raises(InvalidCiphertext):
        ciphertexts_from_bytes(pk, _with_value(pk, bad, 0, 0), check_units=False)


def test_malformed_blobs_are_refused(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, _ = small_keypair
    other, _ = generate_keypair(512)
    blob = ciphertexts_to_bytes(Ciphertexts(pk, [pk.encrypt(1), pk.encrypt(2)]))
    # execute / assert
    for bad in (
        b"",
        b"\x02" + blob[1:],
        blob[:-1],
        blob + b"\x00",
        blob[:13] + struct.pack(">H", 3) + blob[15:],
        ciphertexts_to_bytes(Ciphertexts(other, [other.encrypt(1)])),
    ):
        with pytest.raises(InvalidCiphertext) as info:
            ciphertexts_from_bytes(pk, bad)
        assert info.value.position is None


def test_malformed_keys_are_refused(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, sk = small_keypair
    public, private = public_key_to_bytes(pk), private_key_to_bytes(sk)
    not_prime = b"\x01" + struct.pack(">H", 1) + b"\x09" + private[1:][: len(private) - 1]
    # execute / assert
    for bad in (b"", b"\x02" + public[1:], public[:-1], public + b"\x00"):
        with pytest.raises(InvalidKey):
            public_key_from_bytes(bad)
    for bad in (b"", b"\x02" + private[1:], private[:-1], private + b"\x00", not_prime):
        with pytest.raises(InvalidKey):
            private_key_from_bytes(bad)


def test_message_capacity_respects_bound(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, _ = small_keypair
    # execute
    count = ciphertexts_per_message(pk, max_bytes=10_000)
    # assert
    assert len(ciphertexts_to_bytes(Ciphertexts(pk, [1] * count))) <= 10_000
    assert len(ciphertexts_to_bytes(Ciphertexts(pk, [1] * (count + 1)))) > 10_000
