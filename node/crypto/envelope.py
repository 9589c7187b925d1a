"""Sealed envelopes: party-to-party payloads the coordinator routes but cannot read or forge.

Format (all integers big-endian)::

    version (1 byte, 0x01)
    header length (4 bytes) | header
    ciphertext (ChaCha20-Poly1305, tag included)
    signature (64 bytes, Ed25519 over "fedcredit envelope v1 sig" ‖ SHA-256(body))

    body = version ‖ header length ‖ header ‖ ciphertext

    header = sender ‖ recipient ‖ job ‖ topic   (each: 2-byte length + UTF-8)
             ‖ nonce (16) ‖ timestamp ms (8) ‖ ephemeral X25519 public key (32)

The AEAD key is HKDF-SHA256 over X25519(ephemeral, recipient's sealing key), salted with the
nonce and bound to the whole header; the header is also the AEAD's associated data. A fresh
ephemeral key per envelope gives a fresh AEAD key, so a fixed AEAD nonce is safe. The signature
is over a SHA-256 digest of the body rather than the body itself: pure Ed25519 hashes its
message twice with SHA-512, which made signing a 1 MB payload cost four times the encryption;
one hardware-accelerated SHA-256 pass halves the seal+open time. The routing
fields are readable (``peek_header``) so the coordinator can relay; nothing else is.

Opening checks, in order: version and framing, recipient, Ed25519 signature under the sender's
certified key, freshness (``ReplayGuard``: timestamp within the window, (sender, nonce) not
seen), AEAD tag. Every failure is ``InvalidEnvelope``; a replay is ``ReplayedEnvelope``.
See docs/trust-model.md.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final, Protocol

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
# Envelopes stamped further than this from the recipient's clock are refused; nonces are
# remembered twice this long, so the window bounds both clock skew and the replay cache.
DEFAULT_WINDOW_S: Final = 300.0
DEFAULT_MAX_ENTRIES: Final = 1_000_000
_INFO: Final = b"fedcredit envelope v1"
_SIG_CONTEXT: Final = b"fedcredit envelope v1 sig"
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
    """A verified, decrypted envelope: the payload and the authenticated header."""

    payload: bytes
    header: Header

    @property
    def sender(self) -> str:
        return self.header.sender

    @property
    def job(self) -> str:
        return self.header.job

    @property
    def topic(self) -> str:
        return self.header.topic

    @property
    def timestamp(self) -> float:
        """Seconds since the epoch, as the sender's clock read when sealing."""
        return self.header.timestamp_ms / 1000.0

    @property
    def nonce(self) -> bytes:
        return self.header.nonce


class SenderKeys(Protocol):
    """What sealing needs from the sender (``node.pki.NodeCredentials`` satisfies it)."""

    @property
    def identity(self) -> _Named: ...

    @property
    def sign_key(self) -> Ed25519PrivateKey: ...


class RecipientKeys(Protocol):
    """What opening needs from the recipient (``node.pki.NodeCredentials`` satisfies it)."""

    @property
    def identity(self) -> _Named: ...

    @property
    def seal_key(self) -> X25519PrivateKey: ...


class _Named(Protocol):
    @property
    def node_id(self) -> str: ...


class PeerKeys(Protocol):
    """A peer's verified public keys (``node.pki.Identity`` satisfies it)."""

    @property
    def node_id(self) -> str: ...

    @property
    def seal_public(self) -> bytes: ...

    @property
    def sign_public(self) -> bytes: ...


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
    fields: list[str] = []
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
    sender, recipient, job, topic = fields
    return Header(sender, recipient, job, topic, nonce=nonce, timestamp_ms=ts, ephemeral=eph)


@dataclass(frozen=True)
class _Parts:
    body: memoryview  # version ‖ header length ‖ header ‖ ciphertext: what is signed
    header_raw: bytes
    header: Header
    ciphertext: memoryview
    signature: bytes


def _split(blob: bytes) -> _Parts:
    """Cut an envelope into its parts without copying the ciphertext, or raise InvalidEnvelope."""
    try:
        if not isinstance(blob, bytes | bytearray | memoryview):
            raise TypeError
        view = memoryview(blob)
        if len(view) < 5 + SIGNATURE_BYTES or view[0] != VERSION:
            raise ValueError("unknown version or too short")
        (hlen,) = struct.unpack_from(">I", view, 1)
        body_end = len(view) - SIGNATURE_BYTES
        if 5 + hlen > body_end:
            raise ValueError("header overruns the envelope")
        header_raw = bytes(view[5 : 5 + hlen])
        return _Parts(
            body=view[:body_end],
            header_raw=header_raw,
            header=_decode_header(header_raw),
            ciphertext=view[5 + hlen : body_end],
            signature=bytes(view[body_end:]),
        )
    except (ValueError, TypeError, struct.error, UnicodeDecodeError):
        raise InvalidEnvelope("malformed envelope") from None


