"""Hash to point: deterministic per job salt, different across salts, preconditions checked."""

from __future__ import annotations

import os

import pytest

from node.psi.hashing import MAX_COUNTER, SALT_BYTES, hash_to_u


def test_same_code_and_salt_give_the_same_point_and_salts_separate_jobs() -> None:
    # prepare
    salt, other = os.urandom(SALT_BYTES), os.urandom(SALT_BYTES)
    # execute
    first, again = hash_to_u(salt, "91110105MA01ABCD1X"), hash_to_u(salt, "91110105MA01ABCD1X")
    # assert
    assert first == again and len(first) == 32
    assert hash_to_u(other, "91110105MA01ABCD1X") != first
    assert hash_to_u(salt, "91110105MA01ABCD1X", 1) != first


@pytest.mark.parametrize(("salt", "counter"), [(b"short", 0), (bytes(32), MAX_COUNTER)])
def test_preconditions_are_checked(salt: bytes, counter: int) -> None:
    # execute / assert
    with pytest.raises(ValueError):
        hash_to_u(salt, "X", counter)
