"""Tests of release filters: the accepted subset evaluates like pandas; the rest is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from node.policy.exceptions import ReleaseQueryError
from node.policy.query import evaluate, parse_filter

FRAME = pd.DataFrame(
    {
        "a": [1, 5, 10, None],
        "s": ["x", "y", "z", None],
    }
)


@pytest.mark.parametrize(
    "text",
    [
        "a >= 5",
        "a < 5 or s == 'z'",
        "not (a > 1) and s != 'q'",
        "s in ['x', 'z']",
        "s not in ('x',)",
        "a == -1",
        "a != 5",
    ],
)
def test_matches_pandas_query(text: str) -> None:
    # prepare
    tree, _ = parse_filter(text)
    # execute
    ours = evaluate(tree, FRAME)
    # assert: pandas is the reference (on non-null rows: we never match a null)
    expected = FRAME.index.isin(FRAME.query(text).index)
    assert np.array_equal(ours[:3], expected[:3])
    assert not ours[3] or text.startswith("not") or "!=" in text


def test_empty_filter_selects_everything_and_names_no_field() -> None:
    tree, fields = parse_filter("  ")
    assert tree is None and fields == ()
    assert evaluate(tree, FRAME).all()


def test_fields_are_reported() -> None:
    assert parse_filter("a > 1 and (s == 'x' or a < 0)")[1] == ("a", "s")


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "a.max() > 1",
        "@secret == 1",
        "a + 1 > 2",
        "1 < a",
        "1 < a < 5",
        "a in 5",
        "a == [1]",
        "a is None",
        "a >",
        "a > 1" + " and a > 1" * 300,
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ReleaseQueryError):
        parse_filter(text)


def test_comparing_text_with_a_number_is_refused() -> None:
    tree, _ = parse_filter("s > 3")
    with pytest.raises(ReleaseQueryError, match="cannot be compared"):
        evaluate(tree, FRAME)