def peek_header(blob: bytes) -> Header:
    """Read the routing header without opening or authenticating anything.

    Raises
    ------
    InvalidEnvelope
        Not an envelope of a supported version.
    """
    return _split(blob).header


def _to_sign(body: bytes | memoryview) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(body)
    return _SIG_CONTEXT + digest.finalize()


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
    """Encrypt ``payload`` to the recipient's sealing key and sign it as ``sender``.

    Parameters
    ----------
    payload
        Any bytes; sealed in one shot (a 1 MB payload costs one AEAD pass and one signature).
    sender, sign_key
        The sender's node id and Ed25519 key, as in its certificate.
    recipient, recipient_seal_public
        The recipient's node id and X25519 key, both taken from its *verified* certificate
        (``node.pki.verify_peer``); never from the coordinator's word alone.
    job, topic
        Routing metadata, readable by the relay (``peek_header``) and authenticated.
    now
        Seconds since the epoch to stamp (default: the clock); tests only.

    Raises
    ------
    ValueError
        A header field is longer than 65535 bytes, or the recipient key is not 32 bytes.
    """
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
    body = b"".join((bytes([VERSION]), struct.pack(">I", len(header_raw)), header_raw, ciphertext))
    return body + sign_key.sign(_to_sign(body))


def seal_to(
    payload: bytes,
    *,
    sender: SenderKeys,
    recipient: PeerKeys,
    job: str,
    topic: str,
    now: float | None = None,
) -> bytes:
    """``seal`` from a party's own credentials to a peer's verified identity.

    Raises
    ------
    ValueError
        As ``seal``.
    """
    return seal(
        payload,
        sender=sender.identity.node_id,
        sign_key=sender.sign_key,
        recipient=recipient.node_id,
        recipient_seal_public=recipient.seal_public,
        job=job,
        topic=topic,
        now=now,
    )


class ReplayGuard:
    """Accepts each (sender, nonce) once, and only within a time window around its stamp.

    An envelope whose timestamp differs from the recipient's clock by more than
    ``window_s`` is refused, so a nonce need only be remembered until no envelope carrying
    it could be accepted any more (``2 * window_s`` after receipt, which covers stamps up to
    ``window_s`` in the future). Memory is therefore bounded by the number of authenticated
    envelopes received in ``2 * window_s``: only envelopes whose signature verified reach
    the guard, so an outsider cannot fill it. Thread-safe; use one guard per recipient
    process (a guard per connection would let a replay through another connection).

    This guard keeps its memory in the process: after a restart, an envelope from the last
    window would be accepted once more. Long-running parties use ``PersistentReplayGuard``
    (``node.crypto.replay``), which keeps it in SQLite in the party's state folder.

    Parameters
    ----------
    window_s
        Accepted clock difference in seconds, default 300: NTP keeps servers within well
        under a second, but data-centre nodes behind strict egress may drift; five minutes is
        Kerberos's customary skew allowance. A smaller window means less memory and a
        shorter replay exposure if the guard's state is lost in a restart.
    max_entries
        Hard cap on remembered nonces (about 200 bytes each), default one million: far above
        any job's message rate, but it stops a compromised party that floods valid envelopes
        from exhausting memory. When full, new envelopes are refused (``ReplayedEnvelope``,
        retry later) rather than old nonces forgotten, which would re-open replays.

    Raises
    ------
    ValueError
        ``window_s`` or ``max_entries`` is not positive.
    """

    def __init__(
        self, window_s: float = DEFAULT_WINDOW_S, max_entries: int = DEFAULT_MAX_ENTRIES
    ) -> None:
        if not window_s > 0:
            raise ValueError(f"window_s must be positive, got {window_s}")
        if max_entries <= 0:
            raise ValueError(f"max_entries must be positive, got {max_entries}")
        self.window_s = window_s
        self.max_entries = max_entries
        self._seen: OrderedDict[tuple[str, bytes], float] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def remembered(self) -> int:
        """How many (sender, nonce) pairs are held now (no ``__len__``: an empty guard must
        not be falsy, or ``guard or ReplayGuard()`` would silently start a fresh one)."""
        with self._lock:
            return len(self._seen)

    def check(self, header: Header, now: float | None = None) -> None:
        """Accept a header once; raise ``ReplayedEnvelope`` for a repeat or a stale time.

        Call only after the envelope's signature verified (``open_envelope`` does).

        Raises
        ------
        ReplayedEnvelope
            The (sender, nonce) pair was accepted before, the stamp is outside the window, or
            the cache is full.
        """
        moment = time.time() if now is None else now
        if abs(moment - header.timestamp_ms / 1000.0) > self.window_s:
            raise ReplayedEnvelope(
                f"envelope time is outside the {self.window_s:.0f} s window; "
                "check the clocks of sender and recipient"
            )
        self._remember(header.sender, header.nonce, moment)

    def _remember(self, sender: str, nonce: bytes, moment: float) -> None:
        """Record (sender, nonce) as seen at ``moment``, refusing a repeat or a full cache.

        Subclasses keep the record elsewhere (``node.crypto.replay`` persists it) and MUST
        forget nothing younger than ``2 * window_s`` and refuse rather than forget when full.
        """
        key = (sender, nonce)
        with self._lock:
            horizon = moment - 2 * self.window_s
            while self._seen and next(iter(self._seen.values())) < horizon:
                self._seen.popitem(last=False)
            if key in self._seen:
                raise ReplayedEnvelope(ALREADY_RECEIVED)
            if len(self._seen) >= self.max_entries:
                raise cache_full(self.max_entries)
            self._seen[key] = moment


