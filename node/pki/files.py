"""Key and certificate files: private keys written 0600 atomically, credentials loaded as one."""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from node.pki.exceptions import PkiError
from node.pki.identity import Identity, identity_from_certificate

log = logging.getLogger("fedcredit.pki.files")

CA_CERT = "ca.crt"
CA_KEY = "ca.key"
CA_CRL = "ca.crl"


def write_private(path: Path, data: bytes) -> None:
    """Write a secret with mode 0600 from the start (never briefly world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def private_pem(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class NodeCredentials:
    """Everything a party needs to speak mTLS and seal: its certificate, keys and the CA."""

    identity: Identity
    cert_pem: bytes
    key_pem: bytes
    ca_pem: bytes
    seal_key: X25519PrivateKey
    sign_key: Ed25519PrivateKey
    cert_dir: Path

    @property
    def crl_path(self) -> Path:
        return self.cert_dir / CA_CRL


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PkiError(
            f"{what} {path} is missing; create it with `fedcredit certs issue`"
        ) from None


def _read_private(path: Path, what: str) -> object:
    data = _read(path, what)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("%s %s is readable by other users; chmod 600 it", what, path)
    try:
        return serialization.load_pem_private_key(data, None)
    except (ValueError, TypeError):
        raise PkiError(f"{what} {path} is not an unencrypted PEM private key; reissue it") from None


def load_identity_files(cert_dir: Path | str, name: str) -> NodeCredentials:
    """Load ``<name>.crt``, ``<name>.key``, ``<name>.seal.key``, ``<name>.sign.key`` and the CA.

    The identity is read from the certificate but not verified against the CA: a node loads
    its own files, and its peers verify it. A private key readable by others is logged as a
    warning (the path only).

    Raises
    ------
    PkiError
        A file is missing or unreadable as a key, or the keys do not match the certificate.
    BadIdentity
        The certificate does not name an organization, node id and role.
    """
    cert_dir = Path(cert_dir)
    cert_pem = _read(cert_dir / f"{name}.crt", "certificate")
    key_pem = _read(cert_dir / f"{name}.key", "TLS key")
    tls_key = _read_private(cert_dir / f"{name}.key", "TLS key")
    seal = _read_private(cert_dir / f"{name}.seal.key", "seal key")
    sign = _read_private(cert_dir / f"{name}.sign.key", "sign key")
    if not isinstance(seal, X25519PrivateKey) or not isinstance(sign, Ed25519PrivateKey):
        raise PkiError(f"{name}: seal key must be X25519 and sign key Ed25519")
    identity = identity_from_certificate(cert_pem)
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    if (
        seal.public_key().public_bytes(*raw) != identity.seal_public
        or sign.public_key().public_bytes(*raw) != identity.sign_public
    ):
        raise PkiError(f"{name}: envelope keys do not match the certificate; reissue both")
    cert = x509.load_pem_x509_certificate(cert_pem)
    if tls_key.public_key() != cert.public_key():  # type: ignore[attr-defined]
        raise PkiError(f"{name}: {name}.key does not belong to {name}.crt")
    return NodeCredentials(
        identity=identity,
        cert_pem=cert_pem,
        key_pem=key_pem,
        ca_pem=_read(cert_dir / CA_CERT, "CA certificate"),
        seal_key=seal,
        sign_key=sign,
        cert_dir=cert_dir,
    )
