"""Enterprise authorization: consent records and the per-firm check before any use of a firm.

See docs/authorization.md.
"""

from node.consent.exceptions import ConsentError, InvalidAuthorization, UnknownAuthorization
from node.consent.record import COVERS, PURPOSES, Authorization, Evidence
from node.consent.store import ConsentStore, Verdict

__all__ = [
    "COVERS",
    "PURPOSES",
    "Authorization",
    "ConsentError",
    "ConsentStore",
    "Evidence",
    "InvalidAuthorization",
    "UnknownAuthorization",
    "Verdict",
]
