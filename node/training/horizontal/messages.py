"""Builders and parsers for the small control messages (keys, resume, start, metrics)."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import numpy as np
from numpy.typing import NDArray

from node.training.horizontal.exceptions import MalformedMessage
from node.training.horizontal.wire import (
    KIND_CONTROL,
    KIND_FAILED,
    KIND_KEY,
    KIND_METRICS,
    KIND_PUBLIC_KEY,
    KIND_RESUME,
    KIND_START,
    MAX_HEADER,
    frame,
    header_bytes,
    parse_header,
    unframe,
)

_LEN = struct.Struct(">I")


def _with_header(kind: int, header: dict[str, Any], tail: bytes) -> bytes:
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    return frame(kind, _LEN.pack(len(head)) + head + tail)


def _split_header(
    payload: bytes, kind: int, sender: str, topic: str
) -> tuple[dict[str, Any], bytes]:
    body = unframe(payload, kind, sender, topic)
    if len(body) < _LEN.size:
        raise MalformedMessage(sender, topic, "missing header length")
    (size,) = _LEN.unpack_from(body)
    if size > MAX_HEADER or _LEN.size + size > len(body):
        raise MalformedMessage(sender, topic, "header length out of range")
    try:
        header = json.loads(body[_LEN.size : _LEN.size + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedMessage(sender, topic, "header is not UTF-8 JSON") from None
    if not isinstance(header, dict):
        raise MalformedMessage(sender, topic, "header is not a JSON object")
    return header, body[_LEN.size + size :]


def key_message(
    scheme: str, secret: bytes, shapes: tuple[tuple[int, ...], ...], initial: NDArray[np.float64]
) -> bytes:
    """Key holder -> bank: the shared private key and the initial global model (sealed by the
    relay end to end; never sent to the coordinator)."""
    header = {"scheme": scheme, "secret_len": len(secret), "shapes": [list(s) for s in shapes]}
    return _with_header(KIND_KEY, header, secret + initial.astype("<f8").tobytes())


def parse_key_message(
    payload: bytes, sender: str, topic: str
) -> tuple[str, bytes, tuple[tuple[int, ...], ...], NDArray[np.float64]]:
    header, tail = _split_header(payload, KIND_KEY, sender, topic)
    scheme, secret_len, shapes = (
        header.get("scheme"),
        header.get("secret_len"),
        header.get("shapes"),
    )
    if (
        not isinstance(scheme, str)
        or not isinstance(secret_len, int)
        or not isinstance(shapes, list)
    ):
        raise MalformedMessage(sender, topic, "key header lacks scheme, secret_len or shapes")
    if not all(
        isinstance(s, list) and all(isinstance(d, int) and d >= 0 for d in s) for s in shapes
    ):
        raise MalformedMessage(sender, topic, "shapes must be lists of non-negative integers")
    size = sum(math.prod(s) for s in shapes)
    if not 0 <= secret_len <= len(tail) or len(tail) - secret_len != 8 * size:
        raise MalformedMessage(sender, topic, "key message length disagrees with its header")
    initial = np.frombuffer(tail[secret_len:], dtype="<f8").astype(np.float64)
    if not np.isfinite(initial).all():
        raise MalformedMessage(sender, topic, "initial model holds NaN or infinity")
    return scheme, tail[:secret_len], tuple(tuple(s) for s in shapes), initial


def public_key_message(scheme: str, fingerprint: str, public: bytes, n_params: int) -> bytes:
    """Key holder -> coordinator: the public key and the model's parameter count (which
    fixes how many ciphertexts a contribution holds)."""
    header = {"scheme": scheme, "fingerprint": fingerprint, "n_params": n_params}
    return _with_header(KIND_PUBLIC_KEY, header, public)


def parse_public_key_message(
    payload: bytes, sender: str, topic: str
) -> tuple[str, str, bytes, int]:
    header, public = _split_header(payload, KIND_PUBLIC_KEY, sender, topic)
    scheme, fingerprint = header.get("scheme"), header.get("fingerprint")
    n_params = header.get("n_params")
    if not isinstance(scheme, str) or not isinstance(fingerprint, str):
        raise MalformedMessage(sender, topic, "public key header lacks scheme or fingerprint")
    if not isinstance(n_params, int) or not 1 <= n_params <= 10_000_000:
        raise MalformedMessage(sender, topic, "n_params must be an integer in 1..10,000,000")
    return scheme, fingerprint, public, n_params


def resume_message(latest: int) -> bytes:
    return header_bytes(KIND_RESUME, {"latest": latest})


def parse_resume(payload: bytes, sender: str, topic: str, rounds: int) -> int:
    latest = parse_header(payload, KIND_RESUME, sender, topic, {"latest": int})["latest"]
    if not 0 <= latest <= rounds:
        raise MalformedMessage(sender, topic, f"latest round must be within 0..{rounds}")
    return int(latest)


def start_message(start: int) -> bytes:
    return header_bytes(KIND_START, {"start": start})


def parse_start(payload: bytes, sender: str, topic: str, latest: int) -> int:
    start = parse_header(payload, KIND_START, sender, topic, {"start": int})["start"]
    if not 0 <= start <= latest:
        raise MalformedMessage(sender, topic, f"start round must be within 0..{latest}")
    return int(start)


def metrics_message(metrics: dict[str, float]) -> bytes:
    return header_bytes(KIND_METRICS, {"metrics": metrics})


def parse_metrics(payload: bytes, sender: str, topic: str) -> dict[str, float]:
    raw = parse_header(payload, KIND_METRICS, sender, topic, {"metrics": dict})["metrics"]
    if len(raw) > 64 or not all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
        for k, v in raw.items()
    ):
        raise MalformedMessage(sender, topic, "metrics must be at most 64 name: number pairs")
    return {k: float(v) for k, v in raw.items()}


def control_message(stop: bool, kept_round: int, reason: str) -> bytes:
    """Coordinator -> banks after a round: stop or go on, and the round whose model is kept."""
    return header_bytes(KIND_CONTROL, {"stop": stop, "kept_round": kept_round, "reason": reason})


def parse_control(
    payload: bytes, sender: str, topic: str, round_number: int
) -> tuple[bool, int, str]:
    header = parse_header(
        payload, KIND_CONTROL, sender, topic, {"stop": bool, "kept_round": int, "reason": str}
    )
    if not 1 <= header["kept_round"] <= round_number:
        raise MalformedMessage(sender, topic, f"kept round must be within 1..{round_number}")
    return bool(header["stop"]), int(header["kept_round"]), str(header["reason"])


def failed_message(round_number: int, reason: str) -> bytes:
    """Bank -> coordinator: its local trainer failed (a value-free reason: where, what kind)."""
    return header_bytes(KIND_FAILED, {"round": round_number, "reason": reason})


def parse_failed(payload: bytes, sender: str, topic: str) -> tuple[int, str]:
    header = parse_header(payload, KIND_FAILED, sender, topic, {"round": int, "reason": str})
    return int(header["round"]), header["reason"][:200]
