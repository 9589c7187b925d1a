"""What a certificate folder holds, and the standing of each certificate, for operators."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from node.pki.exceptions import (
    BadIdentity,
    CertificateExpired,
    CertificateNotYetValid,
    CertificateRevoked,
    UnknownIssuer,
)
from node.pki.files import CA_CERT
from node.pki.verify import verify_peer

VALID = "valid"
EXPIRED = "expired"
NOT_YET_VALID = "not-yet-valid"
REVOKED = "revoked"
FOREIGN = "foreign-ca"
MALFORMED = "bad-identity"


@dataclass(frozen=True)
class CertificateStatus:
    """One certificate file and whether peers would accept it now."""

    name: str
    subject: str
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    status: str


def list_certificates(
    cert_dir: Path | str,
    ca_cert: x509.Certificate,
    crl: x509.CertificateRevocationList | None,
    now: dt.datetime | None = None,
) -> list[CertificateStatus]:
    """Every ``*.crt`` in ``cert_dir`` but the CA's, sorted by name, with its standing.

    The standing is what ``verify_peer`` would decide at ``now``; nothing is raised for a
    bad certificate, since listing them is the point.

    Raises
    ------
    InvalidRevocationList
        ``crl`` is not signed by ``ca_cert``.
    """
    rows = []
    for path in sorted(Path(cert_dir).glob("*.crt")):
        if path.name == CA_CERT:
            continue
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        try:
            verify_peer(cert, ca_cert, crl, now)
            status = VALID
        except UnknownIssuer:
            status = FOREIGN
        except CertificateExpired:
            status = EXPIRED
        except CertificateNotYetValid:
            status = NOT_YET_VALID
        except CertificateRevoked:
            status = REVOKED
        except BadIdentity:
            status = MALFORMED
        rows.append(
            CertificateStatus(
                name=path.stem,
                subject=cert.subject.rfc4514_string(),
                serial=cert.serial_number,
                not_before=cert.not_valid_before_utc,
                not_after=cert.not_valid_after_utc,
                status=status,
            )
        )
    return rows
