"""Turn a dataset's id column into the normalised, valid, duplicate-free codes PSI runs on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from node.psi.exceptions import DuplicateIdsError, InvalidIdsError
from node.psi.workers import validate_chunk

# Ids per validation task: about 0.1 s of work, so two workers share a million ids evenly.
VALIDATE_CHUNK: Final = 50_000


@dataclass(frozen=True)
class PreparedIds:
    """The codes a party feeds into PSI and where each came from.

    Attributes
    ----------
    codes
        Normalised valid codes, in dataset order.
    rows
        ``rows[i]`` is the dataset row position of ``codes[i]``.
    invalid
        Row positions of ids that are not valid codes (left out of PSI).
    total
        Number of ids the dataset gave, valid or not.
    """

    codes: list[str]
    rows: npt.NDArray[np.int64]
    invalid: tuple[int, ...]
    total: int


def prepare_ids(
    ids: Iterable[object], executor: Executor, *, strict: bool, id_format: str = "uscc"
) -> PreparedIds:
    """Normalise and validate ``ids`` (in worker processes), and refuse duplicates.

    ``id_format`` is ``"uscc"`` (unified social credit codes) or ``"text"`` (see ``PsiSpec``).

    Raises
    ------
    InvalidIdsError
        ``strict`` is set and at least one id is not a valid unified social credit code.
    DuplicateIdsError
        Two rows carry the same normalised code.
    """
    items: Sequence[object] = ids if isinstance(ids, list) else list(ids)
    starts = range(0, len(items), VALIDATE_CHUNK)
    futures = [
        executor.submit(validate_chunk, items[s : s + VALIDATE_CHUNK], id_format) for s in starts
    ]
    codes: list[str] = []
    invalid: list[int] = []
    for start, future in zip(starts, futures, strict=True):
        valid, bad = future.result()
        codes.extend(valid)
        invalid.extend(start + offset for offset in bad)
    if strict and invalid:
        raise InvalidIdsError(invalid, len(items))
    mask = np.ones(len(items), dtype=bool)
    mask[np.asarray(invalid, dtype=np.int64)] = False
    rows = np.flatnonzero(mask).astype(np.int64)
    seen: set[str] = set()
    duplicates = [int(rows[i]) for i, code in enumerate(codes) if code in seen or seen.add(code)]
    if duplicates:
        raise DuplicateIdsError(duplicates)
    return PreparedIds(codes=codes, rows=rows, invalid=tuple(invalid), total=len(items))
