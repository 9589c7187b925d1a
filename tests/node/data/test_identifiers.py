"""Raw identifiers in free text, and many credit codes checked at once."""

from __future__ import annotations

import random

from node.data import uscc
from node.data.identifiers import contains_raw_identifier, valid_credit_codes


def _codes(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [uscc.generate(rng) for _ in range(n)]


def test_many_codes_are_checked_as_one_code_at_a_time_would_be() -> None:
    # prepare: valid codes, each with one character changed, and wrong shapes
    rng = random.Random(5)
    valid = _codes(300, 1)
    changed = []
    for code in valid:
        i = rng.randrange(18)
        changed.append(code[:i] + rng.choice(uscc.ALPHABET + "IOZSV?a") + code[i + 1 :])
    odd = ["", "91110105", valid[0] + "0", valid[1][:17] + "é", valid[2].lower(), "９" * 18]
    codes = valid + changed + odd

    # execute
    checked = valid_credit_codes(codes)

    # assert
    assert checked.tolist() == [uscc.is_valid(c) for c in codes]
    assert checked[:300].all() and not checked[-len(odd) :].any()
    assert valid_credit_codes([]).tolist() == []
    few = [valid[0], changed[0], odd[1]]  # a lone decision's few codes, one by one
    assert valid_credit_codes(few).tolist() == [uscc.is_valid(c) for c in few]


def test_a_code_among_many_words_is_found() -> None:
    code = _codes(1, 2)[0]
    words = " ".join(f"{'A' * 17}{k}" for k in range(9))  # 18-character words, none a code
    assert not contains_raw_identifier(words)
    assert contains_raw_identifier(f"{words} {code}")
    assert contains_raw_identifier(f"ref {code.lower()}")
