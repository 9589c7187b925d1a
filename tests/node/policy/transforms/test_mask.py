"""Tests of the character masks: Chinese conventions, edge cases, invalid values hidden."""

from __future__ import annotations

import os
import random

import numpy as np
import pandas as pd
import pytest

from node.data import uscc
from node.policy.transforms import TransformContext, parse_transform
from node.policy.transforms.mask import Mask


def _resident_id(first17: str) -> str:
    """Reference GB 11643 check digit, written independently of the vectorized one."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c) * w for c, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def _mask(values: list, **params) -> list:
    column = pd.Series(values)
    ctx = TransformContext(os.urandom(32), "bank-a", pd.DataFrame({"v": column}), field="v")
    out = parse_transform("mask", params).apply(column, ctx)
    return [None if pd.isna(v) else v for v in out]


def test_resident_id_keeps_three_and_four() -> None:
    # prepare
    good = _resident_id("11010519900307123")
    # execute / assert
    assert _mask([good], style="resident_id") == [good[:3] + "*" * 11 + good[-4:]]


def test_resident_id_with_x_check_digit_and_lower_case() -> None:
    # prepare: find a body whose check digit is X
    body = next(
        b for b in (f"4403051985123{i:04d}" for i in range(200)) if _resident_id(b).endswith("X")
    )
    code = _resident_id(body)
    # execute
    out = _mask([code, code.lower()], style="resident_id")
    # assert
    assert out[0] == code[:3] + "*" * 11 + code[-4:]
    assert out[1] == code.lower()[:3] + "*" * 11 + code.lower()[-4:]


@pytest.mark.parametrize(
    "bad",
    [
        "110105199003071230",  # wrong check digit (the right one differs)
        "11010519900307123",  # 17 characters
        "1101051990030712345",  # 19 characters
        "11010519900307123A",  # letter other than X
        "１１０１０５１９９０",  # full-width digits
    ],
)
def test_invalid_resident_ids_are_hidden_entirely(bad: str) -> None:
    if len(bad) == 18 and bad[:17].isdigit():
        assert _resident_id(bad[:17]) != bad, "the fixture must really be invalid"
    out = _mask([bad], style="resident_id")[0]
    assert out == "*" * len(bad)


def test_old_fifteen_digit_resident_id_is_masked_by_convention() -> None:
    assert _mask(["110105900307123"], style="resident_id") == ["110********7123"]


def test_mobile_and_bank_card() -> None:
    assert _mask(["13812345678", "12345678901", "+8613812345678"], style="mobile") == [
        "138****5678",
        "*" * 11,
        "*" * 14,
    ]
    assert _mask(["6222021234567890123", "62220"], style="bank_card") == [
        "622202*********0123",
        "*****",
    ]


def test_person_names_including_non_ascii_and_compound_surnames() -> None:
    assert _mask(
        ["张三", "欧阳娜娜", "张", "Zhang Wei", "阿卜杜拉·买买提"], style="person_name"
    ) == [
        "张*",
        "欧***",
        "*",
        "Z********",
        "阿*******",
    ]


def test_uscc_checks_the_code_and_keeps_the_first_eight() -> None:
    # prepare
    good = uscc.generate(random.Random(5))
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    # execute
    out = _mask([good, bad], style="uscc")
    # assert
    assert out[0] == good[:8] + "*" * 10
    assert out[1] == "*" * 18


def test_empty_null_and_short_strings() -> None:
    # a value not longer than head + tail is hidden entirely: at least one character always is
    assert _mask(["", None, "ab", "abcdef"], keep_first=2, keep_last=2) == [
        "",
        None,
        "**",
        "ab**ef",
    ]


def test_custom_mask_character() -> None:
    assert _mask(["13812345678"], style="mobile", char="#") == ["138####5678"]


def test_numeric_column_is_masked_as_text() -> None:
    assert _mask([13812345678, np.nan], style="mobile") == ["138****5678", None]


def test_every_non_empty_value_has_a_hidden_character() -> None:
    # prepare: random strings of every length around the kept head and tail
    rng = random.Random(11)
    values = [
        "".join(rng.choice("ab张3X") for _ in range(n)) for n in range(1, 12) for _ in range(5)
    ]
    # execute
    for style in ("resident_id", "mobile", "bank_card", "person_name", "uscc"):
        out = _mask(values, style=style)
        # assert
        assert all("*" in o for o in out), style
        assert all(o != v for o, v in zip(out, values, strict=True)), style


def test_head_tail_resolves_presets_and_overrides() -> None:
    assert Mask(style="mobile").head_tail == (3, 4)
    assert Mask(style="mobile", keep_last=2).head_tail == (3, 2)
