"""What counts as a raw enterprise or personal identifier in free text, and which codes are valid.

One definition for every place that must keep such identifiers out: access-log entries, error
messages that cross a trust boundary, and identifiers that become file names or log fields.
``valid_credit_codes`` checks many unified social credit codes at once (a chunk of a book is
a few array operations, not a loop over each code's characters).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from node.data import uscc

# An 18-character alphanumeric word: the length of both a unified social credit code and a
# resident ID number. Candidates are then checked by their check characters, so ordinary
# 18-character words (hashes, tokens) are not mistaken for identifiers.
_ID_LIKE: Final = re.compile(r"(?<![0-9A-Za-z])[0-9A-Za-z]{18}(?![0-9A-Za-z])")
_ID_CARD_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CARD_CHECK: Final = "10X98765432"
_CODE_LENGTH: Final = 18
_FEW: Final = 4
# byte -> value in the credit-code alphabet, -1 for a byte outside it
_CODE_VALUE: Final = np.full(256, -1, np.int64)
_CODE_VALUE[np.frombuffer(uscc.ALPHABET.encode("ascii"), np.uint8)] = np.arange(len(uscc.ALPHABET))
_CODE_WEIGHTS: Final = np.array([pow(3, i, 31) for i in range(_CODE_LENGTH - 1)], np.int64)


def valid_credit_codes(codes: Sequence[str]) -> NDArray[np.bool_]:
    """For each (already normalised) code, ``uscc.is_valid``: 18 characters of the code
    alphabet whose last is the check character of the first 17."""
    n = len(codes)
    if n <= _FEW:  # one by one is cheaper than arrays for a lone decision
        return np.fromiter(map(uscc.is_valid, codes), np.bool_, n)
    lengths = np.fromiter(map(len, codes), np.int64, n)
    ok = np.zeros(n, np.bool_)
    right = np.flatnonzero(lengths == _CODE_LENGTH)
    if not len(right):
        return ok
    picked = codes if len(right) == n else [codes[i] for i in right.tolist()]
    # a character outside ASCII becomes one "?", outside the alphabet like any other
    raw = "".join(picked).encode("ascii", errors="replace")
    values = _CODE_VALUE[np.frombuffer(raw, np.uint8).reshape(-1, _CODE_LENGTH)]
    check = (31 - (values[:, :-1] @ _CODE_WEIGHTS) % 31) % 31
    ok[right] = (values >= 0).all(axis=1) & (check == values[:, -1])
    return ok


def _is_resident_id(value: str) -> bool:
    body, check = value[:17], value[17].upper()
    if not body.isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(body, _ID_CARD_WEIGHTS, strict=True))
    return _ID_CARD_CHECK[total % 11] == check


def contains_raw_identifier(value: str) -> bool:
    """Whether ``value`` holds a unified social credit code or a resident ID number."""
    words = _ID_LIKE.findall(value)
    if not words:
        return False
    codes = [uscc.normalize(w) for w in words]
    return bool(valid_credit_codes(codes).any()) or any(_is_resident_id(w) for w in words)
