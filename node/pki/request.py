"""Certificate signing requests: every private key is made on its owner's machine.

``certs issue`` makes a party's keys at the CA, so the operator once held every party's
private keys. With a request, the party runs ``create_request`` on its own machine: its TLS,
sealing and signing keys are generated and written there (0600) and never leave it; what
travels to the CA is a PKCS#10 request (``<name>.csr``) carrying

* the subject the party asks for (O organization, OU role, CN node id) and extra host names;
* the TLS public key, with the request signed by the TLS private key (PKCS#10's own proof of
  possession);
* the envelope public keys, in the same extension the certificate will carry
  (``ENVELOPE_KEYS_OID``: ``b"FCK1" || X25519 || Ed25519``);
* a proof that the requester holds the Ed25519 signing key: an Ed25519 signature over
  ``b"fedcredit csr envelope keys v1" || TLS public key (DER) || envelope-keys value``, in a
  second extension (``KEY_PROOF_OID``). Without it a party could have another party's
  checkpoint and envelope key certified under its own name. An X25519 key cannot sign; its
  holder proves possession the first time it opens an envelope.

``read_request`` checks all of it, and the CA signs (``node.pki.ca.sign_request``) only a
request that passes, with the public keys it carries. The operator compares the request's
SHA-256 fingerprint with the one the party read out over another channel before signing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import NameOID

from node.pki.ca import (
    DEFAULT_CERT_DAYS,
    PartyKeys,
    build_certificate,
    check_party,
    load_ca,
    subject_alt_names,
)
from node.pki.exceptions import BadIdentity, CertificateExists, PkiError
from node.pki.files import write_public
from node.pki.identity import ENVELOPE_KEYS_OID
from node.pki.roles import ALL_ROLES

# A UUID-derived OID (ITU-T X.667, arc 2.25), like ENVELOPE_KEYS_OID.
KEY_PROOF_OID: Final = x509.ObjectIdentifier("2.25.181639282920751967084792421345939045126")
_PROOF_CONTEXT: Final = b"fedcredit csr envelope keys v1"
_KEYS_MAGIC: Final = b"FCK1"


class InvalidRequest(PkiError):
    """A certificate signing request is unreadable, altered, or asks for something invalid."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"certificate request {source}: {problem}; ask the party for a new one")
        self.source = source
        self.problem = problem


@dataclass(frozen=True)
class SigningRequest:
    """A verified request: what the CA would certify, and the fingerprint to confirm."""

    organization: str
    role: str
    node_id: str
    hostnames: tuple[str, ...]
    public_key: ec.EllipticCurvePublicKey
    keys_extension: bytes
    fingerprint: str


def _tls_public_der(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def create_request(
    out_dir: Path | str,
    name: str,
    *,
    role: str,
    organization: str,
    node_id: str | None = None,
    hostnames: Sequence[str] = (),
    overwrite: bool = False,
) -> Path:
    """Make a party's keys in ``out_dir`` and write ``<name>.csr`` for the CA; return its path.

    Files: ``<name>.key``, ``<name>.seal.key``, ``<name>.sign.key`` (0600, stay here) and
    ``<name>.csr`` (public, goes to the CA).

    Raises
    ------
    ValueError
        ``name`` is not a plain file name.
    BadIdentity
        Unknown role, or an empty organization or node id.
    CertificateExists
        Keys of that name exist already and ``overwrite`` is false (replacing them would
        orphan the certificate they belong to).
    """
    out = Path(out_dir)
    node_id = check_party(name, role, organization, node_id)
    if (out / f"{name}.key").exists() and not overwrite:
        raise CertificateExists(str(out / f"{name}.key"))
    keys = PartyKeys.generate()
    extension = keys.envelope_extension()
    proof = keys.sign.sign(_PROOF_CONTEXT + _tls_public_der(keys.tls.public_key()) + extension)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
                    x509.NameAttribute(NameOID.COMMON_NAME, node_id),
                ]
            )
        )
        .add_extension(x509.SubjectAlternativeName(subject_alt_names(list(hostnames))), False)
        .add_extension(x509.UnrecognizedExtension(ENVELOPE_KEYS_OID, extension), False)
        .add_extension(x509.UnrecognizedExtension(KEY_PROOF_OID, proof), False)
        .sign(keys.tls, hashes.SHA256())
    )
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    keys.write(out, name)
    write_public(out / f"{name}.csr", csr.public_bytes(serialization.Encoding.PEM))
    return out / f"{name}.csr"


def _single(csr: x509.CertificateSigningRequest, oid: x509.ObjectIdentifier, label: str) -> str:
    values = csr.subject.get_attributes_for_oid(oid)
    if len(values) != 1 or not str(values[0].value).strip():
        raise BadIdentity(csr.subject.rfc4514_string(), f"must name exactly one {label}")
    return str(values[0].value)


