"""Recipient-specific fingerprints embedded in released tables, and reading them back."""

from node.governance.fingerprint.detect import (
    DEFAULT_MAX_FALSE_ACCUSATION,
    Candidate,
    Score,
    SuspectTable,
    Verdict,
    judge,
    log10_chernoff_tail,
)
from node.governance.fingerprint.embed import FingerprintSpec, embed_frame
from node.governance.fingerprint.scheme import SCHEME, Step, release_key, root_key

__all__ = [
    "DEFAULT_MAX_FALSE_ACCUSATION",
    "SCHEME",
    "Candidate",
    "FingerprintSpec",
    "Score",
    "Step",
    "SuspectTable",
    "Verdict",
    "embed_frame",
    "judge",
    "log10_chernoff_tail",
    "release_key",
    "root_key",
]
