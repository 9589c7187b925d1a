"""Sealed envelopes: party-to-party payloads the coordinator routes but cannot read or forge.

Format (all integers big-endian)::

    version (1 byte, 0x01)
    header length (4 bytes) | header
    ciphertext (ChaCha20-Poly1305, tag included)
    signature (64 bytes, Ed25519 over version ‖ header length ‖ header ‖ ciphertext)

    header = sender ‖ recipient ‖ job ‖ topic   (each: 2-byte length + UTF-8)
             ‖ nonce (16) ‖ timestamp ms (8) ‖ ephemeral X25519 public key (32)

The AEAD key is HKDF-SHA256 over X25519(ephemeral, recipient's sealing key), salted with the
nonce and bound to the whole header; the header is also the AEAD's associated data. A fresh
ephemeral key per envelope gives a fresh AEAD key, so a fixed AEAD nonce is safe. The routing
fields are readable (``peek_header``) so the coordinator can relay; nothing else is.
See docs/trust-model.md.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from node.crypto.exceptions import InvalidEnvelope, ReplayedEnvelope

VERSION: Final = 0x01
NONCE_BYTES: Final = 16
SIGNATURE_BYTES: Final = 64
# Envelopes older or newer than this are refused; nonces are remembered this long, so the
# window bounds both clock skew between parties and the replay cache's memory.
DEFAULT_WINDOW_S: Final = 300.0
_INFO: Final = b"fedcredit envelope v1"
_AEAD_NONCE: Final = b"\x00" * 12
_RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class Header:
    """Routing metadata of an envelope: readable by the relay, authenticated by the sender."""

    sender: str
    recipient: str
    job: str
    topic: str
    nonce: bytes
    timestamp_ms: int
    ephemeral: bytes


@dataclass(frozen=True)
class OpenedEnvelope:
    """A verified, decrypted envelope."""

    payload: bytes
    header: Header


def _pack_str(value: str) -> bytes:
    raw = value.encode()
    if len(raw) > 0xFFFF:
        raise ValueError("envelope header field longer than 65535 bytes")
    return struct.pack(">H", len(raw)) + raw


def _encode_header(h: Header) -> bytes:
    return b"".join(
        [
            _pack_str(h.sender),
            _pack_str(h.recipient),
            _pack_str(h.job),
            _pack_str(h.topic),
            h.nonce,
            struct.pack(">Q", h.timestamp_ms),
            h.ephemeral,
        ]
    )


def _decode_header(raw: bytes) -> Header:
    pos = 0
    fields = []
    for _ in range(4):
        (n,) = struct.unpack_from(">H", raw, pos)
        pos += 2
        fields.append(raw[pos : pos + n].decode())
        pos += n
    nonce = raw[pos : pos + NONCE_BYTES]
    pos += NONCE_BYTES
    (ts,) = struct.unpack_from(">Q", raw, pos)
    pos += 8
    eph = raw[pos : pos + 32]
    if len(nonce) != NONCE_BYTES or len(eph) != 32 or pos + 32 != len(raw):
        raise ValueError("truncated header")
    return Header(*fields, nonce=nonce, timestamp_ms=ts, ephemeral=eph)


def _split(blob: bytes) -> tuple[bytes, Header, bytes, bytes]:
    """Return (signed part, header, ciphertext, signature) or raise InvalidEnvelope."""
    try:
        if len(blob) < 5 + SIGNATURE_BYTES or blob[0] != VERSION:
            raise ValueError("unknown version or too short")
        (hlen,) = struct.unpack_from(">I", blob, 1)
        header_raw = blob[5 : 5 + hlen]
        body_end = len(blob) - SIGNATURE_BYTES
        if 5 + hlen > body_end:
            raise ValueError("header overruns the envelope")
        header = _decode_header(header_raw)
        return blob[:body_end], header, blob[5 + hlen : body_end], blob[body_end:]
    except (ValueError, struct.error, UnicodeDecodeError):
        raise InvalidEnvelope("malformed envelope") from None


def peek_header(blob: bytes) -> Header:
    """Read the routing header without opening or authenticating anything.

    Raises
    ------
    InvalidEnvelope
        Not an envelope of a supported version.
    """
    return _split(blob)[1]


def _key(shared: bytes, header_raw: bytes, nonce: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=nonce, info=_INFO + header_raw).derive(shared)


def seal(
    payload: bytes,
    *,
    sender: str,
    sign_key: Ed25519PrivateKey,
    recipient: str,
    recipient_seal_public: bytes,
    job: str,
    topic: str,
    now: float | None = None,
) -> bytes:
    """Encrypt ``payload`` to the recipient's sealing key and sign it as ``sender``."""
    ephemeral = X25519PrivateKey.generate()
    header = Header(
        sender=sender,
        recipient=recipient,
        job=job,
        topic=topic,
        nonce=os.urandom(NONCE_BYTES),
        timestamp_ms=int((time.time() if now is None else now) * 1000),
        ephemeral=ephemeral.public_key().public_bytes(*_RAW),
    )
    header_raw = _encode_header(header)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_seal_public))
    ciphertext = ChaCha20Poly1305(_key(shared, header_raw, header.nonce)).encrypt(
        _AEAD_NONCE, payload, header_raw
    )
    body = bytes([VERSION]) + struct.pack(">I", len(header_raw)) + header_raw + ciphertext
    return body + sign_key.sign(body)


