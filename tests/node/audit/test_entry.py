"""Canonical entry encoding, validation, and refusal of raw identifiers."""

from __future__ import annotations

import json
import random

import pytest

from node.audit.entry import AccessEntry, Action, Actor, decode, encode, encode_at, peek_seq
from node.audit.exceptions import InvalidEntry, RawIdentifierError
from node.audit.tokens import FirmTokenizer
from node.data import uscc

from .conftest import make_entry

T = "2026-11-29T07:00:00.000001Z"


def test_encoding_is_canonical_and_round_trips(tokenizer: FirmTokenizer) -> None:
    # prepare
    entry = make_entry(3, subjects=(tokenizer.token("a"), tokenizer.token("b"))).stamped(5, T)

    # execute
    data = encode(entry)
    back = decode(data)

    # assert
    assert back == entry
    assert encode(back) == data
    assert data == json.dumps(json.loads(data), sort_keys=True, separators=(",", ":")).encode()
    assert json.loads(data)["v"] == 1
    assert encode_at(make_entry(3, subjects=entry.subjects), 5, T) == data


def test_field_order_does_not_change_bytes() -> None:
    # prepare
    a = make_entry(fields=("term", "amount"), details={"b": 1, "a": "x"}).stamped(0, T)
    b = make_entry(fields=("amount", "term"), details={"a": "x", "b": 1}).stamped(0, T)

    # execute / assert
    assert encode(a) == encode(b)


def test_non_ascii_text_is_escaped_so_bytes_are_ascii() -> None:
    # prepare
    entry = make_entry(purpose="信贷审批").stamped(0, T)

    # execute
    data = encode(entry)

    # assert
    assert data.isascii()
    assert decode(data).purpose == "信贷审批"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s.replace(b'"v":1', b'"v":2'),
        lambda s: s.replace(b"{", b"{ ", 1),
        lambda s: s[:-1],
        lambda s: s.replace(b'"rows":', b'"rowz":'),
        lambda s: b"[]",
    ],
)
def test_decode_refuses_non_canonical_bytes(mutate) -> None:  # type: ignore[no-untyped-def]
    # prepare
    data = encode(make_entry().stamped(0, T))

    # execute / assert
    with pytest.raises(InvalidEntry):
        decode(mutate(data))


def test_unstamped_entry_has_no_encoding() -> None:
    with pytest.raises(InvalidEntry):
        encode(make_entry())


def test_raw_uscc_in_any_text_field_is_refused() -> None:
    # prepare
    code = uscc.generate(random.Random(7))
    assert uscc.is_valid(code)

    # execute / assert
    for field in ("purpose", "result", "job_id", "dataset", "policy_version"):
        with pytest.raises(RawIdentifierError) as err:
            make_entry(**{field: f"look up {code.lower()} now"})
        assert code not in str(err.value) and code.lower() not in str(err.value)
    with pytest.raises(RawIdentifierError):
        make_entry(details={"firm": code})
    with pytest.raises(RawIdentifierError):
        make_entry(fields=(code,))


def test_resident_id_number_is_refused() -> None:
    # prepare: a syntactically valid (made up) ID number with its ISO 7064 check digit
    body = "11010519491231002"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]

    # execute / assert
    with pytest.raises(RawIdentifierError):
        make_entry(purpose=f"person {body}{check}")
    make_entry(purpose="an 18 char word abcdefghijklmnopqr is fine")


def test_subjects_must_be_tokens() -> None:
    with pytest.raises(InvalidEntry):
        make_entry(subjects=(uscc.generate(random.Random(1)),))


@pytest.mark.parametrize(
    "overrides",
    [
        {"rows": -1},
        {"rows": 1.5},
        {"details": {"auc": 0.71}},
        {"action": "delete_everything"},
        {"purpose": 5},
        {"actor": "bank-a"},
    ],
)
def test_invalid_fields_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidEntry):
        make_entry(**overrides)


def test_bad_time_is_refused() -> None:
    with pytest.raises(InvalidEntry):
        make_entry().stamped(0, "2026-11-29 07:00")


def test_peek_seq_reads_position_without_full_decode() -> None:
    # prepare
    data = encode(make_entry().stamped(41, T))

    # execute / assert
    assert peek_seq(data) == 41
    assert peek_seq(b"not json") is None


def test_action_accepts_its_string_value() -> None:
    entry = AccessEntry(Actor("o", "n", "r"), "psi_run", "alignment", "ok")  # type: ignore[arg-type]
    assert entry.action is Action.PSI_RUN
