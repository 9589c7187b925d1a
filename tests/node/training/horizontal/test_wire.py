"""Tests for message formats: every malformed payload is refused with a named error."""

from __future__ import annotations

import numpy as np
import pytest

from node.crypto.paillier import KeyMismatch, generate_keypair, public_key_to_bytes
from node.training.horizontal.exceptions import (
    InvalidContribution,
    KeySetupError,
    MalformedMessage,
)
from node.training.horizontal.keys import new_scheme, scheme_for_aggregator, scheme_for_bank
from node.training.horizontal.messages import (
    key_message,
    metrics_message,
    parse_key_message,
    parse_metrics,
    parse_public_key_message,
    parse_resume,
    parse_start,
    public_key_message,
    resume_message,
    start_message,
)
from node.training.horizontal.paillier_scheme import PaillierScheme
from node.training.horizontal.scheme import PlainScheme
from node.training.horizontal.wire import (
    KIND_METRICS,
    KIND_RESUME,
    frame,
    parse_header,
    recv_vector,
    send_vector,
    unframe,
)
from node.transport.limits import MAX_PAYLOAD_BYTES
from node.transport.memory import MemoryHub

from .conftest import small_spec


def test_control_messages_round_trip() -> None:
    # prepare
    shapes = ((2, 3), (3,))
    vector = np.arange(9, dtype=np.float64)
    # execute
    scheme, secret, shapes_back, initial = parse_key_message(
        key_message("paillier", b"secret", shapes, vector), "a", "t"
    )
    # assert
    assert (scheme, secret, shapes_back) == ("paillier", b"secret", shapes)
    np.testing.assert_array_equal(initial, vector)
    assert parse_public_key_message(public_key_message("none", "f", b"pk", 9), "a", "t") == (
        "none",
        "f",
        b"pk",
        9,
    )
    assert parse_resume(resume_message(3), "a", "t", rounds=5) == 3
    assert parse_start(start_message(2), "a", "t", latest=3) == 2
    assert parse_metrics(metrics_message({"val_auc": 0.7}), "a", "t") == {"val_auc": 0.7}


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"\x01", "shorter"),
        (b"\x02\x03{}", "version 2"),
        (b"\x01\x04{}", "kind 4"),
        (b"\x01\x03" + b"x" * MAX_PAYLOAD_BYTES, "4 MiB"),
    ],
)
def test_unframe_refuses_bad_prefix_and_size(payload: bytes, problem: str) -> None:
    with pytest.raises(MalformedMessage, match=problem) as info:
        unframe(payload, KIND_RESUME, "bank_a", "hfl/resume")
    assert info.value.sender == "bank_a" and info.value.topic == "hfl/resume"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"\xff", "not UTF-8 JSON"),
        (b"[1]", "not a JSON object"),
        (b'{"latest": "3"}', "'latest' missing or mistyped"),
        (b'{"latest": true}', "'latest' missing or mistyped"),
    ],
)
def test_parse_header_refuses_bad_json(body: bytes, problem: str) -> None:
    with pytest.raises(MalformedMessage, match=problem):
        parse_header(frame(KIND_RESUME, body), KIND_RESUME, "b", "t", {"latest": int})


def test_resume_start_and_metrics_are_range_checked() -> None:
    with pytest.raises(MalformedMessage, match=r"within 0\.\.5"):
        parse_resume(resume_message(6), "b", "t", rounds=5)
    with pytest.raises(MalformedMessage, match=r"within 0\.\.1"):
        parse_start(start_message(2), "c", "t", latest=1)
    with pytest.raises(MalformedMessage, match="name: number"):
        parse_metrics(frame(KIND_METRICS, b'{"metrics": {"a": "x"}}'), "b", "t")


def test_key_messages_are_checked() -> None:
    good = key_message("paillier", b"s", ((2,),), np.zeros(2))
    with pytest.raises(MalformedMessage, match="length disagrees"):
        parse_key_message(good[:-1], "k", "hfl/key")
    nan = key_message("paillier", b"s", ((1,),), np.array([np.nan]))
    with pytest.raises(MalformedMessage, match="NaN"):
        parse_key_message(nan, "k", "hfl/key")
    with pytest.raises(MalformedMessage, match="n_params"):
        parse_public_key_message(public_key_message("none", "f", b"", 0), "k", "t")


def test_recv_vector_refuses_too_many_chunks() -> None:
    # prepare
    hub = MemoryHub(timeout=2.0)
    sender, receiver = hub.channel("a"), hub.channel("b")
    send_vector(sender, "b", "v", {"round": 1}, [b"x"])
    # execute
    header, blobs = recv_vector(receiver, "a", "v", deadline=1e18, fields={"round": int})
    # assert
    assert header["round"] == 1 and blobs == [b"x"]
    sender.send("b", "w", frame(9, b""))  # not a vector header
    with pytest.raises(MalformedMessage, match="kind 9"):
        recv_vector(receiver, "a", "w", deadline=1e18, fields={})


def test_plain_scheme_refuses_wrong_count_width_and_range() -> None:
    scheme = PlainScheme(64)
    assert scheme.open(scheme.load(scheme.seal([1, 2]), 2)) == [1, 2]
    with pytest.raises(InvalidContribution, match="expected 3"):
        scheme.load(scheme.seal([1, 2]), 3)
    with pytest.raises(InvalidContribution, match="multiple"):
        scheme.load([b"\x00" * 7], 1)
    with pytest.raises(InvalidContribution, match="larger"):
        scheme.load([b"\xff" * 8], 1)


def test_paillier_scheme_adds_and_refuses_foreign_blobs() -> None:
    # prepare: 1024-bit keys keep this test fast; jobs refuse keys below 2048 bits
    spec = small_spec()
    bank, secret, public = new_scheme(spec)
    other = scheme_for_bank(spec, "paillier", secret)
    aggregator = scheme_for_aggregator(spec, "paillier", public)
    # execute
    total = aggregator.add(
        aggregator.load(bank.seal([5, 7]), 2), aggregator.load(other.seal([1, 2]), 2)
    )
    # assert
    assert other.open(aggregator.load(aggregator.dump(total), 2)) == [6, 9]
    stranger = PaillierScheme.generate(1024)
    with pytest.raises(InvalidContribution, match="another public key"):
        aggregator.load(stranger.seal([1]), 1)
    theirs = stranger.load(stranger.seal([1, 2]), 2)  # parsed by the stranger, under its key
    with pytest.raises(KeyMismatch):
        aggregator.add(total, theirs)
    with pytest.raises(KeyMismatch):
        other.open(theirs)
    with pytest.raises(KeySetupError, match="cannot decrypt"):
        aggregator.open(total)


def test_key_setup_refuses_wrong_scheme_size_and_garbage() -> None:
    spec = small_spec()
    with pytest.raises(KeySetupError, match="scheme"):
        scheme_for_bank(spec, "none", b"")
    with pytest.raises(KeySetupError, match="does not parse"):
        scheme_for_bank(spec, "paillier", b"garbage")
    with pytest.raises(KeySetupError, match="does not parse"):
        scheme_for_aggregator(spec, "paillier", b"garbage")
    public, _ = generate_keypair(n_length=512)  # wrong size on purpose, fast
    with pytest.raises(KeySetupError, match="1024 bits"):
        scheme_for_aggregator(spec, "paillier", public_key_to_bytes(public))
