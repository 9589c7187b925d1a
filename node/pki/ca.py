"""The federation CA: create it, issue party certificates, revoke them.

TLS keys are ECDSA P-256, which every gRPC/BoringSSL build accepts. The CA key never leaves
the folder it was created in; in a real federation that folder is the operator's offline box.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from node.pki.exceptions import BadIdentity, CertificateExists, PkiError
from node.pki.files import (
    CA_CERT,
    CA_CRL,
    CA_KEY,
    private_pem,
    write_private,
    write_public,
)
from node.pki.identity import ENVELOPE_KEYS_OID, encode_envelope_keys, peer_dns_name
from node.pki.roles import ALL_ROLES

DEFAULT_CA_DAYS = 3650
DEFAULT_CERT_DAYS = 365
# The CRL is re-signed on every revocation; a verifier does not refuse a list past its
# next_update (an offline CA may sign rarely), so this is advisory.
CRL_DAYS = 30
# File names become paths: no separators, no leading dot, nothing a shell would mangle.
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_ca(
    cert_dir: Path | str, name: str = "fedcredit federation CA", days: int = DEFAULT_CA_DAYS
) -> Path:
    """Create the CA key, self-signed certificate and an empty revocation list.

    Raises
    ------
    PkiError
        A CA already exists in ``cert_dir`` (replacing it would orphan every certificate).
    """
    cert_dir = Path(cert_dir)
    cert_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if (cert_dir / CA_KEY).exists():
        raise PkiError(f"{cert_dir / CA_KEY} already exists; use another folder or remove it")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    write_private(cert_dir / CA_KEY, private_pem(key))
    write_public(cert_dir / CA_CERT, cert.public_bytes(serialization.Encoding.PEM))
    _write_crl(cert_dir, cert, key, [])
    return cert_dir / CA_CERT


def load_ca(cert_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The CA certificate and key in ``cert_dir``.

    Raises
    ------
    PkiError
        There is no CA there, or its key is not an EC key.
    """
    try:
        cert = x509.load_pem_x509_certificate((cert_dir / CA_CERT).read_bytes())
        key = serialization.load_pem_private_key((cert_dir / CA_KEY).read_bytes(), None)
    except FileNotFoundError:
        raise PkiError(f"no CA in {cert_dir}; create one with `fedcredit certs init`") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{cert_dir / CA_KEY} is not an EC key")
    return cert, key


def issue_certificate(
    cert_dir: Path | str,
    name: str,
    *,
    role: str,
    organization: str,
    node_id: str | None = None,
    hostnames: Sequence[str] = (),
    days: int = DEFAULT_CERT_DAYS,
    not_before: dt.datetime | None = None,
    out_dir: Path | str | None = None,
    overwrite: bool = False,
) -> Path:
    """Issue a certificate and its keys for one party; return the certificate's path.

    Parameters
    ----------
    cert_dir
        Folder holding the CA (``ca.crt``, ``ca.key``).
    name
        File stem of the party's files (letters, digits, ``._-``); also the node id by default.
    role, organization, node_id
        Written to the subject as OU, O and CN; every authorization decision reads them.
    hostnames
        Extra DNS names or IP addresses for the SAN; ``localhost`` and 127.0.0.1 are always
        present so loopback TLS verifies.
    days, not_before
        Validity. ``not_before`` defaults to five minutes ago (clock skew between parties);
        it may be in the past, which is how tests make an already-expired certificate.
    out_dir
        Where the party's files go (default ``cert_dir``).
    overwrite
        Replace existing files of that name. Off by default: re-issuing silently would
        replace keys that peers may still hold; revoke the old certificate as well.

    Files: ``<name>.crt``, ``<name>.key`` (TLS), ``<name>.seal.key``, ``<name>.sign.key``,
    private keys with mode 0600.

    Raises
    ------
    BadIdentity
        ``role`` is not a federation role, or the organization or node id is empty.
    ValueError
        ``name`` is not a plain file name, or ``days`` is not positive.
    CertificateExists
        ``<name>.crt`` already exists and ``overwrite`` is false.
    PkiError
        There is no CA in ``cert_dir``.
    """
    cert_dir = Path(cert_dir)
    out = Path(out_dir) if out_dir else cert_dir
    node_id = check_party(name, role, organization, node_id)
    if days <= 0:
        raise ValueError(f"days must be positive, got {days}; use not_before to back-date")
    if (out / f"{name}.crt").exists() and not overwrite:
        raise CertificateExists(str(out / f"{name}.crt"))
    ca_cert, ca_key = load_ca(cert_dir)
    keys = PartyKeys.generate()
    cert = build_certificate(
        ca_cert,
        ca_key,
        keys.tls.public_key(),
        organization=organization,
        role=role,
        node_id=node_id,
        keys_extension=keys.envelope_extension(),
        hostnames=hostnames,
        days=days,
        not_before=not_before,
    )
    keys.write(out, name)
    write_public(out / f"{name}.crt", cert.public_bytes(serialization.Encoding.PEM))
    return out / f"{name}.crt"