ALREADY_RECEIVED: Final = "envelope was already received (replay refused)"


def cache_full(limit: int) -> ReplayedEnvelope:
    """The refusal when a guard holds ``limit`` nonces of the window already."""
    return ReplayedEnvelope(
        f"replay cache full ({limit} envelopes in the window); "
        "refusing new envelopes until older ones expire, retry later"
    )


def _verify_signature(parts: _Parts, sender_sign_public: bytes) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(sender_sign_public).verify(
            parts.signature, _to_sign(parts.body)
        )
    except (InvalidSignature, ValueError):
        raise InvalidEnvelope("envelope signature does not verify") from None


def verify_sender(blob: bytes, sender_sign_public: bytes) -> Header:
    """Check an envelope's signature under its sender's key without opening it; return its header.

    For a relay: it cannot decrypt (and must not try), but it can refuse what its claimed
    sender did not sign before passing it on. Freshness and replay are the recipient's checks.

    Raises
    ------
    InvalidEnvelope
        Malformed, unknown version, or the signature does not verify under the key.
    """
    parts = _split(blob)
    _verify_signature(parts, sender_sign_public)
    return parts.header


def open_envelope(
    blob: bytes,
    *,
    recipient: str,
    seal_key: X25519PrivateKey,
    sender_sign_public: bytes,
    replay_guard: ReplayGuard,
    sender: str | None = None,
    now: float | None = None,
) -> OpenedEnvelope:
    """Authenticate, check freshness and decrypt an envelope addressed to ``recipient``.

    Order: parse, recipient, signature, freshness, decryption; nothing is decrypted before
    the signature verified, and only authenticated envelopes use up a nonce.

    Parameters
    ----------
    blob
        The envelope as received.
    recipient, seal_key
        This party's node id and X25519 key.
    sender_sign_public
        The sender's Ed25519 key from its *verified* certificate (look the sender up by
        ``peek_header(blob).sender``).
    replay_guard
        This party's guard; one per process.
    sender
        If given, the envelope must name this sender (use it when the key was looked up by
        anything but the header's sender field).
    now
        Seconds since the epoch to check freshness at (default: the clock); tests only.

    Raises
    ------
    InvalidEnvelope
        Malformed, unknown version, addressed to someone else, from another sender than
        expected, bad signature or bad tag. One class on purpose: callers must not branch
        on which check failed.
    ReplayedEnvelope
        Seen before, or outside the time window (a subclass of ``InvalidEnvelope``).
    """
    parts = _split(blob)
    header = parts.header
    if header.recipient != recipient:
        raise InvalidEnvelope("envelope is not addressed to this party")
    if sender is not None and header.sender != sender:
        raise InvalidEnvelope("envelope is not from the expected sender")
    _verify_signature(parts, sender_sign_public)
    replay_guard.check(header, now)
    try:
        shared = seal_key.exchange(X25519PublicKey.from_public_bytes(header.ephemeral))
        payload = ChaCha20Poly1305(_key(shared, parts.header_raw, header.nonce)).decrypt(
            _AEAD_NONCE, parts.ciphertext, parts.header_raw
        )
    except (InvalidTag, ValueError):
        raise InvalidEnvelope("envelope does not decrypt with this party's key") from None
    return OpenedEnvelope(payload=payload, header=header)


def open_from(
    blob: bytes,
    *,
    recipient: RecipientKeys,
    sender: PeerKeys,
    replay_guard: ReplayGuard,
    now: float | None = None,
) -> OpenedEnvelope:
    """``open_envelope`` with this party's credentials and the sender's verified identity.

    Raises
    ------
    InvalidEnvelope
        As ``open_envelope``; also if the envelope names another sender than ``sender``.
    ReplayedEnvelope
        As ``open_envelope``.
    """
    return open_envelope(
        blob,
        recipient=recipient.identity.node_id,
        seal_key=recipient.seal_key,
        sender_sign_public=sender.sign_public,
        replay_guard=replay_guard,
        sender=sender.node_id,
        now=now,
    )
