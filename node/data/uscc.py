"""Unified social credit codes (GB 32100-2015): normalisation, check characters, generation.

An 18-character code is: registration authority (1), organisation type (1), administrative
division (6 digits), organisation code (9 characters, GB 11714, ending in its own check
character) and a final check character over the first 17. The alphabet is the 31 characters
``0-9`` and upper-case letters without I, O, Z, S, V, so that codes survive being read aloud.
"""

from __future__ import annotations

import random
from typing import Final

ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE: Final = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))
# GB 11714 organisation-code check: weights over the first 8 characters, modulus 11.
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# A few real administrative division codes (province capitals) so generated codes look right.
DIVISIONS: Final = (
    "110105", "310115", "440305", "330106", "320102", "510107", "420106", "370102",
    "500103", "610113", "350203", "430104",
)  # fmt: skip


def normalize(code: str) -> str:
    """Return ``code`` stripped of surrounding white space and upper-cased.

    Codes arrive typed by hand, with stray spaces or lower case; every party normalises the
    same way before hashing (PSI) or comparing, otherwise equal firms would not match.
    """
    return code.strip().upper()


def check_character(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a code.

    Raises
    ------
    ValueError
        ``first17`` is not 17 characters of the code alphabet.
    """
    if len(first17) != 17 or any(c not in _VALUE for c in first17):
        raise ValueError("expected 17 characters from the unified social credit code alphabet")
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """Whether ``code`` (already normalised) is 18 alphabet characters with a correct check."""
    if len(code) != 18 or any(c not in _VALUE for c in code):
        return False
    return check_character(code[:17]) == code[17]


def _org_check(first8: str) -> str:
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


def generate(rng: random.Random) -> str:
    """Draw a valid code: enterprise registration (``91``), a real division, a valid org code."""
    division = rng.choice(DIVISIONS)
    org8 = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    first17 = "91" + division + org8 + _org_check(org8)
    return first17 + check_character(first17)
