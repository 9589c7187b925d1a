"""The firm index names the bank's own firms from what it built once, and others afresh."""

from __future__ import annotations

import random

import numpy as np

from node.audit.tokens import FirmTokenizer
from node.data import uscc
from node.scoring.index import FirmIndex
from node.scoring.keys import Pseudonyms


def test_tokens_and_pseudonyms_of_held_and_unknown_firms() -> None:
    # prepare: a table of 20 firms, applicants of whom 2 are not in it
    rng = random.Random(4)
    held = [uscc.generate(rng) for _ in range(20)]
    outsiders = [uscc.generate(rng) for _ in range(2)]
    tokenizer = FirmTokenizer(b"t" * 32)
    index = FirmIndex(held, tokenizer)
    key = b"p" * 32
    applicants = [held[3], outsiders[0], held[17], outsiders[1], held[3]]

    # execute
    rows = index.rows_of_codes(applicants)
    tokens = index.tokens_at(rows, applicants)
    names = index.pseudonyms_at(key, rows, applicants)

    # assert: the same names as computing each afresh, and a holder finds its rows by them
    assert rows.tolist() == [3, -1, 17, -1, 3]
    assert tokens == [tokenizer.token(c) for c in applicants]
    assert names == Pseudonyms(key).many(applicants)
    assert index.rows(key, names).tolist() == [3, -1, 17, -1, 3]
    assert index.pseudonyms_at(key, np.zeros(0, np.int64), []) == []
