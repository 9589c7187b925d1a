"""Identity fields look and validate like the real thing (checked by reference code here)."""

from __future__ import annotations

from datetime import date

import numpy as np

from node.data import uscc
from node.data.synthetic import identity


def _luhn_ok(number: str) -> bool:
    """Reference Luhn check, written independently of the generator."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def _resident_id_ok(number: str) -> bool:
    """Reference GB 11643-1999 check: sum of digit * (2^(17-i) mod 11) and the 1-0-X table."""
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    total = sum(int(c) * w for c, w in zip(number[:17], weights, strict=True))
    return "10X98765432"[total % 11] == number[17]


def test_uscc_codes_are_valid_and_distinct() -> None:
    codes = identity.uscc_codes(np.random.default_rng(1), 2_000)
    assert len(set(codes)) == 2_000
    assert all(uscc.is_valid(c) for c in codes)


def test_resident_ids_have_valid_check_and_birth_date() -> None:
    # prepare
    rng = np.random.default_rng(2)
    division = np.array(["110105", "440305", "310115"] * 100, dtype=object)
    birth = [date(1970 + i % 30, 1 + i % 12, 1 + i % 28) for i in range(300)]

    # execute
    ids = identity.resident_ids(rng, division, birth)

    # assert
    assert all(len(x) == 18 and _resident_id_ok(x) for x in ids)
    assert [x[:6] for x in ids] == list(division)
    assert [x[6:14] for x in ids] == [b.strftime("%Y%m%d") for b in birth]
    assert identity.id_check_character(ids[0][:17]) == ids[0][17]


def test_account_numbers_pass_luhn() -> None:
    numbers = identity.account_numbers(np.random.default_rng(3), 500)
    assert all(len(n) == 19 and n.startswith("6222") and _luhn_ok(n) for n in numbers)
    # and a corrupted one fails the reference check, so the check above can fail
    bad = numbers[0][:-1] + str((int(numbers[0][-1]) + 1) % 10)
    assert not _luhn_ok(bad)


def test_mobile_numbers_and_names() -> None:
    rng = np.random.default_rng(4)
    phones = identity.mobile_numbers(rng, 200)
    names = identity.person_names(rng, 200)
    assert all(len(p) == 11 and p.isdigit() and p[0] == "1" for p in phones)
    assert all(2 <= len(n) <= 3 and all("\u4e00" <= c <= "\u9fff" for c in n) for n in names)
