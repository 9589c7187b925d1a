"""Keep, drop, keyed hash and per-recipient token.

Hash and token are HMAC-SHA-256 under keys derived from the node's key, never the node key
itself, so the two cannot be confused: ``hash`` is the same for every recipient of one node
(joins across that node's datasets), ``token`` is keyed by the recipient organization as well,
so two recipients holding tokens of the same firm cannot join their extracts.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from node.policy.transforms.base import (
    Transform,
    TransformContext,
    from_arrow_str,
    to_arrow_str,
)

_HASH_LABEL = b"fedcredit/policy/hash/v1"
_TOKEN_LABEL = b"fedcredit/policy/token/v1|"


def derive_key(node_key: bytes, label: bytes) -> bytes:
    """A purpose-bound subkey: HMAC-SHA-256(node_key, label)."""
    return hmac.digest(node_key, label, "sha256")


def hmac_sha256_many(key: bytes, messages: list[bytes]) -> np.ndarray:
    """HMAC-SHA-256 (RFC 2104) of every message under one key, as an (n, 32) uint8 matrix.

    The keyed inner and outer SHA-256 states are computed once and copied per message, which
    is the same function as ``hmac.digest`` at about a third of its per-call cost (the one-shot
    call sets the key up again for every message). Tests check it against ``hmac.digest``.
    """
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    out: list[bytes] = []
    append = out.append
    for message in messages:
        i = inner.copy()
        i.update(message)
        o = outer.copy()
        o.update(i.digest())
        append(o.digest())
    return np.frombuffer(b"".join(out), dtype=np.uint8).reshape(len(messages), 32)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex_strings(digests: np.ndarray, length: int, prefix: str = "") -> pa.Array:
    """The first ``length`` hex characters of each digest row, after ``prefix``, as Arrow text."""
    n = digests.shape[0]
    head = prefix.encode()
    width = len(head) + length
    nbytes = (length + 1) // 2
    chars = np.empty((n, 2 * nbytes), dtype=np.uint8)
    chars[:, 0::2] = _HEX[digests[:, :nbytes] >> 4]
    chars[:, 1::2] = _HEX[digests[:, :nbytes] & 15]
    out = np.empty((n, width), dtype=np.uint8)
    out[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    out[:, len(head) :] = chars[:, :length]
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out.tobytes()))


def distinct(column: pd.Series) -> tuple[pa.Array, list[bytes]]:
    """Dictionary-encode a column: per-row indices (null for null) and the distinct values."""
    encoded = pc.dictionary_encode(to_arrow_str(column))
    return encoded.indices, encoded.dictionary.cast(pa.large_binary()).to_pylist()


def hmac_column(column: pd.Series, key: bytes, length: int, prefix: str = "") -> pd.Series:
    """HMAC-SHA-256 of every distinct value, as ``prefix`` + ``length`` hex characters.

    Distinct values are hashed once (a column of repeated codes costs one HMAC per code).
    """
    indices, uniques = distinct(column)
    hashed = hex_strings(hmac_sha256_many(key, uniques), length, prefix)
    return from_arrow_str(pc.take(hashed, indices), column)


class Keep(Transform):
    """The value leaves as it is. Refused for C3 fields."""

    type: Literal["keep"] = "keep"

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Return the column unchanged."""
        return column


class Drop(Transform):
    """The field never leaves; an explicit, recorded choice (unlike a missing rule)."""

    type: Literal["drop"] = "drop"

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Return ``None``: the engine leaves the column out."""
        return None


class Hash(Transform):
    """Keyed hash, HMAC-SHA-256 under a key derived from the node key.

    Without the node key nobody can test a guessed value (unlike a plain SHA-256 of a
    18-character code, which a dictionary of all codes of one district breaks).
    """

    type: Literal["hash"] = "hash"
    # 16 hex characters (64 bits) keep collisions unlikely below about 10^9 distinct values.
    length: int = Field(64, ge=16, le=64, description="Hex characters kept of the HMAC's 64.")

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Hash every value under the node's hash key."""
        return hmac_column(column, derive_key(ctx.node_key, _HASH_LABEL), self.length)


class Token(Transform):
    """Per-recipient token: stable for one recipient, different across recipients."""

    type: Literal["token"] = "token"
    length: int = Field(32, ge=16, le=64, description="Hex characters kept after `tk_`.")

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Tokenize every value under the key of ``ctx.recipient``."""
        key = derive_key(ctx.node_key, _TOKEN_LABEL + ctx.recipient.encode())
        return hmac_column(column, key, self.length, prefix="tk_")
