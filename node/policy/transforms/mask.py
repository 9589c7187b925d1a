"""Character masks with the usual Chinese conventions, vectorized with pyarrow compute.

Presets (keep-first, keep-last, format check):

=============  ====  ====  ==============================================================
style          head  tail  value checked as
=============  ====  ====  ==============================================================
resident_id    3     4     18-character resident id (GB 11643, check digit verified) or
                           the old 15-digit form: ``110***********123X``
mobile         3     4     11-digit mainland mobile number: ``138****5678``
bank_card      6     4     12 to 19 digits (the issuer BIN stays): ``622202*********1234``
person_name    1     0     any non-empty name: the surname stays, ``张**``
uscc           8     0     unified social credit code (check character verified)
=============  ====  ====  ==============================================================

Two guarantees hold whatever the parameters: a non-empty value always has at least one
character hidden (a value not longer than head + tail is hidden entirely), and a value that
fails its style's format check is hidden entirely, because keep-first/keep-last of a malformed
value would not reveal the parts the convention means to reveal.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from node.policy.transforms.base import (
    Transform,
    TransformContext,
    from_arrow_str,
    to_arrow_str,
)
from node.validation import Invalid, OneOf

# style -> (keep_first, keep_last, regex of a well-formed value or None)
STYLES: Final[dict[str, tuple[int, int, str | None]]] = {
    "resident_id": (3, 4, r"^(\d{17}[\dX]|\d{15})$"),
    "mobile": (3, 4, r"^1[3-9]\d{9}$"),
    "bank_card": (6, 4, r"^\d{12,19}$"),
    "person_name": (1, 0, None),
    "uscc": (8, 0, r"^[0-9A-HJ-NPQRTUWXY]{18}$"),
    "custom": (0, 0, None),
}

_ID_WEIGHTS: Final = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_ID_CHECK: Final = np.frombuffer(b"10X98765432", dtype=np.uint8)
_USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE: Final = np.zeros(256, dtype=np.int64)
for _i, _c in enumerate(_USCC_ALPHABET):
    _USCC_VALUE[ord(_c)] = _i
_USCC_WEIGHTS: Final = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
_USCC_BYTES: Final = np.frombuffer(_USCC_ALPHABET.encode(), dtype=np.uint8)


def _fixed_width_bytes(arr: pa.Array, width: int) -> np.ndarray:
    """Rows of an all-ASCII, all-``width`` string array as an (n, width) uint8 matrix."""
    arr = arr.cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].reshape(-1, width)


def _check_digits_ok(arr: pa.Array, candidates: np.ndarray, style: str) -> np.ndarray:
    """For rows already matching the 18-character pattern, whether the check character fits."""
    ok = np.zeros(len(arr), dtype=bool)
    idx = np.flatnonzero(candidates)
    if style == "resident_id":
        lengths = pc.utf8_length(arr).to_numpy(zero_copy_only=False)
        idx = idx[lengths[idx] == 18]
        ok[np.flatnonzero(candidates)] = True  # 15-digit ids carry no check digit
    if idx.size == 0:
        return ok
    rows = _fixed_width_bytes(pc.take(arr, pa.array(idx)), 18)
    if style == "resident_id":
        total = ((rows[:, :17].astype(np.int64) - 48) * _ID_WEIGHTS).sum(axis=1)
        ok[idx] = _ID_CHECK[total % 11] == rows[:, 17]
    else:
        total = (_USCC_VALUE[rows[:, :17]] * _USCC_WEIGHTS).sum(axis=1)
        ok[idx] = _USCC_BYTES[(31 - total % 31) % 31] == rows[:, 17]
    return ok


class Mask(Transform):
    """Replace the middle of a value by a mask character, keeping a head and a tail.

    Parameters are ``style`` (a preset above), and ``keep_first``/``keep_last`` to override
    the preset (required for ``custom``); ``char`` is the mask character.
    """

    type: Literal["mask"] = "mask"
    style: Annotated[str, OneOf(tuple(STYLES))] = Field(
        "custom", description="A preset (see docs/policies.md); `custom` sets its own head/tail."
    )
    keep_first: int | None = Field(
        None, ge=0, le=32, description="Characters kept at the start (overrides the preset)."
    )
    keep_last: int | None = Field(
        None, ge=0, le=32, description="Characters kept at the end (overrides the preset)."
    )
    char: str = Field("*", min_length=1, max_length=1, description="The mask character.")

    @model_validator(mode="after")
    def _custom_says_how(self) -> Mask:
        if self.style == "custom" and self.keep_first is None and self.keep_last is None:
            raise Invalid(
                "a custom mask needs keep_first and/or keep_last",
                "e.g. keep_first: 2",
                key="keep_first",
            )
        return self

    @property
    def head_tail(self) -> tuple[int, int]:
        """The effective (keep_first, keep_last)."""
        head, tail, _ = STYLES[self.style]
        return (
            head if self.keep_first is None else self.keep_first,
            tail if self.keep_last is None else self.keep_last,
        )

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Mask every value; see the module docstring for the guarantees."""
        arr = to_arrow_str(column)
        head, tail = self.head_tail
        pattern = STYLES[self.style][2]
        length = pc.utf8_length(arr)
        normal = pc.greater(length, head + tail)
        if pattern is not None:
            upper = pc.utf8_upper(arr) if self.style in ("resident_id", "uscc") else arr
            matches = pc.fill_null(pc.match_substring_regex(upper, pattern), False)
            if self.style in ("resident_id", "uscc"):
                good = _check_digits_ok(upper, matches.to_numpy(zero_copy_only=False), self.style)
                matches = pa.array(good)
            normal = pc.and_(normal, matches)
        normal = pc.fill_null(normal, False)
        hidden = pc.if_else(normal, pc.subtract(length, head + tail), length)
        stars = pc.binary_repeat(pa.scalar(self.char, pa.large_string()), hidden)
        empty = pa.scalar("", pa.large_string())
        first = pc.if_else(normal, pc.utf8_slice_codeunits(arr, 0, head), empty)
        last = pc.if_else(normal, pc.utf8_slice_codeunits(arr, -tail), empty) if tail else empty
        out = pc.binary_join_element_wise(first, stars, last, empty)
        return from_arrow_str(out, column)
