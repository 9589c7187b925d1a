"""Signed checkpoints: a log's size, root hash and time under the node's Ed25519 key.

A checkpoint is what makes the log tamper-evident to the outside: whoever holds one can later
demand a consistency proof and so detect any rewrite of the first ``size`` entries. The format
(``docs/audit-log.md``) is a short text note, in the spirit of the transparency-log checkpoints
of C2SP, so that it can be read by eye and signed over exact bytes::

    fedcredit-audit-checkpoint/v1
    <origin: the node id>
    <tree size, decimal>
    <root hash, standard base64>
    <time, UTC YYYY-MM-DDTHH:MM:SS.ffffffZ>

    sig ed25519 <key id: 8 hex digits of SHA-256(raw public key)> <signature, base64>

The signature covers the five body lines including their final newline; the first line is a
version marker and domain separator, so a checkpoint signature can never be replayed as a
signature over anything else the node signs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from node.audit.entry import TIME_RE
from node.audit.exceptions import CheckpointSignatureError, InvalidCheckpoint
from node.audit.merkle import HASH_SIZE
from node.pki.exceptions import BadIdentity
from node.pki.identity import identity_from_certificate

HEADER: Final = "fedcredit-audit-checkpoint/v1"
ORIGIN_RE: Final = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
_SIG_RE: Final = re.compile(r"^sig ed25519 ([0-9a-f]{8}) ([A-Za-z0-9+/=]{88})$")


def key_id(public_key: Ed25519PublicKey) -> str:
    """Return the 8-hex-digit hint naming ``public_key`` in signature lines."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:8]


@dataclass(frozen=True)
class Checkpoint:
    """An unsigned statement: the log ``origin`` had ``size`` entries with ``root`` at ``time``.

    Raises
    ------
    InvalidCheckpoint
        ``origin`` has characters outside ``[A-Za-z0-9._:@-]``, ``size`` is negative, the
        root is not 32 bytes, or ``time`` is not in the log's UTC format.
    """

    origin: str
    size: int
    root: bytes
    time: str

    def __post_init__(self) -> None:
        if not ORIGIN_RE.match(self.origin):
            raise InvalidCheckpoint("origin must be 1-128 characters from [A-Za-z0-9._:@-]")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise InvalidCheckpoint("size must be a non-negative integer")
        if len(self.root) != HASH_SIZE:
            raise InvalidCheckpoint(f"root must be {HASH_SIZE} bytes")
        if not TIME_RE.match(self.time):
            raise InvalidCheckpoint("time must be UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ'")

    def body(self) -> bytes:
        """Return the exact bytes the signature covers."""
        root_b64 = base64.b64encode(self.root).decode("ascii")
        return f"{HEADER}\n{self.origin}\n{self.size}\n{root_b64}\n{self.time}\n".encode("ascii")


@dataclass(frozen=True)
class SignedCheckpoint:
    """A ``Checkpoint`` with the node's Ed25519 signature over its body."""

    checkpoint: Checkpoint
    key_id: str
    signature: bytes

    @property
    def origin(self) -> str:
        """The log's origin (node id)."""
        return self.checkpoint.origin

    @property
    def size(self) -> int:
        """The tree size the checkpoint commits to."""
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        """The root hash the checkpoint commits to."""
        return self.checkpoint.root

    @property
    def time(self) -> str:
        """When the node signed it (UTC)."""
        return self.checkpoint.time

    def to_bytes(self) -> bytes:
        """Serialize as body, blank line, signature line: the wire and file form."""
        sig = base64.b64encode(self.signature).decode("ascii")
        return self.checkpoint.body() + f"\nsig ed25519 {self.key_id} {sig}\n".encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedCheckpoint:
        """Parse the form ``to_bytes`` writes; this does NOT check the signature.

        Raises
        ------
        InvalidCheckpoint
            The bytes are not exactly a version-1 signed checkpoint.
        """
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidCheckpoint("not ASCII text") from None
        lines = text.split("\n")
        if len(lines) != 8 or lines[5] != "" or lines[7] != "":
            raise InvalidCheckpoint("expected 5 body lines, a blank line and a signature line")
        if lines[0] != HEADER:
            raise InvalidCheckpoint(f"unknown format {lines[0][:40]!r}; expected {HEADER}")
        if (
            not lines[2].isdigit()
            or len(lines[2]) > 20  # above 2**64: and Python refuses very long int strings
            or (len(lines[2]) > 1 and lines[2][0] == "0")
        ):
            raise InvalidCheckpoint("tree size is not a canonical decimal number")
        try:
            root = base64.b64decode(lines[3], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidCheckpoint("root is not base64") from None
        sig_match = _SIG_RE.match(lines[6])
        if sig_match is None:
            raise InvalidCheckpoint("signature line is not 'sig ed25519 <key id> <base64>'")
        try:
            signature = base64.b64decode(sig_match.group(2), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidCheckpoint("signature is not base64") from None
        checkpoint = Checkpoint(origin=lines[1], size=int(lines[2]), root=root, time=lines[4])
        signed = cls(checkpoint, sig_match.group(1), signature)
        if signed.to_bytes() != data:
            raise InvalidCheckpoint("not in canonical form")
        return signed

    def verify(self, public_key: Ed25519PublicKey) -> Checkpoint:
        """Return the checkpoint if the signature verifies under ``public_key``.

        Raises
        ------
        CheckpointSignatureError
            The signature does not verify (wrong key, altered body or forged signature).
        """
        try:
            public_key.verify(self.signature, self.checkpoint.body())
        except InvalidSignature:
            raise CheckpointSignatureError(self.origin, self.size) from None
        return self.checkpoint


def sign_checkpoint(checkpoint: Checkpoint, private_key: Ed25519PrivateKey) -> SignedCheckpoint:
    """Sign ``checkpoint`` with the node's Ed25519 key."""
    signature = private_key.sign(checkpoint.body())
    return SignedCheckpoint(checkpoint, key_id(private_key.public_key()), signature)


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """Load a node's Ed25519 public key from PEM (key or X.509 certificate) or raw bytes.

    Auditors receive the key out of band; accepting the certificate too means they can use the
    node certificate the federation CA issued.

    Raises
    ------
    ValueError
        The data is none of those forms, or holds a key that is not Ed25519.
    """
    stripped = data.strip()
    key: object
    if len(data) == 32:
        return Ed25519PublicKey.from_public_bytes(data)
    if re.fullmatch(rb"[0-9a-fA-F]{64}", stripped):
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(stripped.decode("ascii")))
    if b"BEGIN CERTIFICATE" in stripped:
        cert = x509.load_pem_x509_certificate(stripped)
        try:  # a federation certificate carries the checkpoint key in its envelope-keys extension
            return Ed25519PublicKey.from_public_bytes(identity_from_certificate(cert).sign_public)
        except BadIdentity:
            key = cert.public_key()
    elif b"BEGIN PUBLIC KEY" in stripped:
        key = serialization.load_pem_public_key(stripped)
    else:
        raise ValueError(
            "public key must be PEM (public key or certificate), 32 raw bytes or 64 hex digits"
        )
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"expected an Ed25519 public key, got {type(key).__name__}")
    return key
