"""The PSI wire format: every message starts with a version byte and a kind byte.

All integers are big-endian; row positions in index batches are little-endian ``uint32``
arrays (what NumPy writes natively). Decoders check version, kind, lengths and counts, and
raise ``MalformedMessage`` naming the sender and topic, never the content. Layouts::

    HELLO   v k status:u8 n_valid:u64
    START   v k status:u8 n_leader:u64 salt:32 culprit_len:u8 culprit:utf8
    POINTS  v k batch:u32 batches:u32 points:32*n
    SEED    v k seed:32
    RESULT  v k n_sets:u8 (size:u64 batches:u32)*n_sets
    INDEX   v k batch:u32 batches:u32 positions:u32le*n
    SUMMARY v k json:utf8    (counts only; the one kind sent to the coordinator)
"""

from __future__ import annotations

import json
import struct
from enum import IntEnum
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from node.psi.exceptions import MalformedMessage
from node.psi.hashing import SALT_BYTES
from node.psi.spec import POINT_BYTES

VERSION: Final = 1


class Kind(IntEnum):
    """Message kinds."""

    HELLO = 1
    START = 2
    POINTS = 3
    SEED = 4
    RESULT = 5
    INDEX = 6
    SUMMARY = 7


class Status(IntEnum):
    """Whether a party can take part, and if not, why (sent instead of the detail)."""

    OK = 0
    EMPTY = 1
    INVALID_IDS = 2
    DUPLICATE_IDS = 3
    UNKNOWN_DATASET = 4
    POLICY_DENIED = 5
    FAILED = 6


REASONS: Final = {
    Status.EMPTY: "it has no valid id",
    Status.INVALID_IDS: "its dataset has invalid ids and the job is strict",
    Status.DUPLICATE_IDS: "its dataset has duplicate ids",
    Status.UNKNOWN_DATASET: "the job names a dataset it does not have",
    Status.POLICY_DENIED: "its node config does not allow that dataset or id field for PSI",
    Status.FAILED: "it stopped with an error",
}

_HEAD = struct.Struct(">BB")
_HELLO = struct.Struct(">BBBQ")
_START = struct.Struct(f">BBBQ{SALT_BYTES}sB")
_BATCH = struct.Struct(">BBII")
_SET = struct.Struct(">QI")
_INDEX_DTYPE: Final = np.dtype("<u4")


def _check_head(payload: bytes, kind: Kind, sender: str, topic: str, minimum: int) -> None:
    if len(payload) < max(minimum, _HEAD.size):
        raise MalformedMessage(sender, topic, f"{len(payload)} bytes is too short for {kind.name}")
    version, got = _HEAD.unpack_from(payload)
    if version != VERSION:
        raise MalformedMessage(sender, topic, f"wire version {version}, expected {VERSION}")
    if got != kind:
        raise MalformedMessage(sender, topic, f"message kind {got}, expected {kind.name}")


def encode_hello(status: Status, n_valid: int) -> bytes:
    return _HELLO.pack(VERSION, Kind.HELLO, status, n_valid)


def decode_hello(payload: bytes, sender: str, topic: str) -> tuple[Status, int]:
    _check_head(payload, Kind.HELLO, sender, topic, _HELLO.size)
    if len(payload) != _HELLO.size:
        raise MalformedMessage(sender, topic, "HELLO has trailing bytes")
    _, _, status, n_valid = _HELLO.unpack(payload)
    return _status(status, sender, topic), n_valid


def encode_start(status: Status, n_leader: int, salt: bytes, culprit: str = "") -> bytes:
    name = culprit.encode("utf-8")
    if len(salt) != SALT_BYTES or len(name) > 255:
        raise ValueError("salt must be 32 bytes and the culprit name at most 255 bytes")
    return _START.pack(VERSION, Kind.START, status, n_leader, salt, len(name)) + name


def decode_start(payload: bytes, sender: str, topic: str) -> tuple[Status, int, bytes, str]:
    """Return (status, leader set size, salt, name of the party that made the run abort)."""
    _check_head(payload, Kind.START, sender, topic, _START.size)
    _, _, status, n_leader, salt, name_len = _START.unpack_from(payload)
    if len(payload) != _START.size + name_len:
        raise MalformedMessage(sender, topic, "START length does not match its party name")
    try:
        culprit = payload[_START.size :].decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage(sender, topic, "START party name is not UTF-8") from None
    return _status(status, sender, topic), n_leader, salt, culprit


