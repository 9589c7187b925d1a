"""Turn a dataset's id column into the normalised, valid, duplicate-free codes PSI runs on.

The column is consumed chunk by chunk (``node.psi.source``): each chunk is validated in a
worker while the next is read, with a bounded number of chunks in flight, so the memory held
is the compact codes array plus a few chunks, whatever the size of the file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from node.psi.exceptions import DuplicateIdsError, InvalidIdsError
from node.psi.source import IdChunks, chunks_of
from node.psi.workers import validate_chunk

# Validation tasks in flight at once: enough to keep a few workers busy, few enough that
# the chunks read ahead stay a few megabytes.
IN_FLIGHT: Final = 8

_HASH_BASE: Final = np.uint64(1_000_003)

_Validated = tuple[npt.NDArray[np.bytes_], npt.NDArray[np.int64]]


@dataclass(frozen=True)
class PreparedIds:
    """The codes a party feeds into PSI and where each came from.

    Attributes
    ----------
    codes
        Normalised valid codes as UTF-8, in dataset order (fixed-width bytes array).
    rows
        ``rows[i]`` is the dataset row position of ``codes[i]``.
    invalid
        Row positions of ids that are not valid codes (left out of PSI).
    total
        Number of ids the dataset gave, valid or not.
    """

    codes: npt.NDArray[np.bytes_]
    rows: npt.NDArray[np.int64]
    invalid: tuple[int, ...]
    total: int


def prepare_ids(
    ids: Iterable[object] | IdChunks,
    executor: Executor,
    *,
    strict: bool,
    id_format: str = "uscc",
) -> PreparedIds:
    """Normalise and validate ``ids`` (in worker processes), and refuse duplicates.

    ``ids`` is the id column in row order, or ``IdChunks`` reading it lazily.
    ``id_format`` is ``"uscc"`` (unified social credit codes) or ``"text"`` (see ``PsiSpec``).

    Raises
    ------
    InvalidIdsError
        ``strict`` is set and at least one id is not a valid unified social credit code.
    DuplicateIdsError
        Two rows carry the same normalised code.
    """
    chunks = ids if isinstance(ids, IdChunks) else chunks_of(_sequence(ids))
    codes: list[npt.NDArray[np.bytes_]] = []
    rows: list[npt.NDArray[np.int64]] = []
    invalid: list[npt.NDArray[np.int64]] = []
    pending: deque[tuple[int, int, Future[_Validated]]] = deque()
    total = 0

    def collect() -> None:
        start, size, future = pending.popleft()
        valid, bad = future.result()
        keep = np.ones(size, dtype=bool)
        keep[bad] = False
        codes.append(valid)
        rows.append(start + np.flatnonzero(keep))
        invalid.append(start + bad)

    for chunk in chunks.chunks:
        if len(pending) >= IN_FLIGHT:
            collect()
        pending.append((total, len(chunk), executor.submit(validate_chunk, chunk, id_format)))
        total += len(chunk)
    while pending:
        collect()
    bad_rows = tuple(int(r) for part in invalid for r in part)
    if strict and bad_rows:
        raise InvalidIdsError(bad_rows, total)
    all_codes = _concatenate(codes, id_format)
    all_rows = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    duplicates = _duplicates(all_codes)
    if len(duplicates):
        raise DuplicateIdsError([int(r) for r in all_rows[duplicates]])
    return PreparedIds(codes=all_codes, rows=all_rows, invalid=bad_rows, total=total)


def _sequence(ids: Iterable[object]) -> object:
    # A list, Series or array is sliced in place; any other iterable is read once into a list.
    return ids if hasattr(ids, "__getitem__") and hasattr(ids, "__len__") else list(ids)


def _concatenate(parts: list[npt.NDArray[np.bytes_]], id_format: str) -> npt.NDArray[np.bytes_]:
    if not parts:
        return np.empty(0, dtype="S18" if id_format == "uscc" else "S1")
    # np.concatenate widens to the widest chunk; copying chunk by chunk keeps one copy alive.
    width = max(p.dtype.itemsize for p in parts)
    out = np.empty(sum(len(p) for p in parts), dtype=f"S{width}")
    at = 0
    for i, part in enumerate(parts):
        out[at : at + len(part)] = part
        at += len(part)
        parts[i] = out[:0]
    return out


def _duplicates(codes: npt.NDArray[np.bytes_]) -> npt.NDArray[np.int64]:
    """Positions of every code equal to an earlier one, ascending.

    Sorting ten million byte strings takes seconds; sorting their 64-bit hashes a fraction of
    that. Codes whose hash is shared are then compared exactly, so a hash collision can
    never be taken for a duplicate.
    """
    if len(codes) < 2:
        return np.empty(0, dtype=np.int64)
    digits = codes.view(np.uint8).reshape(len(codes), codes.dtype.itemsize)
    hashed = np.zeros(len(codes), dtype=np.uint64)
    for column in digits.T:  # polynomial hash mod 2**64 (the multiplication wraps)
        hashed = hashed * _HASH_BASE + column
    order = np.argsort(hashed)
    ranked = hashed[order]
    same = ranked[1:] == ranked[:-1]
    candidates = np.unique(np.concatenate([order[1:][same], order[:-1][same]]))
    exact_order = np.argsort(codes[candidates], kind="stable")
    exact = codes[candidates][exact_order]
    repeated = np.flatnonzero(exact[1:] == exact[:-1]) + 1
    return np.sort(candidates[exact_order[repeated]])