def check_party(name: str, role: str, organization: str, node_id: str | None) -> str:
    """Validate a party's file name, role, organization and node id; return the node id.

    Raises
    ------
    ValueError
        ``name`` is not a plain file name.
    BadIdentity
        ``role`` is not a federation role, or the organization or node id is empty.
    """
    if not _FILE_NAME.fullmatch(name):
        raise ValueError(f"name {name!r} must be letters, digits, '.', '_' or '-' (max 64)")
    node_id = node_id or name
    if role not in ALL_ROLES:
        raise BadIdentity(node_id, f"names unknown role {role!r} (known: {sorted(ALL_ROLES)})")
    if not organization.strip() or not node_id.strip():
        raise BadIdentity(node_id, "needs a non-empty organization and node id")
    return node_id


@dataclass(frozen=True)
class PartyKeys:
    """A party's three private keys: TLS (ECDSA P-256), sealing (X25519), signing (Ed25519)."""

    tls: ec.EllipticCurvePrivateKey
    seal: X25519PrivateKey
    sign: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> PartyKeys:
        return cls(
            ec.generate_private_key(ec.SECP256R1()),
            X25519PrivateKey.generate(),
            Ed25519PrivateKey.generate(),
        )

    def envelope_extension(self) -> bytes:
        """The value of the envelope-keys extension: both public halves."""
        raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
        return encode_envelope_keys(
            self.seal.public_key().public_bytes(*raw), self.sign.public_key().public_bytes(*raw)
        )

    def write(self, out: Path, name: str) -> None:
        """``<name>.key``, ``<name>.seal.key``, ``<name>.sign.key``, each 0600 from creation."""
        write_private(out / f"{name}.key", private_pem(self.tls))
        write_private(out / f"{name}.seal.key", private_pem(self.seal))
        write_private(out / f"{name}.sign.key", private_pem(self.sign))


def build_certificate(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    *,
    organization: str,
    role: str,
    node_id: str,
    keys_extension: bytes,
    hostnames: Sequence[str] = (),
    days: int = DEFAULT_CERT_DAYS,
    not_before: dt.datetime | None = None,
) -> x509.Certificate:
    """Sign a party certificate for ``public_key`` with the given subject and envelope keys."""
    start = not_before or (_now() - dt.timedelta(minutes=5))
    sans = subject_alt_names([peer_dns_name(node_id), *hostnames])
    return (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
                    x509.NameAttribute(NameOID.COMMON_NAME, node_id),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.UnrecognizedExtension(ENVELOPE_KEYS_OID, keys_extension), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def subject_alt_names(hostnames: Sequence[str]) -> list[x509.GeneralName]:
    """SAN entries: ``localhost``, 127.0.0.1 and each host (an IP address or a DNS name)."""
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    addresses: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    for host in hostnames:
        try:
            addresses.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return list(dict.fromkeys(names + addresses))


def load_crl(cert_dir: Path | str) -> x509.CertificateRevocationList | None:
    """The folder's revocation list, or ``None`` if it has none (not checked: see ``verify``)."""
    path = Path(cert_dir) / CA_CRL
    return x509.load_pem_x509_crl(path.read_bytes()) if path.exists() else None


def _write_crl(
    cert_dir: Path,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    revoked: list[x509.RevokedCertificate],
) -> None:
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=CRL_DAYS))
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(ca_key, hashes.SHA256())
    write_public(cert_dir / CA_CRL, crl.public_bytes(serialization.Encoding.PEM))


def revoke(cert_dir: Path | str, certificate: Path | str | int) -> int:
    """Add a certificate (its file, or its serial number) to the CA's revocation list.

    Returns the revoked serial. Revoking twice is a no-op. Verifiers that read ``ca.crl``
    through ``PeerVerifier`` refuse the certificate from their next call on.

    Raises
    ------
    PkiError
        There is no CA in ``cert_dir``.
    FileNotFoundError
        ``certificate`` is a path that does not exist.
    """
    cert_dir = Path(cert_dir)
    ca_cert, ca_key = load_ca(cert_dir)
    if isinstance(certificate, int):
        serial = certificate
    else:
        serial = x509.load_pem_x509_certificate(Path(certificate).read_bytes()).serial_number
    crl = load_crl(cert_dir)
    existing = list(crl) if crl is not None else []
    if any(r.serial_number == serial for r in existing):
        return serial
    entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(_now()).build()
    _write_crl(cert_dir, ca_cert, ca_key, [*existing, entry])
    return serial


def renew_crl(cert_dir: Path | str) -> int:
    """Re-sign the revocation list with a fresh ``next_update``; return how many it lists.

    Raises
    ------
    PkiError
        There is no CA in ``cert_dir``.
    """
    cert_dir = Path(cert_dir)
    ca_cert, ca_key = load_ca(cert_dir)
    crl = load_crl(cert_dir)
    existing = list(crl) if crl is not None else []
    _write_crl(cert_dir, ca_cert, ca_key, existing)
    return len(existing)
