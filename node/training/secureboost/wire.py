"""Byte formats the SecureBoost protocol adds to the vertical ones, and chunked transfers.

Small control messages, bit vectors and ciphertext vectors use ``node.training.vertical.wire``
(version byte, kind, count). This module adds kind ``N``: a vector of small signed integers
(``int16``: node ids per row, row roles), and sends long cell vectors as numbered chunks that
each stay under the relay's 4 MiB bound.
"""

from __future__ import annotations

import struct
from typing import Final

import numpy as np
from numpy.typing import NDArray

from node.training.cells import Cells
from node.training.secureboost.cells import CellArith
from node.training.secureboost.session import Session
from node.training.vertical.exceptions import MalformedMessage
from node.training.vertical.wire import VERSION
from node.transport.limits import MAX_PAYLOAD_BYTES

_HEAD: Final = struct.Struct(">BcI")
MAX_CODES: Final = (MAX_PAYLOAD_BYTES - _HEAD.size) // 2


def encode_codes(values: NDArray[np.int16]) -> bytes:
    """A vector of ``int16`` (big-endian)."""
    if len(values) > MAX_CODES:
        raise ValueError(f"{len(values)} rows exceed one message ({MAX_CODES})")
    return _HEAD.pack(VERSION, b"N", len(values)) + values.astype(">i2").tobytes()


def decode_codes(blob: bytes, sender: str, topic: str, expected: int) -> NDArray[np.int16]:
    """Parse ``encode_codes`` holding exactly ``expected`` values."""
    if len(blob) < _HEAD.size:
        raise MalformedMessage(sender, topic, "shorter than its header")
    version, kind, count = _HEAD.unpack_from(blob)
    if version != VERSION or kind != b"N":
        raise MalformedMessage(sender, topic, f"version {version} kind {kind!r}, expected N")
    if count != expected or len(blob) != _HEAD.size + 2 * count:
        raise MalformedMessage(sender, topic, f"holds {count} values, expected {expected}")
    return np.frombuffer(blob, dtype=">i2", offset=_HEAD.size).astype(np.int16)


def cells_per_message(key_bits: int) -> int:
    """Cells per chunk for a key of ``key_bits``: a ciphertext takes ``key_bits / 4`` bytes."""
    return max(1, (MAX_PAYLOAD_BYTES - 1024) // (key_bits // 4 + 1))


def send_cells(
    session: Session,
    recipient: str,
    name: str,
    cells: Cells,
    arith: CellArith,
    stage: str,
) -> None:
    """Send ``cells`` as chunks ``<name>/0``, ``<name>/1``, ... (the receiver knows the count)."""
    step = cells_per_message(arith.n.bit_length())
    for k, start in enumerate(range(0, len(cells), step)):
        session.send(recipient, f"{name}/{k}", arith.dump(cells[start : start + step]), stage)


def recv_cells(
    session: Session, sender: str, name: str, count: int, arith: CellArith, stage: str
) -> Cells:
    """Receive the ``count`` cells ``send_cells`` sent, validating every chunk."""
    step = cells_per_message(arith.n.bit_length())
    parts = []
    for k, start in enumerate(range(0, count, step)):
        topic = f"{name}/{k}"
        blob = session.recv(sender, topic, stage)
        parts.append(arith.load(blob, sender, topic, min(step, count - start)))
    return arith.join(parts)
