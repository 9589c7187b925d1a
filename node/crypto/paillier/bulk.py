"""Encrypting and decrypting many values, optionally across worker processes.

Workers receive only integers (the modulus, or the primes for decryption) and chunks of a few
thousand values, so pickling stays small next to the arithmetic; each worker builds and caches
its own DJN table and key objects. Handing the primes to worker processes keeps them on the
same machine and in the same trust domain as the key holder.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor

from node.crypto.paillier.ciphertexts import Ciphertexts, as_ciphertexts
from node.crypto.paillier.keys import Ciphertext, PrivateKey, PublicKey

CHUNK = 2048
"""Values per worker task: large enough that pickling is noise, small enough to balance."""

_private_cache: dict[tuple[int, int], PrivateKey] = {}


def _encrypt_chunk(n: int, residues: list[int]) -> list[Ciphertext]:
    public = PublicKey(n)
    return [public.encrypt(m) for m in residues]


def _decrypt_chunk(p: int, q: int, cs: tuple[Ciphertext, ...], signed: bool) -> list[int]:
    private = _private_cache.get((p, q))
    if private is None:
        private = PrivateKey(PublicKey(p * q), p, q)
        _private_cache.clear()
        _private_cache[(p, q)] = private
    if signed:
        return [private.decrypt_signed(c) for c in cs]
    return [private.decrypt(c) for c in cs]


def encrypt_many(
    pk: PublicKey, ms: Sequence[int], pool: Executor | None = None, chunk: int = CHUNK
) -> Ciphertexts:
    """Encrypt every value of ``ms`` (signed values allowed), in order, under ``pk``.

    Raises
    ------
    PlaintextOutOfRange
        A value is outside ``[-(n//2), n)``; the error names its position.
    """
    residues = [pk.to_residue(int(m), i) for i, m in enumerate(ms)]
    if pool is None or len(residues) <= chunk:
        return Ciphertexts(pk, [pk.encrypt(m) for m in residues])
    parts = [residues[i : i + chunk] for i in range(0, len(residues), chunk)]
    futures = [pool.submit(_encrypt_chunk, pk.n, part) for part in parts]
    out: list[Ciphertext] = []
    for future in futures:
        out.extend(future.result())
    return Ciphertexts(pk, as_ciphertexts(out))


def decrypt_many(
    sk: PrivateKey,
    cts: Ciphertexts,
    pool: Executor | None = None,
    signed: bool = False,
    chunk: int = CHUNK // 4,
) -> list[int]:
    """Decrypt every ciphertext of ``cts``, in order (``signed``: see ``decrypt_signed``).

    Raises
    ------
    KeyMismatch
        ``cts`` was made under another public key than ``sk``'s.
    """
    values = cts.require(sk.public_key, "decrypt").values
    if pool is None or len(values) <= chunk:
        if signed:
            return [sk.decrypt_signed(c) for c in values]
        return [sk.decrypt(c) for c in values]
    parts = [values[i : i + chunk] for i in range(0, len(values), chunk)]
    futures = [pool.submit(_decrypt_chunk, sk.p, sk.q, part, signed) for part in parts]
    out: list[int] = []
    for future in futures:
        out.extend(future.result())
    return out
