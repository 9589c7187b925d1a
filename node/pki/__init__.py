"""The federation PKI: CA, party certificates with envelope keys, revocation, verification.

Shared by nodes and the coordinator.
"""

from node.pki.ca import create_ca, issue_certificate, load_crl, renew_crl, revoke
from node.pki.exceptions import (
    BadIdentity,
    CertificateExists,
    CertificateExpired,
    CertificateNotYetValid,
    CertificateRevoked,
    InvalidRevocationList,
    PkiError,
    UnknownIssuer,
)
from node.pki.files import NodeCredentials, load_identity_files
from node.pki.identity import Identity, identity_from_certificate
from node.pki.inventory import CertificateStatus, list_certificates
from node.pki.verify import PeerVerifier, verify_peer

__all__ = [
    "BadIdentity",
    "CertificateExists",
    "CertificateExpired",
    "CertificateNotYetValid",
    "CertificateRevoked",
    "CertificateStatus",
    "Identity",
    "InvalidRevocationList",
    "NodeCredentials",
    "PeerVerifier",
    "PkiError",
    "UnknownIssuer",
    "create_ca",
    "identity_from_certificate",
    "issue_certificate",
    "list_certificates",
    "load_crl",
    "load_identity_files",
    "renew_crl",
    "revoke",
    "verify_peer",
]
