"""Sealing the coordinator's secrets at rest (the key holder's Paillier key, for one).

Checkpoints of the coordinator's protocol roles are stored encrypted with AES-256-GCM under a
key that only the coordinator process reads: a 0600 file in its 0700 state directory, created
on first start. A copy of ``coordinator.sqlite`` (a backup, a support bundle, a stolen disk
image without the key file) therefore holds no usable secret. Each blob is bound to its row
(job id and checkpoint name as associated data), so a sealed blob moved to another job's row
does not open.

Blob format: version byte ``0x01`` ‖ 12-byte random nonce ‖ ciphertext with its 16-byte tag.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from node.pki.files import write_private

VERSION: Final = b"\x01"
KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12


class SealedSecretError(Exception):
    """A sealed blob does not open: wrong key file, another row's blob, or tampered bytes."""


class SecretBox:
    """Seals and opens blobs under the coordinator's at-rest key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the at-rest key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_key_file(cls, path: Path) -> SecretBox:
        """Load the key at ``path``, creating it (0600) on first use.

        Losing the file makes sealed checkpoints unreadable; jobs then restart their
        coordinator role from scratch, which is safe (a new Paillier key per attempt).
        """
        if not path.exists():
            write_private(path, os.urandom(KEY_BYTES))
        return cls(path.read_bytes())

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
