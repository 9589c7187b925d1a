"""Sealing the coordinator's secrets at rest (the key holder's Paillier key, for one).

Checkpoints of the coordinator's protocol roles are stored encrypted with AES-256-GCM under a
key derived from the coordinator's own private signing key (``<name>.sign.key``, 0600). A copy
of the database (a backup, a support bundle, a stolen disk image or PostgreSQL dump without
the key) therefore holds no usable secret. Each blob is bound to its row
(job id and checkpoint name as associated data), so a sealed blob moved to another job's row
does not open.

Blob format: version byte ``0x01`` ‖ 12-byte random nonce ‖ ciphertext with its 16-byte tag.
"""

from __future__ import annotations

import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION: Final = b"\x01"
KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
_INFO: Final = b"fedcredit coordinator checkpoint seal v1"


class SealedSecretError(Exception):
    """A sealed blob does not open: wrong key file, another row's blob, or tampered bytes."""


class SecretBox:
    """Seals and opens blobs under the coordinator's at-rest key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the at-rest key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    @classmethod
    def for_coordinator(cls, sign_key: Ed25519PrivateKey) -> SecretBox:
        """The at-rest key derived (HKDF-SHA256) from the coordinator's own private signing key.

        Only a process holding the coordinator's key can open what it sealed, and an active
        coordinator and its standbys (same certificate, shared database) open each other's
        checkpoints. Re-issuing the coordinator's keys makes earlier checkpoints unreadable:
        running jobs then restart their coordinator role from scratch, which is safe (a new
        Paillier key per attempt).
        """
        raw = sign_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        key = HKDF(hashes.SHA256(), KEY_BYTES, salt=None, info=_INFO).derive(raw)
        return cls(key)

    def seal(self, data: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, data, context)

    def open(self, blob: bytes, context: bytes) -> bytes:
        """The plaintext of ``blob``.

        Raises
        ------
        SealedSecretError
            Unknown version, truncated blob, or authentication failure.
        """
        if blob[:1] != VERSION or len(blob) < 1 + NONCE_BYTES + 16:
            raise SealedSecretError("not a sealed blob of a supported version")
        try:
            return self._aead.decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], context)
        except InvalidTag:
            raise SealedSecretError(
                "sealed blob does not open under this coordinator's key"
            ) from None
