"""Shared protocol steps: spotting bad points, failure notices, status codes."""

from __future__ import annotations

import os

import pytest

from node.psi import (
    DuplicateIdsError,
    EmptySetError,
    MalformedMessage,
    PsiAborted,
    UnknownDatasetError,
)
from node.psi.protocol import check_abort, status_for, to_points
from node.psi.wire import Status, encode_hello, encode_points, encode_start


def test_points_with_a_small_order_slot_are_refused() -> None:
    # prepare
    good = os.urandom(64)
    # execute
    points = to_points(good, "gov", "psi/b")
    # assert
    assert points.tobytes() == good
    with pytest.raises(MalformedMessage, match="small order"):
        to_points(good + bytes(32), "gov", "psi/b")


def test_failure_notices_name_the_culprit() -> None:
    # prepare
    from_leader = encode_start(Status.EMPTY, 0, bytes(32), "third")
    from_follower = encode_hello(Status.DUPLICATE_IDS, 0)
    # execute / assert
    with pytest.raises(PsiAborted) as info:
        check_abort(from_leader, "bank", "psi/leader")
    assert info.value.party == "third" and "no valid id" in info.value.reason
    with pytest.raises(PsiAborted) as info:
        check_abort(from_follower, "gov", "psi/b")
    assert info.value.party == "gov"


def test_ordinary_messages_pass_the_abort_check() -> None:
    # execute / assert: a batch whose third byte happens to be non-zero is not a notice
    check_abort(encode_points(7 << 24, 8 << 24, bytes(32)), "bank", "psi/leader")
    check_abort(encode_start(Status.OK, 5, bytes(32)), "bank", "psi/leader")


def test_status_codes_stand_in_for_the_errors() -> None:
    # execute / assert
    assert status_for(EmptySetError("gov")) == Status.EMPTY
    assert status_for(DuplicateIdsError([1])) == Status.DUPLICATE_IDS
    assert status_for(UnknownDatasetError("tax")) == Status.UNKNOWN_DATASET
    assert status_for(RuntimeError("x")) == Status.FAILED
