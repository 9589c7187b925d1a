"""Byte formats for Paillier keys and ciphertext vectors, each led by a version byte.

Formats (all integers big-endian):

- public key:  ``0x01 | u16 len | n``
- private key: ``0x01 | u16 len | p | u16 len | q``
- ciphertexts: ``0x01 | 8-byte key fingerprint | u32 count | u16 width | count * width``
  where ``width`` is the byte length of ``n^2`` (fixed-width so a blob's size is checkable
  before anything is parsed).

Every ciphertext read is checked to lie in ``Z*_{n^2}``: ``0 < c < n^2`` and
``gcd(c, n) == 1``. A value outside it is either garbage or an attempt to make the key holder
decrypt something that is not a ciphertext (a ``c`` sharing a factor with ``n`` would even
leak that factor through the decryption result).
"""

from __future__ import annotations

import struct

import gmpy2
from gmpy2 import mpz

from node.crypto.paillier.ciphertexts import Ciphertexts, as_ciphertexts
from node.crypto.paillier.exceptions import InvalidCiphertext, InvalidKey
from node.crypto.paillier.keys import PrivateKey, PublicKey

VERSION = 1
FINGERPRINT_BYTES = 8
_CT_HEADER = struct.Struct(">B8sIH")


def _width(pk: PublicKey) -> int:
    return (pk.nsquare.bit_length() + 7) // 8


def ciphertexts_per_message(pk: PublicKey, max_bytes: int) -> int:
    """How many ciphertexts fit one blob of at most ``max_bytes`` bytes.

    Protocols pass ``node.transport.limits.MAX_PAYLOAD_BYTES`` (the relay's bound); the crypto
    layer sits below the transport and does not know it.
    """
    return max(1, (max_bytes - _CT_HEADER.size) // _width(pk))


def _pack_int(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return struct.pack(">H", len(raw)) + raw


def _read_int(blob: bytes, offset: int, what: str) -> tuple[int, int]:
    if offset + 2 > len(blob):
        raise InvalidKey(f"{what} is truncated")
    (length,) = struct.unpack_from(">H", blob, offset)
    end = offset + 2 + length
    if length == 0 or end > len(blob):
        raise InvalidKey(f"{what} is truncated")
    return int.from_bytes(blob[offset + 2 : end], "big"), end


def public_key_to_bytes(pk: PublicKey) -> bytes:
    """Serialize a public key (version byte, then ``n``)."""
    return bytes([VERSION]) + _pack_int(pk.n)


def public_key_from_bytes(blob: bytes) -> PublicKey:
    """Parse a public key.

    Raises
    ------
    InvalidKey
        Unknown version, truncated, trailing bytes, or a modulus that is not a valid one.
    """
    if not blob or blob[0] != VERSION:
        raise InvalidKey("unknown public key format version")
    n, end = _read_int(blob, 1, "public key")
    if end != len(blob):
        raise InvalidKey("public key has trailing bytes")
    return PublicKey(n)


def private_key_to_bytes(sk: PrivateKey) -> bytes:
    """Serialize a private key (version byte, ``p``, ``q``): secret, store it sealed."""
    return bytes([VERSION]) + _pack_int(sk.p) + _pack_int(sk.q)


def private_key_from_bytes(blob: bytes) -> PrivateKey:
    """Parse a private key; its public key is ``p * q``.

    Raises
    ------
    InvalidKey
        Unknown version, truncated, trailing bytes, a non-prime factor, or equal primes.
    """
    if not blob or blob[0] != VERSION:
        raise InvalidKey("unknown private key format version")
    p, offset = _read_int(blob, 1, "private key")
    q, end = _read_int(blob, offset, "private key")
    if end != len(blob):
        raise InvalidKey("private key has trailing bytes")
    if not (gmpy2.is_prime(p) and gmpy2.is_prime(q)):
        raise InvalidKey("a private key factor is not prime")
    return PrivateKey(PublicKey(p * q), p, q)


def ciphertexts_to_bytes(cts: Ciphertexts) -> bytes:
    """Serialize ciphertexts at fixed width, marked with their key (see the module docstring)."""
    pk = cts.key
    width = _width(pk)
    header = _CT_HEADER.pack(VERSION, pk.fingerprint[:FINGERPRINT_BYTES], len(cts), width)
    return header + b"".join(int(c).to_bytes(width, "big") for c in cts.values)


def ciphertexts_from_bytes(pk: PublicKey, blob: bytes, *, check_units: bool = True) -> Ciphertexts:
    """Parse and validate ciphertexts serialized under ``pk``, bound to ``pk``.

    The result is typed: it can only be combined with ciphertexts under the same key
    (``Ciphertexts``), so a blob made under another key is refused here, by its fingerprint,
    and cannot slip into a sum later.

    ``check_units=False`` skips the coprimality test (a ``gcd`` with ``n`` per value, the
    costliest check). It is only for receivers that never decrypt what they parse and whose
    results reach a key holder that checks again before decrypting: a non-unit can leak a
    factor of ``n`` only when it is decrypted. Most callers want the default.

    Raises
    ------
    InvalidCiphertext
        Unknown version, another key's fingerprint, a length that does not match the count,
        or a value outside ``Z*_{n^2}`` (the error names its position).
    """
    if len(blob) < _CT_HEADER.size:
        raise InvalidCiphertext("blob is shorter than its header")
    version, fingerprint, count, width = _CT_HEADER.unpack_from(blob)
    if version != VERSION:
        raise InvalidCiphertext(f"unknown format version {version}")
    if fingerprint != pk.fingerprint[:FINGERPRINT_BYTES]:
        raise InvalidCiphertext("encrypted under another public key")
    if width != _width(pk):
        raise InvalidCiphertext(f"width {width} does not match the key ({_width(pk)} bytes)")
    if len(blob) != _CT_HEADER.size + count * width:
        raise InvalidCiphertext(f"length does not match the declared count of {count}")
    n, nsquare = mpz(pk.n), mpz(pk.nsquare)
    out: list[int] = []
    offset = _CT_HEADER.size
    for position in range(count):
        c = int.from_bytes(blob[offset : offset + width], "big")
        offset += width
        if not 0 < c < nsquare:
            raise InvalidCiphertext("value is outside (0, n^2)", position)
        if check_units and gmpy2.gcd(c, n) != 1:
            raise InvalidCiphertext("value is not invertible modulo n^2", position)
        out.append(c)
    return Ciphertexts(pk, as_ciphertexts(out))