def _extension(csr: x509.CertificateSigningRequest, oid: x509.ObjectIdentifier) -> bytes:
    try:
        value = csr.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return b""
    return value.value if isinstance(value, x509.UnrecognizedExtension) else b""


def fingerprint(pem: bytes) -> str:
    """SHA-256 of the request's DER form, hex: what party and operator compare."""
    der = x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def read_request(pem: bytes, source: str = "") -> SigningRequest:
    """Parse and check a request the way the CA must before signing it.

    Raises
    ------
    InvalidRequest
        Not a PEM request, its signature does not verify (altered), its key is not ECDSA
        P-256, the envelope keys are missing or malformed, or their proof does not verify.
    BadIdentity
        The subject lacks exactly one O, OU (a federation role) and CN.
    """
    try:
        csr = x509.load_pem_x509_csr(pem)
        extensions = csr.extensions
    except ValueError:
        raise InvalidRequest(source, "is not a PEM certificate signing request") from None
    if not csr.is_signature_valid:
        raise InvalidRequest(source, "its signature does not verify (it was altered)")
    public_key = csr.public_key()
    if (
        not isinstance(public_key, ec.EllipticCurvePublicKey)
        or public_key.curve.name != "secp256r1"
    ):
        raise InvalidRequest(source, "its TLS key must be ECDSA P-256")
    role = _single(csr, NameOID.ORGANIZATIONAL_UNIT_NAME, "role (OU)")
    if role not in ALL_ROLES:
        raise BadIdentity(csr.subject.rfc4514_string(), f"has unknown role {role!r}")
    keys = _extension(csr, ENVELOPE_KEYS_OID)
    if len(keys) != 68 or not keys.startswith(_KEYS_MAGIC):
        raise InvalidRequest(source, "carries no well-formed envelope keys")
    try:
        Ed25519PublicKey.from_public_bytes(keys[36:]).verify(
            _extension(csr, KEY_PROOF_OID), _PROOF_CONTEXT + _tls_public_der(public_key) + keys
        )
    except (InvalidSignature, ValueError):
        raise InvalidRequest(
            source, "does not prove possession of its signing key (its proof fails)"
        ) from None
    try:
        sans = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans = x509.SubjectAlternativeName([])
    hosts = [str(n) for n in sans.get_values_for_type(x509.DNSName)]
    hosts += [str(a) for a in sans.get_values_for_type(x509.IPAddress)]
    return SigningRequest(
        organization=_single(csr, NameOID.ORGANIZATION_NAME, "organization (O)"),
        role=role,
        node_id=_single(csr, NameOID.COMMON_NAME, "node id (CN)"),
        hostnames=tuple(h for h in hosts if h not in ("localhost", "127.0.0.1")),
        public_key=public_key,
        keys_extension=keys,
        fingerprint=fingerprint(pem),
    )


def sign_request(
    cert_dir: Path | str,
    request_pem: bytes,
    *,
    source: str = "",
    name: str | None = None,
    days: int = DEFAULT_CERT_DAYS,
    out_dir: Path | str | None = None,
    expect_fingerprint: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Check a request and issue its certificate as ``<name>.crt``; return the path.

    ``name`` defaults to the node id the request names. No private key is read or written
    but the CA's own.

    Raises
    ------
    InvalidRequest
        As ``read_request``; or its fingerprint differs from ``expect_fingerprint``.
    BadIdentity
        As ``read_request``.
    ValueError
        ``name`` is not a plain file name, or ``days`` is not positive.
    CertificateExists
        ``<name>.crt`` exists and ``overwrite`` is false.
    PkiError
        There is no CA in ``cert_dir``.
    """
    cert_dir = Path(cert_dir)
    request = read_request(request_pem, source)
    wanted = (expect_fingerprint or "").lower().replace(":", "")
    if wanted and wanted != request.fingerprint:
        raise InvalidRequest(source, "its fingerprint is not the one the party gave you")
    name = name or request.node_id
    check_party(name, request.role, request.organization, request.node_id)
    if days <= 0:
        raise ValueError(f"days must be positive, got {days}")
    out = Path(out_dir) if out_dir else cert_dir
    if (out / f"{name}.crt").exists() and not overwrite:
        raise CertificateExists(str(out / f"{name}.crt"))
    ca_cert, ca_key = load_ca(cert_dir)
    cert = build_certificate(
        ca_cert,
        ca_key,
        request.public_key,
        organization=request.organization,
        role=request.role,
        node_id=request.node_id,
        keys_extension=request.keys_extension,
        hostnames=request.hostnames,
        days=days,
    )
    write_public(out / f"{name}.crt", cert.public_bytes(serialization.Encoding.PEM))
    return out / f"{name}.crt"
