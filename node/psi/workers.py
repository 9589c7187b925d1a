"""Per-row PSI crypto, as top-level functions that run in worker processes.

Each function takes one chunk (thousands of rows) so that pickling stays cheap next to the
X25519 work: one ladder costs about 25-40 µs, the Python around it about 2 µs. The secret
scalar reaches a worker only through the pool's pipe, in memory; it is never written to disk.
``InlineExecutor`` runs the same functions in the calling thread when no pool is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from node.data import uscc
from node.psi.hashing import MAX_COUNTER, hash_to_u
from node.psi.scalars import on_twist
from node.psi.spec import POINT_BYTES

T = TypeVar("T")

# What a failed ladder step leaves in an output slot. A real X25519 output is never all
# zero (``exchange`` refuses to return it), so the caller can spot the failed rows.
ZERO_POINT: Final = bytes(POINT_BYTES)
# A valid unified social credit code is 18 ASCII characters.
USCC_BYTES: Final = 18


def validate_chunk(
    ids: Any, id_format: str = "uscc"
) -> tuple[npt.NDArray[np.bytes_], npt.NDArray[np.int64]]:
    """Normalise a chunk of ids; return the valid codes and the chunk offsets of invalid ones.

    ``ids`` is a list, a pandas Series, a numpy or a pyarrow array. The codes come back as
    UTF-8 in a fixed-width bytes array (compact to send back and to keep: no Python object
    per id). Anything that is not a string (a missing value read from a file, for instance)
    is invalid. With ``id_format="text"`` any non-empty string, stripped, is valid, except
    one holding a NUL character (a fixed-width array cannot keep it).
    """
    valid: list[bytes] = []
    invalid: list[int] = []
    text = id_format == "text"
    for offset, raw in enumerate(_as_list(ids)):
        if not isinstance(raw, str):
            invalid.append(offset)
            continue
        code = raw.strip() if text else uscc.normalize(raw)
        if (text and code and "\0" not in code) or (not text and uscc.is_valid(code)):
            valid.append(code.encode("utf-8"))
        else:
            invalid.append(offset)
    width = max(map(len, valid), default=1) if text else USCC_BYTES
    return np.array(valid, dtype=f"S{width}"), np.array(invalid, dtype=np.int64)


def _as_list(ids: Any) -> list[Any]:
    if isinstance(ids, pa.Array | pa.ChunkedArray):
        return ids.to_pylist()  # type: ignore[no-any-return]
    if hasattr(ids, "tolist"):
        return ids.tolist()  # type: ignore[no-any-return]
    return list(ids)


def blind_codes(salt: bytes, scalar: bytes, codes: Sequence[str] | npt.NDArray[np.bytes_]) -> bytes:
    """Hash each code to a point and multiply it by ``scalar``; return the concatenated points.

    ``codes`` are normalised codes, as ``str`` or as their UTF-8 bytes (the array
    ``validate_chunk`` returns).

    Raises
    ------
    ValueError
        Every candidate point of a code had small order (probability about 2**-2000).
    """
    key = X25519PrivateKey.from_private_bytes(scalar)
    from_bytes = X25519PublicKey.from_public_bytes
    out: list[bytes] = []
    append = out.append
    for code in codes.tolist() if isinstance(codes, np.ndarray) else codes:
        try:
            append(key.exchange(from_bytes(hash_to_u(salt, code, 0))))
        except ValueError:
            append(_blind_retry(key, salt, code))
    return b"".join(out)


def _blind_retry(key: X25519PrivateKey, salt: bytes, code: str | bytes) -> bytes:
    for counter in range(1, MAX_COUNTER):
        try:
            return key.exchange(X25519PublicKey.from_public_bytes(hash_to_u(salt, code, counter)))
        except ValueError:
            continue
    raise ValueError(f"no usable point after {MAX_COUNTER} candidates")


def reblind_points(scalar: bytes, points: bytes) -> bytes:
    """Multiply each 32-byte point of ``points`` by ``scalar``.

    A point received from a peer that has small order yields ``ZERO_POINT`` in its slot
    instead of an exception, so the caller can name the sender and the batch.

    Preconditions: ``len(points)`` is a multiple of 32.
    """
    if len(points) % POINT_BYTES:
        raise ValueError("points must be a whole number of 32-byte points")
    key = X25519PrivateKey.from_private_bytes(scalar)
    from_bytes = X25519PublicKey.from_public_bytes
    out: list[bytes] = []
    append = out.append
    for start in range(0, len(points), POINT_BYTES):
        try:
            append(key.exchange(from_bytes(points[start : start + POINT_BYTES])))
        except ValueError:
            append(ZERO_POINT)
    return b"".join(out)


def unblind_points(curve_inverse: bytes, twist_inverse: bytes, points: bytes) -> bytes:
    """Remove a blinding from each point: multiply by the inverse for its group.

    ``curve_inverse`` and ``twist_inverse`` come from ``scalars.invertible_scalar``. Points
    that fail (small order, so not from this protocol) yield ``ZERO_POINT`` in their slot.

    Preconditions: ``len(points)`` is a multiple of 32.
    """
    if len(points) % POINT_BYTES:
        raise ValueError("points must be a whole number of 32-byte points")
    keys = (
        X25519PrivateKey.from_private_bytes(curve_inverse),
        X25519PrivateKey.from_private_bytes(twist_inverse),
    )
    from_bytes = X25519PublicKey.from_public_bytes
    out: list[bytes] = []
    append = out.append
    for start in range(0, len(points), POINT_BYTES):
        point = points[start : start + POINT_BYTES]
        try:
            append(keys[on_twist(point)].exchange(from_bytes(point)))
        except ValueError:
            append(ZERO_POINT)
    return b"".join(out)


class InlineExecutor(Executor):
    """An executor that runs each task at once in the calling thread (no pool given)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future
