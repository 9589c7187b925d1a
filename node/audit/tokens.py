"""Firm and person tokens: keyed hashes that let the log name a subject without holding its id.

An access-log entry must say *which* firms a read or release touched, so an auditor can answer
"who looked at firm X", yet the log is shown to auditors and checkpoints go to the coordinator:
it may not hold a unified social credit code or an ID number. A token is
``HMAC-SHA-256(node token key, domain || normalized id)``, truncated to 128 bits: the same firm
gets the same token in every entry of this node, nobody without the node's key can compute or
invert it (an unkeyed hash of an 18-character code could be brute-forced), and different
nodes' tokens for the same firm differ, so logs from two nodes cannot be joined on them.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from typing import Final

from node.data.uscc import normalize

TOKEN_PREFIX: Final = "ft:"
TOKEN_RE: Final = re.compile(r"^ft:[0-9a-f]{32}$")
_TOKEN_LINES: Final = re.compile(r"(?:ft:[0-9a-f]{32}\n)*")
_TOKEN_LINE_CHARS: Final = 36  # "ft:", 32 hex digits, a line break
# Domain separation: the same node key may serve other HMAC uses; these tokens never collide
# with them.
_DOMAIN: Final = b"fedcredit/audit/subject-token/v1\x00"
MIN_KEY_BYTES: Final = 32


class FirmTokenizer:
    """Turn firm (or person) identifiers into the tokens access-log entries carry.

    Parameters
    ----------
    key
        The node's token key, at least 32 random bytes, kept beside the node's other secrets.
        Rotating it makes new tokens unlinkable to old ones, so keep it for the log's life.

    Raises
    ------
    ValueError
        ``key`` is shorter than 32 bytes.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(
                f"token key must be at least {MIN_KEY_BYTES} random bytes, got {len(key)}; "
                "generate one with os.urandom(32)"
            )
        self._key = bytes(key)

    def token(self, identifier: str) -> str:
        """Return the token of ``identifier`` (normalized like USCC codes first).

        Raises
        ------
        ValueError
            ``identifier`` is empty after normalization.
        """
        value = normalize(identifier)
        if not value:
            raise ValueError("cannot tokenize an empty identifier")
        # one-shot HMAC-SHA-256 (OpenSSL), the same value as hmac.new(...).hexdigest()
        digest = hmac.digest(self._key, _DOMAIN + value.encode("utf-8"), "sha256").hex()
        return TOKEN_PREFIX + digest[:32]

    def __repr__(self) -> str:
        return "FirmTokenizer(key=<redacted>)"


def is_token(value: str) -> bool:
    """Whether ``value`` has the shape of a subject token (``ft:`` and 32 hex digits)."""
    return TOKEN_RE.match(value) is not None


def all_tokens(values: Sequence[object]) -> bool:
    """Whether every one of ``values`` is a subject token: one pattern match over them all
    (an access-log entry of a 5,000-firm scoring call names 5,000 subjects). Tokens have a
    fixed length, so the total length also rules out a value holding two of them."""
    if not values:
        return True
    try:
        joined = "\n".join(values) + "\n"  # type: ignore[arg-type]  # non-str: TypeError
    except TypeError:
        return False
    return len(joined) == _TOKEN_LINE_CHARS * len(values) and bool(_TOKEN_LINES.fullmatch(joined))


def subject_tokenizer(node_secret: bytes) -> FirmTokenizer:
    """The node's own tokenizer: keyed by a derivation of the node secret, so every component
    of one node (releases, scoring, the monitor) names a firm by the same token."""
    key = hmac.digest(node_secret, b"fedcredit/firm-token-key/v1", "sha256")
    return FirmTokenizer(key)
