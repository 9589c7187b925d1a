"""Firm tokens: keyed, stable, normalized, unlinkable across keys."""

from __future__ import annotations

import random

import pytest

from node.audit.tokens import FirmTokenizer, all_tokens, is_token
from node.data import uscc


def test_token_is_stable_normalized_and_keyed() -> None:
    # prepare
    code = uscc.generate(random.Random(3))
    a, b = FirmTokenizer(b"a" * 32), FirmTokenizer(b"b" * 32)

    # execute
    t = a.token(code)

    # assert
    assert is_token(t)
    assert a.token(f"  {code.lower()} ") == t
    assert b.token(code) != t
    assert code not in t
    assert "redacted" in repr(a)


def test_short_key_is_refused() -> None:
    with pytest.raises(ValueError):
        FirmTokenizer(b"short")


def test_empty_identifier_is_refused() -> None:
    with pytest.raises(ValueError):
        FirmTokenizer(b"k" * 32).token("   ")


def test_many_subjects_are_checked_in_one_pass() -> None:
    # prepare
    tokenizer = FirmTokenizer(b"k" * 32)
    tokens = [tokenizer.token(uscc.generate(random.Random(k))) for k in range(50)]

    # assert: every one a token, and nothing else passes
    assert all_tokens(tokens) and all_tokens(())
    assert not all_tokens([*tokens, "ft:" + "0" * 31])
    assert not all_tokens([*tokens, tokens[0].upper()])
    assert not all_tokens([f"{tokens[0]}\n{tokens[1]}"])  # two tokens in one subject
    assert not all_tokens([tokens[0] + "\n"])
    assert not all_tokens([*tokens, 7])  # type: ignore[list-item]
