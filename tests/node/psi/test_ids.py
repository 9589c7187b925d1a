"""Preparing a dataset's id column: invalid rows by position, strictness, duplicates."""

from __future__ import annotations

import pytest

from node.psi import DuplicateIdsError, InvalidIdsError
from node.psi.ids import prepare_ids
from node.psi.workers import InlineExecutor

from .harness import make_codes


def test_invalid_rows_are_left_out_and_reported_by_position() -> None:
    # prepare
    codes = make_codes(5, seed=1)
    ids = [codes[0], "bad", codes[1].lower(), None, codes[2]]
    # execute
    prepared = prepare_ids(ids, InlineExecutor(), strict=False)
    # assert
    assert prepared.codes.tolist() == [c.encode() for c in (codes[0], codes[1], codes[2])]
    assert list(prepared.rows) == [0, 2, 4]
    assert prepared.invalid == (1, 3)
    assert prepared.total == 5


def test_strict_refuses_invalid_ids_without_naming_them() -> None:
    # prepare
    ids = [*make_codes(3, seed=2), "91SECRETVALUE00000"]
    # execute / assert
    with pytest.raises(InvalidIdsError) as info:
        prepare_ids(ids, InlineExecutor(), strict=True)
    assert info.value.positions == (3,)
    assert "SECRETVALUE" not in str(info.value)


def test_duplicates_after_normalising_are_refused_by_position() -> None:
    # prepare
    codes = make_codes(3, seed=3)
    ids = [codes[0], codes[1], f" {codes[0].lower()}", codes[2], codes[1]]
    # execute / assert
    with pytest.raises(DuplicateIdsError) as info:
        prepare_ids(ids, InlineExecutor(), strict=False)
    assert info.value.positions == (2, 4)
    assert codes[0] not in str(info.value)


def test_text_ids_are_stripped_and_only_empty_ones_are_invalid() -> None:
    # prepare
    ids = [" 25115", "2346 ", "", None, "abc"]
    # execute
    prepared = prepare_ids(ids, InlineExecutor(), strict=False, id_format="text")
    # assert
    assert prepared.codes.tolist() == [b"25115", b"2346", b"abc"]
    assert prepared.invalid == (2, 3)
