"""Who a certificate names: organization (O), node id (CN), role (OU), and its envelope keys.

Each certificate carries, in a non-critical extension under a private OID, the node's X25519
sealing key and Ed25519 signing key. The CA signs them with the rest of the certificate, so
the coordinator, which hands certificates out, cannot swap a party's keys for its own.
Extension value: ``b"FCK1" || x25519 public (32 bytes) || ed25519 public (32 bytes)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

from cryptography import x509
from cryptography.x509.oid import NameOID

from node.pki.exceptions import BadIdentity
from node.pki.roles import ALL_ROLES

# A UUID-derived OID (ITU-T X.667, arc 2.25): globally unique without a registration.
ENVELOPE_KEYS_OID: Final = x509.ObjectIdentifier("2.25.230205085147985196621278704386985512782")
_KEYS_MAGIC: Final = b"FCK1"


class Principal(Protocol):
    """Who a call or a job is for, as every decision needs it: organization, node id, role.

    ``Identity`` (from a verified certificate) satisfies it; policy code and tests may pass
    anything with these three read-only attributes.
    """

    @property
    def organization(self) -> str: ...

    @property
    def node_id(self) -> str: ...

    @property
    def role(self) -> str: ...


@dataclass(frozen=True)
class Identity:
    """A verified party: what every authorization and envelope decision is made on."""

    organization: str
    node_id: str
    role: str
    serial: int
    seal_public: bytes
    sign_public: bytes


def encode_envelope_keys(seal_public: bytes, sign_public: bytes) -> bytes:
    if len(seal_public) != 32 or len(sign_public) != 32:
        raise ValueError("envelope public keys must be 32 bytes each (X25519, Ed25519)")
    return _KEYS_MAGIC + seal_public + sign_public


def _subject_text(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def _single(cert: x509.Certificate, oid: x509.ObjectIdentifier, label: str) -> str:
    values = cert.subject.get_attributes_for_oid(oid)
    if len(values) != 1 or not str(values[0].value).strip():
        raise BadIdentity(_subject_text(cert), f"must name exactly one {label}")
    return str(values[0].value)


def load_certificate(cert: x509.Certificate | bytes) -> x509.Certificate:
    return cert if isinstance(cert, x509.Certificate) else x509.load_pem_x509_certificate(cert)


def identity_from_certificate(cert_or_pem: x509.Certificate | bytes) -> Identity:
    """Read the identity a certificate names (no chain or validity check: see ``verify``).

    Raises
    ------
    BadIdentity
        O, CN or OU is missing or repeated, the role is unknown, or the key extension is absent.
    """
    cert = load_certificate(cert_or_pem)
    role = _single(cert, NameOID.ORGANIZATIONAL_UNIT_NAME, "role (OU)")
    if role not in ALL_ROLES:
        raise BadIdentity(_subject_text(cert), f"has unknown role {role!r}")
    try:
        ext = cert.extensions.get_extension_for_oid(ENVELOPE_KEYS_OID).value
    except x509.ExtensionNotFound:
        raise BadIdentity(_subject_text(cert), "carries no envelope keys extension") from None
    raw = ext.value if isinstance(ext, x509.UnrecognizedExtension) else b""
    if len(raw) != 68 or not raw.startswith(_KEYS_MAGIC):
        raise BadIdentity(_subject_text(cert), "has a malformed envelope keys extension")
    return Identity(
        organization=_single(cert, NameOID.ORGANIZATION_NAME, "organization (O)"),
        node_id=_single(cert, NameOID.COMMON_NAME, "node id (CN)"),
        role=role,
        serial=cert.serial_number,
        seal_public=raw[4:36],
        sign_public=raw[36:68],
    )


def peer_dns_name(node_id: str) -> str:
    """The DNS name a party's certificate carries for its node id, and that clients expect.

    A client connecting to the coordinator (or to a node) asks TLS to check this name instead
    of the address it dialled, so the server must hold the certificate issued for that very
    party: any other federation certificate, though from the same CA, fails the handshake.
    Node ids are mapped to one DNS label (lower case, ``[a-z0-9-]``) under ``fedcredit.internal``.
    """
    label = "".join(c if c.isascii() and (c.isalnum() or c == "-") else "-" for c in node_id)
    return f"{label.lower().strip('-') or 'node'}.fedcredit.internal"
