"""Certificate failures, one class per thing the caller must tell apart."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar


class PkiError(Exception):
    """Base class for certificate and key failures."""

    catalog_code: ClassVar[str] = "auth.certificate_refused"  # RPC answer: node.transport.errors


class UnknownIssuer(PkiError):
    """The certificate was not signed by the federation CA."""

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"certificate {subject!r} is not issued by the federation CA; "
            "ask the federation operator for a certificate from its CA (fedcredit certs issue)"
        )
        self.subject = subject


class CertificateExpired(PkiError):
    """The certificate's validity ended."""

    def __init__(self, subject: str, not_after: datetime) -> None:
        super().__init__(
            f"certificate {subject!r} expired on {not_after.isoformat()}; issue a new one"
        )
        self.subject = subject
        self.not_after = not_after


class CertificateNotYetValid(PkiError):
    """The certificate's validity has not started (or the clocks disagree)."""

    def __init__(self, subject: str, not_before: datetime) -> None:
        super().__init__(
            f"certificate {subject!r} is not valid before {not_before.isoformat()}; "
            "check the system clocks"
        )
        self.subject = subject
        self.not_before = not_before


class CertificateRevoked(PkiError):
    """The certificate's serial is on the federation's revocation list."""

    def __init__(self, subject: str, serial: int, revoked_at: datetime) -> None:
        super().__init__(
            f"certificate {subject!r} (serial {serial:x}) was revoked on "
            f"{revoked_at.isoformat()}; it can no longer join the federation"
        )
        self.subject = subject
        self.serial = serial
        self.revoked_at = revoked_at


class BadIdentity(PkiError):
    """The certificate does not name an organization, node id and known role."""

    def __init__(self, subject: str, problem: str) -> None:
        super().__init__(f"certificate {subject!r} {problem}; reissue it with fedcredit certs")
        self.subject = subject
        self.problem = problem


class InvalidRevocationList(PkiError):
    """The revocation list is not signed by the federation CA, so it cannot be trusted."""

    def __init__(self, source: str) -> None:
        super().__init__(
            f"revocation list {source!r} is not signed by the federation CA; "
            "copy ca.crl from the federation operator again"
        )
        self.source = source


class CertificateExists(PkiError):
    """A certificate of that name is already in the folder; issuing would overwrite its keys."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} already exists; revoke it and pick another name, or pass overwrite=True "
            "(--overwrite) to replace it"
        )
        self.path = path
