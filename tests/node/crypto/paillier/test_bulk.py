"""Tests for encrypting and decrypting many values, in-process and in worker processes."""

from __future__ import annotations

import pytest

from node.compute import worker_pool
from node.crypto.paillier import (
    PlaintextOutOfRange,
    PrivateKey,
    PublicKey,
    decrypt_many,
    encrypt_many,
)


def test_many_in_process(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, sk = small_keypair
    values = list(range(-20, 20))
    # execute
    cs = encrypt_many(pk, values)
    # assert
    assert decrypt_many(sk, cs, signed=True) == values
    assert decrypt_many(sk, cs[20:]) == values[20:]


def test_many_in_worker_processes(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, sk = small_keypair
    values = [i * 1000 - 7 for i in range(-60, 60)]
    # execute
    with worker_pool(2) as pool:
        cs = encrypt_many(pk, values, pool=pool, chunk=25)
        plain = decrypt_many(sk, cs, pool=pool, signed=True, chunk=25)
    # assert
    assert plain == values
    assert len(set(cs)) == len(values)


def test_out_of_range_names_position(small_keypair: tuple[PublicKey, PrivateKey]) -> None:
    # prepare
    pk, _ = small_keypair
    # execute
    with pytest.raises(PlaintextOutOfRange) as info:
        encrypt_many(pk, [1, 2, pk.n + 5])
    # assert
    assert info.value.position == 2