class ReplayGuard:
    """Remembers nonces for the acceptance window; thread-safe, memory bounded by the window."""

    def __init__(self, window_s: float = DEFAULT_WINDOW_S) -> None:
        self.window_s = window_s
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, header: Header, now: float | None = None) -> None:
        """Accept a header once; raise ``ReplayedEnvelope`` for a repeat or a stale time."""
        moment = time.time() if now is None else now
        if abs(moment - header.timestamp_ms / 1000.0) > self.window_s:
            raise ReplayedEnvelope(
                f"envelope time is outside the {self.window_s:.0f} s window; "
                "check the clocks of sender and recipient"
            )
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < moment - 2 * self.window_s:
                self._seen.popitem(last=False)
            if header.nonce in self._seen:
                raise ReplayedEnvelope("envelope was already received (replay refused)")
            self._seen[header.nonce] = moment


def open_envelope(
    blob: bytes,
    *,
    recipient: str,
    seal_key: X25519PrivateKey,
    sender_sign_public: bytes,
    replay_guard: ReplayGuard,
    now: float | None = None,
) -> OpenedEnvelope:
    """Authenticate, check freshness and decrypt an envelope addressed to ``recipient``.

    ``sender_sign_public`` must come from the sender's verified certificate (look the sender
    up by ``peek_header(blob).sender``).

    Raises
    ------
    InvalidEnvelope
        Malformed, unknown version, addressed to someone else, bad signature or bad tag.
    ReplayedEnvelope
        Seen before, or outside the time window.
    """
    body, header, ciphertext, signature = _split(blob)
    if header.recipient != recipient:
        raise InvalidEnvelope("envelope is not addressed to this party")
    try:
        Ed25519PublicKey.from_public_bytes(sender_sign_public).verify(signature, body)
    except (InvalidSignature, ValueError):
        raise InvalidEnvelope("envelope signature does not verify") from None
    replay_guard.check(header, now)
    header_raw = body[5 : 5 + len(body) - 5 - len(ciphertext)]
    try:
        shared = seal_key.exchange(X25519PublicKey.from_public_bytes(header.ephemeral))
        payload = ChaCha20Poly1305(_key(shared, header_raw, header.nonce)).decrypt(
            _AEAD_NONCE, ciphertext, header_raw
        )
    except (InvalidTag, ValueError):
        raise InvalidEnvelope("envelope does not decrypt with this party's key") from None
    return OpenedEnvelope(payload=payload, header=header)
