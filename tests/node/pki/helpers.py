"""Helpers to read the test CA and to have it sign certificates with odd subjects."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def ca_cert(cert_dir: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((cert_dir / "ca.crt").read_bytes())


def sign_with_ca(
    cert_dir: Path,
    subject: list[x509.NameAttribute],
    extensions: list[x509.ExtensionType] = (),  # type: ignore[assignment]
) -> bytes:
    """A certificate the federation CA really signs, with whatever subject a test needs."""
    ca = ca_cert(cert_dir)
    ca_key = serialization.load_pem_private_key((cert_dir / "ca.key").read_bytes(), None)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(ca.subject)
        .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.PEM)


def subject(org: str | None, ou: str | None, cn: str | None) -> list[x509.NameAttribute]:
    attrs = []
    if org is not None:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if ou is not None:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    if cn is not None:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return attrs
