"""Byte formats of the horizontal protocol's messages, and chunked sending of vectors.

Every payload starts with ``VERSION`` and a one-byte message kind, then either a small JSON
header (UTF-8, at most ``MAX_HEADER`` bytes) or an opaque scheme blob (serialized
ciphertexts). Vectors of ciphertexts are sent as a header message on ``topic`` followed by
``chunks`` messages on ``topic/0``, ``topic/1`` … so no message exceeds ``MAX_PAYLOAD_BYTES``.
Everything received is checked here and refused with ``MalformedMessage`` naming the sender,
the topic and the rule broken — never the bytes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, Final

from node.training.horizontal.exceptions import MalformedMessage
from node.transport.channel import PartyChannel
from node.transport.limits import MAX_PAYLOAD_BYTES

VERSION: Final = 1
MAX_HEADER: Final = 64 * 1024
MAX_CHUNKS: Final = 4096

KIND_KEY: Final = 1
KIND_PUBLIC_KEY: Final = 2
KIND_RESUME: Final = 3
KIND_START: Final = 4
KIND_VECTOR: Final = 5
KIND_CHUNK: Final = 6
KIND_AGGREGATE: Final = 7
KIND_METRICS: Final = 8
KIND_CONTROL: Final = 9
KIND_FAILED: Final = 10

_KIND_NAMES: Final = {
    KIND_KEY: "key",
    KIND_PUBLIC_KEY: "public key",
    KIND_RESUME: "resume",
    KIND_START: "start",
    KIND_VECTOR: "vector",
    KIND_CHUNK: "chunk",
    KIND_AGGREGATE: "aggregate",
    KIND_METRICS: "metrics",
    KIND_CONTROL: "control",
    KIND_FAILED: "failure notice",
}


def frame(kind: int, body: bytes) -> bytes:
    """Prefix ``body`` with the version and kind bytes."""
    payload = bytes((VERSION, kind)) + body
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"{_KIND_NAMES[kind]} message of {len(payload)} bytes exceeds 4 MiB")
    return payload


def unframe(payload: bytes, kind: int, sender: str, topic: str) -> bytes:
    """Check version and kind; return the body.

    Raises
    ------
    MalformedMessage
        Too short, too long, another version or another kind than expected.
    """
    if len(payload) < 2:
        raise MalformedMessage(sender, topic, "shorter than the 2-byte version/kind prefix")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MalformedMessage(sender, topic, "larger than the 4 MiB message limit")
    if payload[0] != VERSION:
        raise MalformedMessage(sender, topic, f"version {payload[0]}, expected {VERSION}")
    if payload[1] != kind:
        raise MalformedMessage(sender, topic, f"kind {payload[1]}, expected {kind}")
    return payload[2:]


def header_bytes(kind: int, header: Mapping[str, Any]) -> bytes:
    body = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    if len(body) > MAX_HEADER:
        raise ValueError("message header exceeds 64 KiB")
    return frame(kind, body)


def parse_header(
    payload: bytes,
    kind: int,
    sender: str,
    topic: str,
    fields: Mapping[str, type | tuple[type, ...]],
) -> dict[str, Any]:
    """Decode a JSON header and check that each of ``fields`` is present with its type.

    Raises
    ------
    MalformedMessage
        Not JSON, not an object, too large, or a field is missing or of the wrong type.
    """
    body = unframe(payload, kind, sender, topic)
    if len(body) > MAX_HEADER:
        raise MalformedMessage(sender, topic, "header larger than 64 KiB")
    try:
        header = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedMessage(sender, topic, "header is not UTF-8 JSON") from None
    if not isinstance(header, dict):
        raise MalformedMessage(sender, topic, "header is not a JSON object")
    for name, kinds in fields.items():
        value = header.get(name)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
            raise MalformedMessage(sender, topic, f"header field {name!r} missing or mistyped")
    return header


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def send_vector(
    channel: PartyChannel, recipient: str, topic: str, header: Mapping[str, Any], blobs: list[bytes]
) -> int:
    """Send a header (with ``chunks`` added) then each blob as one chunk; return bytes sent."""
    head = header_bytes(KIND_VECTOR, {**header, "chunks": len(blobs)})
    channel.send(recipient, topic, head)
    sent = len(head)
    for i, blob in enumerate(blobs):
        payload = frame(KIND_CHUNK, blob)
        channel.send(recipient, f"{topic}/{i}", payload)
        sent += len(payload)
    return sent


def recv_vector(
    channel: PartyChannel,
    sender: str,
    topic: str,
    deadline: float,
    fields: Mapping[str, type | tuple[type, ...]],
    head: bytes | None = None,
) -> tuple[dict[str, Any], list[bytes]]:
    """Receive what ``send_vector`` sent by ``deadline`` (``time.monotonic``); validate it.

    ``head`` is the header message when the caller has already received it.

    Raises
    ------
    MalformedMessage
        The header is malformed or announces an impossible number of chunks.
    PartyUnavailable, ChannelTimeout
        From the channel; ``ChannelTimeout`` once the deadline has passed.
    """
    if head is None:
        head = channel.recv(sender, topic, timeout=_remaining(deadline))
    header = parse_header(head, KIND_VECTOR, sender, topic, {**fields, "chunks": int})
    chunks = header["chunks"]
    if not 0 <= chunks <= MAX_CHUNKS:
        raise MalformedMessage(sender, topic, f"announces {chunks} chunks (max {MAX_CHUNKS})")
    blobs = []
    for i in range(chunks):
        sub = f"{topic}/{i}"
        blobs.append(
            unframe(
                channel.recv(sender, sub, timeout=_remaining(deadline)), KIND_CHUNK, sender, sub
            )
        )
    return header, blobs


def _remaining(deadline: float) -> float:
    return max(0.001, deadline - time.monotonic())
