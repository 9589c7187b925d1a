"""Errors of the Paillier core, one class per failure a caller handles differently."""

from __future__ import annotations


class PaillierError(Exception):
    """Base class for every error raised by ``node.crypto.paillier``."""


class InvalidCiphertext(PaillierError, ValueError):
    """A received ciphertext (or ciphertext blob) is malformed or outside ``Z*_{n^2}``.

    Carries the ``position`` of the offending ciphertext in its blob (``None`` when the blob as a
    whole is malformed) and the ``reason``; never the ciphertext itself.
    """

    def __init__(self, reason: str, position: int | None = None) -> None:
        where = "ciphertext blob" if position is None else f"ciphertext at position {position}"
        super().__init__(
            f"{where} is invalid: {reason}; ask the sender to re-encrypt under the job's key"
        )
        self.reason = reason
        self.position = position


class InvalidKey(PaillierError, ValueError):
    """A serialized key does not parse or is inconsistent (e.g. ``p * q != n``).

    Carries the ``reason`` only; never key material.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"Paillier key is invalid: {reason}")
        self.reason = reason


class PlaintextOutOfRange(PaillierError, ValueError):
    """A plaintext to encrypt does not fit the key's message space.

    Carries the ``position`` (in a batch; ``None`` for a single value) and the key's bit length,
    never the plaintext.
    """

    def __init__(self, n_bits: int, position: int | None = None) -> None:
        where = "plaintext" if position is None else f"plaintext at position {position}"
        super().__init__(
            f"{where} is outside [-(n//2), n) for a {n_bits}-bit key; encode it with fewer "
            "fractional bits or clip it before encrypting"
        )
        self.n_bits = n_bits
        self.position = position


class KeyMismatch(PaillierError, ValueError):
    """Ciphertexts made under one public key met ciphertexts (or a key) of another.

    Adding them, or decrypting them with the other key, would yield garbage without any sign;
    this is raised instead. Carries the ``expected`` and ``found`` key fingerprints (8-byte
    prefixes, as hex) and the ``operation``; never a ciphertext.
    """

    def __init__(self, expected: bytes, found: bytes, operation: str) -> None:
        self.expected = expected[:8].hex()
        self.found = found[:8].hex()
        self.operation = operation
        super().__init__(
            f"cannot {operation} ciphertexts under key {self.found} with key {self.expected}: "
            "every party must use the public key announced for this job"
        )