def encode_points(batch: int, batches: int, points: bytes) -> bytes:
    return _BATCH.pack(VERSION, Kind.POINTS, batch, batches) + points


def decode_points(
    payload: bytes, sender: str, topic: str, batch: int, batches: int, count: int
) -> bytes:
    """Return the points of batch ``batch`` of ``batches``, which must hold ``count`` points."""
    _check_head(payload, Kind.POINTS, sender, topic, _BATCH.size)
    _, _, got_batch, got_batches = _BATCH.unpack_from(payload)
    if (got_batch, got_batches) != (batch, batches):
        raise MalformedMessage(
            sender, topic, f"batch {got_batch}/{got_batches}, expected {batch}/{batches}"
        )
    body = payload[_BATCH.size :]
    if len(body) != count * POINT_BYTES:
        raise MalformedMessage(
            sender, topic, f"{len(body)} bytes of points, expected {count} points of 32 bytes"
        )
    return body


def encode_seed(seed: bytes) -> bytes:
    return _HEAD.pack(VERSION, Kind.SEED) + seed


def decode_seed(payload: bytes, sender: str, topic: str) -> bytes:
    _check_head(payload, Kind.SEED, sender, topic, _HEAD.size + 32)
    if len(payload) != _HEAD.size + 32:
        raise MalformedMessage(sender, topic, "SEED must carry exactly 32 bytes")
    return payload[_HEAD.size :]


def encode_result(sets: list[tuple[int, int]]) -> bytes:
    """``sets`` holds (size, index batches to follow) per result set, in spec order."""
    body = b"".join(_SET.pack(size, batches) for size, batches in sets)
    return _HEAD.pack(VERSION, Kind.RESULT) + bytes([len(sets)]) + body


def decode_result(payload: bytes, sender: str, topic: str, n_sets: int) -> list[tuple[int, int]]:
    _check_head(payload, Kind.RESULT, sender, topic, _HEAD.size + 1)
    got = payload[_HEAD.size]
    if got != n_sets or len(payload) != _HEAD.size + 1 + n_sets * _SET.size:
        raise MalformedMessage(sender, topic, f"RESULT carries {got} sets, expected {n_sets}")
    start = _HEAD.size + 1
    return [_SET.unpack_from(payload, start + i * _SET.size) for i in range(n_sets)]


def encode_index(batch: int, batches: int, positions: npt.NDArray[np.integer[Any]]) -> bytes:
    return (
        _BATCH.pack(VERSION, Kind.INDEX, batch, batches) + positions.astype(_INDEX_DTYPE).tobytes()
    )


def decode_index(
    payload: bytes, sender: str, topic: str, batch: int, batches: int, count: int, limit: int
) -> npt.NDArray[np.int64]:
    """Return the ``count`` positions of index batch ``batch``; each must be below ``limit``."""
    _check_head(payload, Kind.INDEX, sender, topic, _BATCH.size)
    _, _, got_batch, got_batches = _BATCH.unpack_from(payload)
    if (got_batch, got_batches) != (batch, batches):
        raise MalformedMessage(
            sender, topic, f"batch {got_batch}/{got_batches}, expected {batch}/{batches}"
        )
    body = payload[_BATCH.size :]
    if len(body) != count * _INDEX_DTYPE.itemsize:
        raise MalformedMessage(sender, topic, f"expected {count} positions")
    positions = np.frombuffer(body, dtype=_INDEX_DTYPE).astype(np.int64)
    if positions.size and int(positions.max()) >= limit:
        raise MalformedMessage(sender, topic, f"a position is outside this party's {limit} ids")
    return positions


def encode_summary(summary: dict[str, Any]) -> bytes:
    return _HEAD.pack(VERSION, Kind.SUMMARY) + json.dumps(summary, sort_keys=True).encode()


def decode_summary(payload: bytes, sender: str, topic: str) -> dict[str, Any]:
    _check_head(payload, Kind.SUMMARY, sender, topic, _HEAD.size)
    try:
        summary = json.loads(payload[_HEAD.size :].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedMessage(sender, topic, "SUMMARY is not UTF-8 JSON") from None
    if not isinstance(summary, dict):
        raise MalformedMessage(sender, topic, "SUMMARY is not a JSON object")
    return summary


def _status(value: int, sender: str, topic: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise MalformedMessage(sender, topic, f"unknown status {value}") from None
