"""A compact binary container of named numpy columns plus a small JSON header.

Scoring answers and decision records are columns (one value per firm), so they travel and
are stored as columns: a chunk of 5,000 firms is a few ``tobytes`` calls, not 5,000 JSON
objects. Format (version byte first, so it can be upgraded)::

    b"C" VERSION(1 byte) | header length (4 bytes, little endian) | header JSON | raw arrays

The header holds the caller's scalars and, under ``"_arrays"``, ``[name, dtype, shape]`` of
each array in order; the arrays follow back to back, C order, little endian. Only plain
numeric, boolean and fixed-width text dtypes are accepted (nothing that unpickles), and every
declared size must match the bytes exactly: ``unpack`` raises ``MalformedColumns`` otherwise.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

MAGIC: Final = b"C"
VERSION: Final = 1
_ARRAYS: Final = "_arrays"
# dtypes a container may hold: fixed-size numbers, booleans and fixed-width unicode text
_KINDS: Final = frozenset("biufU")
MAX_HEADER: Final = 1 << 24


class MalformedColumns(ValueError):
    """Bytes that are not a valid column container; nothing of them was used."""


def pack(header: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]) -> bytes:
    """``header`` (JSON-able, no key ``_arrays``) and ``arrays`` as one byte string."""
    specs: list[list[Any]] = []
    blobs: list[bytes] = []
    for name, array in arrays.items():
        a = np.ascontiguousarray(array)
        if a.dtype.kind not in _KINDS:
            raise TypeError(f"column {name!r}: dtype {a.dtype} cannot be packed")
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        specs.append([name, a.dtype.str, list(a.shape)])
        blobs.append(a.tobytes())
    head = json.dumps({**header, _ARRAYS: specs}, separators=(",", ":")).encode()
    return b"".join([MAGIC, bytes([VERSION]), struct.pack("<I", len(head)), head, *blobs])


def unpack(data: bytes) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """(header, arrays) of what ``pack`` wrote; the arrays are read-only views of ``data``.

    Raises
    ------
    MalformedColumns
        Another format or version, a header that is not JSON, a forbidden dtype, or sizes
        that do not add up to the bytes given.
    """
    if len(data) < 6 or data[:1] != MAGIC or data[1] != VERSION:
        raise MalformedColumns(f"not a version {VERSION} column container")
    (size,) = struct.unpack_from("<I", data, 2)
    if size > MAX_HEADER or 6 + size > len(data):
        raise MalformedColumns("header length out of range")
    try:
        header = json.loads(data[6 : 6 + size])
        specs = header.pop(_ARRAYS)
    except (ValueError, UnicodeDecodeError, KeyError, AttributeError, TypeError):
        raise MalformedColumns("header is not a JSON object with its array list") from None
    if not isinstance(header, dict) or not isinstance(specs, list):
        raise MalformedColumns("header is not a JSON object with its array list")
    arrays: dict[str, NDArray[Any]] = {}
    at = 6 + size
    view = memoryview(data)
    for spec in specs:
        try:
            name, dtype_text, shape = str(spec[0]), str(spec[1]), tuple(int(d) for d in spec[2])
            dtype = np.dtype(dtype_text)
        except (TypeError, ValueError, IndexError):
            raise MalformedColumns("an array is described wrongly") from None
        if dtype.kind not in _KINDS or dtype.hasobject or any(d < 0 for d in shape):
            raise MalformedColumns(f"column {name!r}: dtype or shape not allowed")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if at + nbytes > len(data):
            raise MalformedColumns(f"column {name!r} runs past the end")
        arrays[name] = np.frombuffer(view[at : at + nbytes], dtype=dtype).reshape(shape)
        at += nbytes
    if at != len(data):
        raise MalformedColumns("bytes left over after the last column")
    return header, arrays
