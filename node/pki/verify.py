"""Verify a peer certificate: federation CA signature, validity period, revocation, identity."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from node.pki.exceptions import (
    CertificateExpired,
    CertificateNotYetValid,
    CertificateRevoked,
    UnknownIssuer,
)
from node.pki.files import CA_CERT, CA_CRL
from node.pki.identity import Identity, identity_from_certificate, load_certificate


def verify_peer(
    cert_or_pem: x509.Certificate | bytes,
    ca_cert: x509.Certificate,
    crl: x509.CertificateRevocationList | None = None,
    now: dt.datetime | None = None,
) -> Identity:
    """Check that the certificate is the federation's, current and not revoked; return who it names.

    Raises
    ------
    UnknownIssuer, CertificateExpired, CertificateNotYetValid, CertificateRevoked, BadIdentity
    """
    cert = load_certificate(cert_or_pem)
    subject = cert.subject.rfc4514_string()
    ca_key = ca_cert.public_key()
    try:
        if cert.issuer != ca_cert.subject or not isinstance(ca_key, ec.EllipticCurvePublicKey):
            raise InvalidSignature
        cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError):
        raise UnknownIssuer(subject) from None
    moment = now or dt.datetime.now(dt.UTC)
    if moment > cert.not_valid_after_utc:
        raise CertificateExpired(subject, cert.not_valid_after_utc)
    if moment < cert.not_valid_before_utc:
        raise CertificateNotYetValid(subject, cert.not_valid_before_utc)
    if crl is not None:
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None:
            raise CertificateRevoked(subject, cert.serial_number, entry.revocation_date_utc)
    return identity_from_certificate(cert)


class PeerVerifier:
    """``verify_peer`` against a certificate folder, picking up a new revocation list at once.

    The CRL file is re-read whenever its modification time changes, so ``fedcredit certs
    revoke`` takes effect on the next call without restarting servers.
    """

    def __init__(self, cert_dir: Path | str) -> None:
        self._dir = Path(cert_dir)
        self._ca = x509.load_pem_x509_certificate((self._dir / CA_CERT).read_bytes())
        self._crl: x509.CertificateRevocationList | None = None
        self._crl_mtime: float | None = None
        self._lock = threading.Lock()

    @property
    def ca_certificate(self) -> x509.Certificate:
        return self._ca

    def _current_crl(self) -> x509.CertificateRevocationList | None:
        path = self._dir / CA_CRL
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return None
        with self._lock:
            if mtime != self._crl_mtime:
                crl = x509.load_pem_x509_crl(path.read_bytes())
                if not crl.is_signature_valid(self._ca.public_key()):  # type: ignore[arg-type]
                    raise UnknownIssuer("revocation list")
                self._crl, self._crl_mtime = crl, mtime
            return self._crl

    def __call__(self, cert_or_pem: x509.Certificate | bytes) -> Identity:
        return verify_peer(cert_or_pem, self._ca, self._current_crl())
