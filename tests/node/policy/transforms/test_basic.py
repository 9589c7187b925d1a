"""Tests of keep, drop, keyed hash and per-recipient token."""

from __future__ import annotations

import hmac
import os

import pandas as pd

from node.policy.transforms import TransformContext, parse_transform
from node.policy.transforms.basic import derive_key, hex_strings, hmac_sha256_many

VALUES = pd.Series(["91110105MA01ABCD1X", "张三", "", None, "91110105MA01ABCD1X"], dtype="str")


def _ctx(key: bytes, recipient: str = "bank-a") -> TransformContext:
    return TransformContext(key, recipient, pd.DataFrame({"v": VALUES}), field="v")


def test_keep_returns_the_column_and_drop_returns_none() -> None:
    ctx = _ctx(os.urandom(32))
    assert parse_transform("keep", {}).apply(VALUES, ctx) is VALUES
    assert parse_transform("drop", {}).apply(VALUES, ctx) is None


def test_hash_is_hmac_sha256_under_the_derived_key() -> None:
    # prepare
    key = os.urandom(32)
    expected = hmac.digest(derive_key(key, b"fedcredit/policy/hash/v1"), "张三".encode(), "sha256")
    # execute
    out = parse_transform("hash", {}).apply(VALUES, _ctx(key))
    # assert: reference computed independently, nulls stay null, equal inputs hash equal
    assert out[1] == expected.hex()
    assert pd.isna(out[3])
    assert out[0] == out[4] and out[0] != out[2]
    assert len(out[2]) == 64  # the empty string is a value, hashed like any other


def test_hash_is_the_same_for_every_recipient_but_differs_across_nodes() -> None:
    key = os.urandom(32)
    t = parse_transform("hash", {"length": 16})
    a = t.apply(VALUES, _ctx(key, "bank-a"))
    b = t.apply(VALUES, _ctx(key, "bank-b"))
    other_node = t.apply(VALUES, _ctx(os.urandom(32), "bank-a"))
    assert a.equals(b)
    assert not a.dropna().equals(other_node.dropna())
    assert a.dropna().str.len().eq(16).all()


def test_tokens_are_stable_for_one_recipient_and_differ_across_recipients() -> None:
    # prepare
    key = os.urandom(32)
    t = parse_transform("token", {})
    # execute
    first = t.apply(VALUES, _ctx(key, "bank-a"))
    again = t.apply(VALUES, _ctx(key, "bank-a"))
    other = t.apply(VALUES, _ctx(key, "bank-b"))
    # assert
    assert first.equals(again)
    present = first.notna()
    assert (first[present] != other[present]).all()
    assert first[0] == first[4]
    assert first[present].str.startswith("tk_").all()
    assert pd.isna(first[3]) and pd.isna(other[3])


def test_hash_of_an_empty_column() -> None:
    empty = pd.Series([], dtype="str")
    out = parse_transform("hash", {}).apply(empty, _ctx(os.urandom(32)))
    assert out is not None and len(out) == 0


def test_fast_hmac_matches_the_standard_library_for_every_key_size() -> None:
    # prepare: keys shorter than, equal to and longer than the SHA-256 block
    messages = [b"", b"a", "张三".encode(), os.urandom(200)]
    for key in (os.urandom(16), os.urandom(64), os.urandom(100)):
        # execute
        ours = hmac_sha256_many(key, messages)
        # assert
        assert [bytes(row) for row in ours] == [hmac.digest(key, m, "sha256") for m in messages]


def test_odd_hash_length_and_prefix() -> None:
    digests = hmac_sha256_many(b"k" * 32, [b"x"])
    text = hex_strings(digests, 17, "p_").to_pylist()[0]
    assert text == "p_" + hmac.digest(b"k" * 32, b"x", "sha256").hex()[:17]
