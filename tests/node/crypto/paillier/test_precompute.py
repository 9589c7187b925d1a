"""Encryption with precomputed randomness: correct, never reusing an obfuscator."""

from __future__ import annotations

import secrets

import gmpy2
import pytest
from gmpy2 import mpz

from node.compute import worker_pool
from node.crypto.paillier import PublicKey, RandomnessReserve, encrypt_with, generate_keypair
from node.crypto.paillier.obfuscation import FixedBaseTable
from node.crypto.paillier.precompute import CrtObfuscator


def test_prefetched_obfuscators_encrypt_correctly_and_are_used_once() -> None:
    # prepare: a 768-bit key keeps the worker-side DJN tables quick to build
    public, private = generate_keypair(768)
    values = [0, 1, -1, 12345, -(1 << 60), public.n // 2 - 1]
    with worker_pool(2) as pool:
        reserve = RandomnessReserve(public, pool)
        reserve.prefetch(len(values) + 3)
        # execute
        first = encrypt_with(public, values, reserve.take(len(values)))
        rest = reserve.take(5)  # 3 prefetched, 2 drawn here
    # assert
    assert [private.decrypt_signed(c) for c in first] == values
    assert len(set(first)) == len(first) and len(rest) == 5
    assert reserve.queued == 0


def test_encrypt_with_refuses_mismatched_lengths_and_out_of_range_values() -> None:
    public = PublicKey(generate_keypair(512)[0].n)
    reserve = RandomnessReserve(public, None)
    with pytest.raises(ValueError, match="2 values but 1 obfuscators"):
        encrypt_with(public, [1, 2], reserve.take(1))
    from node.crypto.paillier import PlaintextOutOfRange

    with pytest.raises(PlaintextOutOfRange):
        encrypt_with(public, [public.n], reserve.take(1))


def test_key_holder_draws_the_same_kind_of_obfuscator_through_the_primes() -> None:
    # prepare
    public, private = generate_keypair(768)
    crt = CrtObfuscator(private.p, private.q)
    lam = (private.p - 1) * (private.q - 1)
    # execute
    drawn = [int(crt.draw()) for _ in range(20)]
    reserve = RandomnessReserve(public, None, private)
    cells = encrypt_with(public, list(range(-10, 10)), reserve.take(20))
    # assert: n-th residues modulo n^2 (what r^n and h_s^a are), all distinct, decrypting right
    assert all(pow(r, lam, public.nsquare) == 1 for r in drawn)
    assert len(set(drawn)) == 20 and all(0 < r < public.nsquare for r in drawn)
    assert [private.decrypt_signed(c) for c in cells] == list(range(-10, 10))


@pytest.mark.parametrize("window", [1, 5, 8, 12])
def test_fixed_base_table_powers_match_modular_exponentiation(window: int) -> None:
    # prepare: 100-bit exponents, so most windows leave a partial last digit
    modulus = mpz(generate_keypair(512)[0].nsquare)
    base = mpz(secrets.randbelow(int(modulus)))
    table = FixedBaseTable(base, modulus, 100, window)
    exponents = [0, 1, (1 << 100) - 1, *(secrets.randbits(100) for _ in range(20))]
    # execute / assert
    for e in exponents:
        assert table.power(e) == gmpy2.powmod(base, e, modulus)
