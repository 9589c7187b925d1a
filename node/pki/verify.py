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
    InvalidRevocationList,
    PkiError,
    UnknownIssuer,
)
from node.pki.files import CA_CERT, CA_CRL
from node.pki.identity import Identity, identity_from_certificate, load_certificate

# Bound on PeerVerifier's cache of checked certificates (a federation has a handful of parties).
MAX_CACHED_CERTIFICATES = 1024


def verify_peer(
    cert_or_pem: x509.Certificate | bytes,
    ca_cert: x509.Certificate | bytes,
    crl: x509.CertificateRevocationList | None = None,
    now: dt.datetime | None = None,
) -> Identity:
    """Check that the certificate is the federation's, current and not revoked; return who it names.

    Checks run in this order, and the first failure is raised: issuer signature, validity
    period, revocation, identity fields. The messages name the certificate's subject only
    (never keys), so they may be returned to the peer.

    Parameters
    ----------
    cert_or_pem
        The peer's certificate, e.g. ``context.auth_context()["x509_pem_cert"][0]``.
    ca_cert
        The federation CA certificate (parsed, or PEM).
    crl
        The federation's revocation list; it must be signed by ``ca_cert``. ``None`` skips
        the revocation check (only for tools that have no CRL; servers must pass one).
    now
        The time to check validity at, timezone-aware (default: now).

    Raises
    ------
    UnknownIssuer
        Not signed by the federation CA (another CA, self-signed, or tampered).
    CertificateExpired
        ``now`` is after the certificate's ``not_after``.
    CertificateNotYetValid
        ``now`` is before the certificate's ``not_before``.
    CertificateRevoked
        The serial is on ``crl``.
    InvalidRevocationList
        ``crl`` is not signed by ``ca_cert``.
    BadIdentity
        The subject lacks O, CN or a known OU role, or the envelope keys extension.
    ValueError
        ``now`` is a naive datetime.
    """
    ca_cert = load_certificate(ca_cert)
    if crl is not None:
        _check_crl(crl, ca_cert, "given")
    return _verify_with_trusted_crl(cert_or_pem, ca_cert, crl, now)


def _issued_by(
    cert_or_pem: x509.Certificate | bytes, ca_cert: x509.Certificate
) -> x509.Certificate:
    """Parse the certificate and check the CA's signature on it (the costly, cacheable part)."""
    cert = load_certificate(cert_or_pem)
    ca_key = ca_cert.public_key()
    try:
        if cert.issuer != ca_cert.subject or not isinstance(ca_key, ec.EllipticCurvePublicKey):
            raise InvalidSignature
        cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError):
        raise UnknownIssuer(cert.subject.rfc4514_string()) from None
    return cert


def _current_identity(
    cert: x509.Certificate, crl: x509.CertificateRevocationList | None, now: dt.datetime | None
) -> Identity:
    """Validity period, revocation and identity: what can change between two calls."""
    if now is not None and now.utcoffset() is None:
        raise ValueError("now must be timezone-aware, e.g. datetime.now(datetime.UTC)")
    subject = cert.subject.rfc4514_string()
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


def _verify_with_trusted_crl(
    cert_or_pem: x509.Certificate | bytes,
    ca_cert: x509.Certificate,
    crl: x509.CertificateRevocationList | None,
    now: dt.datetime | None,
) -> Identity:
    return _current_identity(_issued_by(cert_or_pem, ca_cert), crl, now)


def _check_crl(crl: x509.CertificateRevocationList, ca_cert: x509.Certificate, source: str) -> None:
    ca_key = ca_cert.public_key()
    if (
        crl.issuer != ca_cert.subject
        or not isinstance(ca_key, ec.EllipticCurvePublicKey)
        or not crl.is_signature_valid(ca_key)
    ):
        raise InvalidRevocationList(source)


class PeerVerifier:
    """``verify_peer`` against a certificate folder, picking up a new revocation list at once.

    The CRL file is re-read whenever it is replaced, so ``fedcredit certs revoke`` (or copying
    a new ``ca.crl`` into the folder) takes effect on the next call without restarting
    servers. If the file disappears after it was once read, the last list stays in force:
    deleting ``ca.crl`` must not un-revoke anyone. A folder that never had a CRL checks no
    revocation. Thread-safe; one instance serves every call of a server.

    Raises
    ------
    PkiError
        ``cert_dir`` has no ``ca.crt``.
    """

    def __init__(self, cert_dir: Path | str) -> None:
        self._dir = Path(cert_dir)
        try:
            ca_pem = (self._dir / CA_CERT).read_bytes()
        except FileNotFoundError:
            raise PkiError(
                f"no {CA_CERT} in {self._dir}; copy the federation CA certificate there"
            ) from None
        self._ca = x509.load_pem_x509_certificate(ca_pem)
        self._crl: x509.CertificateRevocationList | None = None
        self._crl_stamp: tuple[int, int, int] | None = None
        self._lock = threading.Lock()
        # PEM -> certificate whose CA signature checked out. Servers see the same few peer
        # certificates on every call; the signature never changes, so it is checked once.
        # Validity, revocation and identity are still checked on every call.
        self._issued: dict[bytes, x509.Certificate] = {}

    @property
    def ca_certificate(self) -> x509.Certificate:
        return self._ca

    def _current_crl(self) -> x509.CertificateRevocationList | None:
        path = self._dir / CA_CRL
        try:
            st = path.stat()
        except FileNotFoundError:
            with self._lock:
                return self._crl
        # revoke() replaces the file atomically, so the inode changes even within one mtime tick
        stamp = (st.st_mtime_ns, st.st_ino, st.st_size)
        with self._lock:
            if stamp != self._crl_stamp:
                try:
                    crl = x509.load_pem_x509_crl(path.read_bytes())
                except ValueError:
                    raise InvalidRevocationList(CA_CRL) from None
                _check_crl(crl, self._ca, CA_CRL)
                self._crl, self._crl_stamp = crl, stamp
            return self._crl

    def __call__(
        self, cert_or_pem: x509.Certificate | bytes, now: dt.datetime | None = None
    ) -> Identity:
        """Verify a peer certificate against the folder's CA and current CRL.

        Raises
        ------
        PkiError
            Any of the ``verify_peer`` errors; ``InvalidRevocationList`` if ``ca.crl`` is not
            the CA's (revocation must not silently stop working).
        """
        crl = self._current_crl()
        if isinstance(cert_or_pem, x509.Certificate):
            return _verify_with_trusted_crl(cert_or_pem, self._ca, crl, now)
        pem = bytes(cert_or_pem)
        with self._lock:
            cert = self._issued.get(pem)
        if cert is None:
            cert = _issued_by(pem, self._ca)  # raises UnknownIssuer; failures are not cached
            with self._lock:
                if len(self._issued) >= MAX_CACHED_CERTIFICATES:
                    self._issued.clear()
                self._issued[pem] = cert
        return _current_identity(cert, crl, now)
