"""Enterprise authorization records: a firm's consent to one recipient, for purposes, in a window.

In Chinese credit reporting a bank may look at a firm's government, bureau or third-party
records for a loan decision or post-loan management only with the firm's written authorization
for that purpose and period; banks collect it (usually by e-signature) at application. A record
names the firm (by the *keeping* party's token of it, never the code), the recipient
organization, the purposes, the validity window and the evidence: a hash of the signed
document, who collected it and when. A revocation is a record too: it names the grant it ends
and when. See docs/authorization.md.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from node.consent.exceptions import InvalidAuthorization

LOAN_APPROVAL: Final = "loan_approval"
POST_LOAN_MONITORING: Final = "post_loan_monitoring"
MODEL_DEVELOPMENT: Final = "model_development"
PURPOSES: Final = (LOAN_APPROVAL, POST_LOAN_MONITORING, MODEL_DEVELOPMENT)
PURPOSE_BITS: Final = {p: 1 << i for i, p in enumerate(PURPOSES)}

# What each use of data at a holder needs: the policy purpose (docs/policies.md) maps onto the
# authorization purposes that cover it. A release serves lending, so either lending purpose does.
COVERS: Final[Mapping[str, tuple[str, ...]]] = {
    "scoring": (LOAN_APPROVAL,),
    "monitoring": (POST_LOAN_MONITORING,),
    "training": (MODEL_DEVELOPMENT,),
    "release": (LOAN_APPROVAL, POST_LOAN_MONITORING),
}
RECORD_ID_RE: Final = re.compile(r"^auth-[0-9a-f]{16}$")
_SHA256_RE: Final = re.compile(r"^[0-9a-f]{64}$")


def purpose_mask(purposes: tuple[str, ...] | list[str]) -> int:
    """Bit mask of authorization purposes.

    Raises
    ------
    InvalidAuthorization
        An unknown purpose, or none.
    """
    if not purposes:
        raise InvalidAuthorization("purposes", f"name at least one of {', '.join(PURPOSES)}")
    mask = 0
    for p in purposes:
        if p not in PURPOSE_BITS:
            raise InvalidAuthorization(
                "purposes", f"unknown purpose {p!r}; use {', '.join(PURPOSES)}"
            )
        mask |= PURPOSE_BITS[p]
    return mask


def needed_mask(use: str) -> int:
    """Bits of the authorization purposes that cover a policy purpose ``use``.

    Raises
    ------
    InvalidAuthorization
        ``use`` is not scoring, monitoring, training or release.
    """
    try:
        return sum(PURPOSE_BITS[p] for p in COVERS[use])
    except KeyError:
        raise InvalidAuthorization("use", f"no authorization purpose covers {use!r}") from None


@dataclass(frozen=True)
class Evidence:
    """The signed document behind an authorization, by hash, and who collected it when."""

    document_sha256: str
    collector: str
    collected_at: float

    def __post_init__(self) -> None:
        if not _SHA256_RE.match(self.document_sha256):
            raise InvalidAuthorization(
                "evidence.document_sha256", "must be 64 lower-case hex digits (SHA-256)"
            )
        if not self.collector or len(self.collector) > 128:
            raise InvalidAuthorization("evidence.collector", "must name who collected it")
        if not math.isfinite(self.collected_at):
            raise InvalidAuthorization("evidence.collected_at", "must be a time")


@dataclass(frozen=True)
class Authorization:
    """A grant, as the keeping party stores it (``subject`` is its own token of the firm)."""

    record_id: str
    subject: str
    recipient: str
    purposes: tuple[str, ...]
    valid_from: float
    valid_to: float
    evidence: Evidence
    revoked_at: float | None = None
    revocation_id: str = ""

    def __post_init__(self) -> None:
        if not RECORD_ID_RE.match(self.record_id):
            raise InvalidAuthorization("record_id", "must be 'auth-' and 16 hex digits")
        if not self.recipient:
            raise InvalidAuthorization("recipient", "must name the recipient organization")
        purpose_mask(self.purposes)
        if not (math.isfinite(self.valid_from) and math.isfinite(self.valid_to)):
            raise InvalidAuthorization("valid_from/valid_to", "must be times")
        if self.valid_to <= self.valid_from:
            raise InvalidAuthorization("valid_to", "must be after valid_from")

    def covers(self, recipient: str, use: str, at: float) -> bool:
        """Whether this grant lets ``recipient`` use the firm's data for ``use`` at ``at``."""
        return (
            recipient == self.recipient
            and bool(purpose_mask(self.purposes) & needed_mask(use))
            and self.valid_from <= at < self.valid_to
            and (self.revoked_at is None or at < self.revoked_at)
        )

    def wire(self) -> dict[str, Any]:
        """The record without its subject: what travels (the subject is per party)."""
        return {
            "record_id": self.record_id,
            "recipient": self.recipient,
            "purposes": list(self.purposes),
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            "evidence": {
                "document_sha256": self.evidence.document_sha256,
                "collector": self.evidence.collector,
                "collected_at": self.evidence.collected_at,
            },
        }

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any], subject: str) -> Authorization:
        """Rebuild a record sent by a bank, filed under the receiving party's ``subject``.

        Raises
        ------
        InvalidAuthorization
            A field is missing or malformed.
        """
        try:
            ev = raw["evidence"]
            return cls(
                record_id=str(raw["record_id"]),
                subject=subject,
                recipient=str(raw["recipient"]),
                purposes=tuple(str(p) for p in raw["purposes"]),
                valid_from=float(raw["valid_from"]),
                valid_to=float(raw["valid_to"]),
                evidence=Evidence(
                    str(ev["document_sha256"]), str(ev["collector"]), float(ev["collected_at"])
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidAuthorization("record", f"malformed ({exc})") from None


def record_id_for(
    firm_key: str,
    recipient: str,
    purposes: tuple[str, ...],
    valid_from: float,
    valid_to: float,
    document_sha256: str,
) -> str:
    """A stable id for a grant: the same document registered twice gets the same id."""
    text = "|".join(
        [
            firm_key,
            recipient,
            ",".join(sorted(purposes)),
            f"{valid_from:.3f}",
            f"{valid_to:.3f}",
            document_sha256,
        ]
    )
    return "auth-" + hashlib.sha256(text.encode()).hexdigest()[:16]
