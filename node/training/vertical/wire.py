"""Byte formats of the vertical protocol's messages; each starts with a version and a kind.

Kinds: ``C`` ciphertext vector (the Paillier core's validated format inside), ``I`` vector of
non-negative integers below the job's plaintext modulus (fixed width), ``Q`` vector of
``uint64`` (masked fixed-point validation scores), ``B`` packed booleans (the validation
split), ``J`` small JSON object (control, counts and
aggregate metrics only). Every decoder checks the kind, the count the receiver expects and the
size bound, and raises ``MalformedMessage`` naming sender and topic, never a value.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from node.training.vertical.exceptions import MalformedMessage

VERSION = 1
MAX_JSON_BYTES = 64 * 1024
_HEAD = struct.Struct(">BcI")  # version, kind, count


def _check_head(blob: bytes, kind: bytes, sender: str, topic: str) -> int:
    if len(blob) < _HEAD.size:
        raise MalformedMessage(sender, topic, "shorter than its header")
    version, got, count = _HEAD.unpack_from(blob)
    if version != VERSION:
        raise MalformedMessage(sender, topic, f"unknown format version {version}")
    if got != kind:
        raise MalformedMessage(sender, topic, f"kind {got!r}, expected {kind!r}")
    return int(count)


def _check_count(count: int, expected: int | None, sender: str, topic: str) -> None:
    if expected is not None and count != expected:
        raise MalformedMessage(sender, topic, f"holds {count} values, expected {expected}")


def encode_ints(values: Sequence[int], modulus: int) -> bytes:
    """Fixed-width big-endian residues ``0 <= v < modulus``."""
    width = (modulus.bit_length() + 7) // 8
    return _HEAD.pack(VERSION, b"I", len(values)) + b"".join(
        int(v).to_bytes(width, "big") for v in values
    )


def decode_ints(
    blob: bytes, modulus: int, sender: str, topic: str, expected: int | None = None
) -> list[int]:
    """Parse ``encode_ints``; every value must be below ``modulus``."""
    count = _check_head(blob, b"I", sender, topic)
    _check_count(count, expected, sender, topic)
    width = (modulus.bit_length() + 7) // 8
    if len(blob) != _HEAD.size + count * width:
        raise MalformedMessage(sender, topic, "length does not match its count")
    out = []
    for i in range(count):
        start = _HEAD.size + i * width
        value = int.from_bytes(blob[start : start + width], "big")
        if value >= modulus:
            raise MalformedMessage(sender, topic, f"value at position {i} is out of range")
        out.append(value)
    return out


def encode_cipher(body: bytes, count: int) -> bytes:
    """Wrap a Paillier ciphertext blob (already versioned and fingerprinted by the core)."""
    return _HEAD.pack(VERSION, b"C", count) + body


def decode_cipher(blob: bytes, sender: str, topic: str, expected: int | None = None) -> bytes:
    """Unwrap ``encode_cipher``; the caller parses the body with the Paillier core."""
    count = _check_head(blob, b"C", sender, topic)
    _check_count(count, expected, sender, topic)
    return blob[_HEAD.size :]


def encode_u64(values: NDArray[np.uint64]) -> bytes:
    """A ``uint64`` vector, big-endian."""
    return _HEAD.pack(VERSION, b"Q", len(values)) + values.astype(">u8").tobytes()


def decode_u64(blob: bytes, sender: str, topic: str, expected: int) -> NDArray[np.uint64]:
    """Parse ``encode_u64`` holding exactly ``expected`` values."""
    count = _check_head(blob, b"Q", sender, topic)
    _check_count(count, expected, sender, topic)
    if len(blob) != _HEAD.size + 8 * count:
        raise MalformedMessage(sender, topic, "length does not match its count")
    return np.frombuffer(blob, dtype=">u8", offset=_HEAD.size).astype(np.uint64)


def encode_bits(bits: NDArray[np.bool_]) -> bytes:
    """A boolean vector, packed eight to a byte."""
    return _HEAD.pack(VERSION, b"B", len(bits)) + np.packbits(bits).tobytes()


def decode_bits(blob: bytes, sender: str, topic: str, expected: int) -> NDArray[np.bool_]:
    """Parse ``encode_bits`` holding exactly ``expected`` booleans."""
    count = _check_head(blob, b"B", sender, topic)
    _check_count(count, expected, sender, topic)
    if len(blob) != _HEAD.size + (count + 7) // 8:
        raise MalformedMessage(sender, topic, "length does not match its count")
    raw = np.frombuffer(blob, dtype=np.uint8, offset=_HEAD.size)
    return np.unpackbits(raw, count=count).astype(bool)


def encode_json(obj: dict[str, Any]) -> bytes:
    """A small JSON object (control messages, counts and aggregate metrics only)."""
    body = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    return _HEAD.pack(VERSION, b"J", len(body)) + body


def decode_json(blob: bytes, sender: str, topic: str, keys: set[str]) -> dict[str, Any]:
    """Parse ``encode_json``; the object must have exactly ``keys``."""
    count = _check_head(blob, b"J", sender, topic)
    if count > MAX_JSON_BYTES or len(blob) != _HEAD.size + count:
        raise MalformedMessage(sender, topic, "JSON body has the wrong length")
    try:
        obj = json.loads(blob[_HEAD.size :])
    except (ValueError, UnicodeDecodeError):
        raise MalformedMessage(sender, topic, "JSON body does not parse") from None
    if not isinstance(obj, dict) or set(obj) != keys:
        raise MalformedMessage(sender, topic, f"expected exactly the keys {sorted(keys)}")
    return obj
