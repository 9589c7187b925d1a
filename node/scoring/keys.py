"""Per-pair firm pseudonyms: how a bank names a firm to a holder without sending its code.

Bank and holder each derive the same 32-byte key from their certified X25519 sealing keys
(static-static agreement, HKDF bound to both node ids); no message is needed. A firm's
pseudonym for that pair is ``HMAC-SHA-256(key, normalized USCC)`` truncated to 128 bits. The
holder computes the pseudonyms of its own firms once and looks requests up by them: it learns
which of *its* firms is asked about, and for a firm it does not hold it learns nothing beyond
"not mine" (inverting the HMAC needs the key and a search of the code space per guess). Other
pairs' pseudonyms of the same firm differ, so two holders cannot join their request logs.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from node.data.uscc import normalize

_INFO: Final = b"fedcredit scoring pseudonym v1\x00"


def pair_key(own_seal: X25519PrivateKey, peer_seal_public: bytes, bank: str, holder: str) -> bytes:
    """The pseudonym key of bank ``bank`` and holder ``holder`` (either side computes it)."""
    shared = own_seal.exchange(X25519PublicKey.from_public_bytes(peer_seal_public))
    info = _INFO + bank.encode() + b"\x00" + holder.encode()
    return HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(shared)


class Pseudonyms:
    """Pseudonyms of firms under one pair key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def of(self, code: str) -> str:
        return hmac.digest(self._key, normalize(code).encode(), "sha256").hex()[:32]

    def many(self, codes: Sequence[str]) -> list[str]:
        key, digest = self._key, hmac.digest  # one-shot HMAC (OpenSSL), no object per code
        return [digest(key, normalize(c).encode(), "sha256").hex()[:32] for c in codes]

    def __repr__(self) -> str:
        return "Pseudonyms(key=<redacted>)"
