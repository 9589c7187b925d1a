"""Keep, drop, keyed hash and per-recipient token.

Hash and token are HMAC-SHA-256 under keys derived from the node's key, never the node key
itself, so the two cannot be confused: ``hash`` is the same for every recipient of one node
(joins across that node's datasets), ``token`` is keyed by the recipient organization as well,
so two recipients holding tokens of the same firm cannot join their extracts.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from node.policy.transforms.base import (
    Transform,
    TransformContext,
    from_arrow_str,
    register,
    to_arrow_str,
)

_HASH_LABEL = b"fedcredit/policy/hash/v1"
_TOKEN_LABEL = b"fedcredit/policy/token/v1|"


def derive_key(node_key: bytes, label: bytes) -> bytes:
    """A purpose-bound subkey: HMAC-SHA-256(node_key, label)."""
    return hmac.digest(node_key, label, "sha256")


def hmac_column(column: pd.Series, key: bytes, length: int, prefix: str = "") -> pd.Series:
    """HMAC-SHA-256 of every distinct value, as ``prefix`` + ``length`` hex characters.

    Distinct values are hashed once (``factorize``): columns of repeated codes cost one HMAC
    per code, and the loop stays in C inside ``hmac.digest``.
    """
    arr = to_arrow_str(column)
    codes, uniques = pd.factorize(pd.Series(arr, dtype="str"), use_na_sentinel=True)
    digest = hmac.digest
    hashed = np.array(
        [prefix + digest(key, u.encode(), "sha256").hex()[:length] for u in uniques], dtype=object
    )
    out = np.empty(len(codes), dtype=object)
    present = codes >= 0
    out[present] = hashed[codes[present]]
    out[~present] = None
    return pd.Series(out, index=column.index, name=column.name, dtype="str")


@register
@dataclass(frozen=True)
class Keep(Transform):
    """The value leaves as it is. Refused for C3 fields."""

    name: ClassVar[str] = "keep"

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Return the column unchanged."""
        return column


@register
@dataclass(frozen=True)
class Drop(Transform):
    """The field never leaves; an explicit, recorded choice (unlike a missing rule)."""

    name: ClassVar[str] = "drop"

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Return ``None``: the engine leaves the column out."""
        return None


def _check_length(length: int, top: int) -> None:
    # 16 hex characters (64 bits) keeps collisions unlikely below about 10^9 distinct values.
    if not 16 <= length <= top:
        raise ValueError(f"length: must be between 16 and {top} hex characters")


@register
@dataclass(frozen=True)
class Hash(Transform):
    """Keyed hash, HMAC-SHA-256 under a key derived from the node key.

    Without the node key nobody can test a guessed value (unlike a plain SHA-256 of a
    18-character code, which a dictionary of all codes of one district breaks).
    """

    name: ClassVar[str] = "hash"
    length: int = 64

    def __post_init__(self) -> None:
        _check_length(self.length, 64)

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Hash every value under the node's hash key."""
        return hmac_column(column, derive_key(ctx.node_key, _HASH_LABEL), self.length)


@register
@dataclass(frozen=True)
class Token(Transform):
    """Per-recipient token: stable for one recipient, different across recipients."""

    name: ClassVar[str] = "token"
    length: int = 32

    def __post_init__(self) -> None:
        _check_length(self.length, 64)

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Tokenize every value under the key of ``ctx.recipient``."""
        key = derive_key(ctx.node_key, _TOKEN_LABEL + ctx.recipient.encode())
        return hmac_column(column, key, self.length, prefix="tk_")


__all__ = ["Drop", "Hash", "Keep", "Token", "derive_key", "from_arrow_str", "hmac_column"]
