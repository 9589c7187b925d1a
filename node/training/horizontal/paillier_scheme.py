"""The ``SumScheme`` jobs use: the project's Paillier core under one key shared by the banks.

The key holder generates the key pair; the other banks receive the private key sealed end to
end; the aggregator is built from the public key alone and can only add. Every contribution
carries the public key's fingerprint, and every ciphertext is range-checked by the core's
deserializer (``InvalidCiphertext``) before it is added, so one bad bank cannot poison the sum
of the others.
"""

from __future__ import annotations

from concurrent.futures import Executor

from node.crypto.paillier import (
    Ciphertexts,
    InvalidCiphertext,
    InvalidKey,
    PrivateKey,
    PublicKey,
    ciphertexts_from_bytes,
    ciphertexts_to_bytes,
    decrypt_many,
    encrypt_many,
    generate_keypair,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_from_bytes,
    public_key_to_bytes,
)
from node.training.cells import Cells, ciphertexts_of
from node.training.horizontal.exceptions import InvalidContribution, KeySetupError
from node.training.horizontal.scheme import CHUNK_ITEMS, SumScheme, fingerprint_of


class PaillierScheme(SumScheme):
    """Paillier encryption of packed plaintexts; addition is ciphertext multiplication."""

    name = "paillier"

    def __init__(
        self, public: PublicKey, private: PrivateKey | None, pool: Executor | None = None
    ) -> None:
        self.public = public
        self.private = private
        self.pool = pool
        self.fingerprint = fingerprint_of(public_key_to_bytes(public))
        if private is not None:
            # Build this process's obfuscation table now, at key setup, so that the first
            # round's encryption does not pay for it: randomness off the critical path.
            public.encrypt(0)

    @classmethod
    def generate(cls, key_bits: int, pool: Executor | None = None) -> PaillierScheme:
        public, private = generate_keypair(n_length=key_bits)
        return cls(public, private, pool)

    @classmethod
    def from_secret(
        cls, secret: bytes, key_bits: int, pool: Executor | None = None
    ) -> PaillierScheme:
        """Raises ``KeySetupError`` when the private key does not parse or has another size."""
        try:
            private = private_key_from_bytes(secret)
        except Exception:  # the core's parse errors vary; all mean "not a usable key"
            raise KeySetupError("the private key from the key holder does not parse") from None
        public = private.public_key
        if public.n.bit_length() != key_bits:
            raise KeySetupError(f"the shared key is not {key_bits} bits as the job file says")
        return cls(public, private, pool)

    @classmethod
    def from_public(cls, public_bytes: bytes, key_bits: int) -> PaillierScheme:
        try:
            public = public_key_from_bytes(public_bytes)
        except InvalidKey as exc:
            raise KeySetupError(f"the public key does not parse ({exc.reason})") from None
        if public.n_bits != key_bits:
            raise KeySetupError(f"the public key is not {key_bits} bits as the job file says")
        return cls(public, None, None)

    def secret_bytes(self) -> bytes:
        if self.private is None:
            raise KeySetupError("this party holds no private key")
        return private_key_to_bytes(self.private)

    def public_bytes(self) -> bytes:
        return public_key_to_bytes(self.public)

    def seal(self, plaintexts: list[int]) -> list[bytes]:
        return self.dump(encrypt_many(self.public, plaintexts, pool=self.pool))

    def _own(self, items: Cells, operation: str) -> Ciphertexts:
        return ciphertexts_of(items).require(self.public, operation)

    def dump(self, items: Cells) -> list[bytes]:
        own = self._own(items, "send")
        return [
            ciphertexts_to_bytes(own[i : i + CHUNK_ITEMS]) for i in range(0, len(own), CHUNK_ITEMS)
        ]

    def load(self, blobs: list[bytes], count: int) -> Ciphertexts:
        parts = []
        for blob in blobs:
            try:
                parts.append(ciphertexts_from_bytes(self.public, blob))
            except InvalidCiphertext as exc:
                raise InvalidContribution(
                    f"ciphertext rejected by the Paillier core ({exc})"
                ) from None
        items = Ciphertexts.join(self.public, parts)
        self._check_count(items, count)
        return items

    def add(self, left: Cells, right: Cells) -> Ciphertexts:
        return self._own(left, "add").add(ciphertexts_of(right))

    def open(self, items: Cells) -> list[int]:
        if self.private is None:
            raise KeySetupError("the aggregator holds no private key and cannot decrypt")
        return decrypt_many(self.private, ciphertexts_of(items), pool=self.pool)
