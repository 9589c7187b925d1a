"""What counts as a raw enterprise or personal identifier in free text.

One definition for every place that must keep such identifiers out: access-log entries, error
messages that cross a trust boundary, and identifiers that become file names or log fields.
"""

from __future__ import annotations

import re
from typing import Final

from node.data import uscc

# An 18-character alphanumeric word: the length of both a unified social credit code and a
# resident ID number. Candidates are then checked by their check characters, so ordinary
# 18-character words (hashes, tokens) are not mistaken for identifiers.
_ID_LIKE: Final = re.compile(r"(?<![0-9A-Za-z])[0-9A-Za-z]{18}(?![0-9A-Za-z])")
_ID_CARD_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CARD_CHECK: Final = "10X98765432"


def _is_resident_id(value: str) -> bool:
    body, check = value[:17], value[17].upper()
    if not body.isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(body, _ID_CARD_WEIGHTS, strict=True))
    return _ID_CARD_CHECK[total % 11] == check


def contains_raw_identifier(value: str) -> bool:
    """Whether ``value`` holds a unified social credit code or a resident ID number."""
    for match in _ID_LIKE.finditer(value):
        word = match.group(0)
        if uscc.is_valid(uscc.normalize(word)) or _is_resident_id(word):
            return True
    return False
