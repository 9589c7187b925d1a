"""Per-row crypto: X25519 commutes on u-coordinates, small-order points are handled."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from node.psi import workers
from node.psi.hashing import hash_to_u
from node.psi.workers import (
    ZERO_POINT,
    InlineExecutor,
    blind_codes,
    reblind_points,
    validate_chunk,
)

from .harness import make_codes

# u = 0 and u = 1 have small order on Curve25519: X25519 of them is all zero for any scalar.
SMALL_ORDER = [bytes(32), (1).to_bytes(32, "little")]


def test_x25519_ladder_commutes_on_hashed_points() -> None:
    # prepare
    a, b, salt = os.urandom(32), os.urandom(32), os.urandom(32)
    codes = make_codes(40, seed=1)
    # execute
    ab = reblind_points(b, blind_codes(salt, a, codes))
    ba = reblind_points(a, blind_codes(salt, b, codes))
    # assert
    assert ab == ba
    assert blind_codes(salt, a, codes) != blind_codes(salt, b, codes)


def test_blind_codes_is_the_ladder_on_the_salted_hash() -> None:
    # prepare
    scalar, salt, code = os.urandom(32), os.urandom(32), make_codes(1, seed=2)[0]
    key = X25519PrivateKey.from_private_bytes(scalar)
    # execute
    out = blind_codes(salt, scalar, [code])
    # assert
    assert out == key.exchange(X25519PublicKey.from_public_bytes(hash_to_u(salt, code)))


def test_reblind_marks_small_order_points_instead_of_raising() -> None:
    # prepare
    good = blind_codes(os.urandom(32), os.urandom(32), ["91110105MA01ABCD1X"])
    # execute
    out = reblind_points(os.urandom(32), SMALL_ORDER[0] + good + SMALL_ORDER[1])
    # assert
    assert out[:32] == ZERO_POINT and out[64:] == ZERO_POINT
    assert out[32:64] != ZERO_POINT


def test_reblind_refuses_a_partial_point() -> None:
    # execute / assert
    with pytest.raises(ValueError):
        reblind_points(os.urandom(32), bytes(33))


def test_small_order_hash_moves_on_to_the_next_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    # prepare: the first candidate of every code is a small-order point
    real = workers.hash_to_u
    monkeypatch.setattr(
        workers, "hash_to_u", lambda s, c, n=0: SMALL_ORDER[0] if n == 0 else real(s, c, n)
    )
    scalar, salt = os.urandom(32), os.urandom(32)
    key = X25519PrivateKey.from_private_bytes(scalar)
    # execute
    out = blind_codes(salt, scalar, ["91110105MA01ABCD1X"])
    # assert
    pub = X25519PublicKey.from_public_bytes(real(salt, "91110105MA01ABCD1X", 1))
    assert out == key.exchange(pub)


def test_no_usable_candidate_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    # prepare
    monkeypatch.setattr(workers, "hash_to_u", lambda s, c, n=0: SMALL_ORDER[n % 2])
    # execute / assert
    with pytest.raises(ValueError, match="no usable point"):
        blind_codes(os.urandom(32), os.urandom(32), ["91110105MA01ABCD1X"])


def test_validate_chunk_normalises_and_reports_offsets() -> None:
    # prepare
    code = make_codes(1, seed=5)[0]
    wrong_check = code[:-1] + ("1" if code[-1] != "1" else "2")
    # execute
    valid, invalid = validate_chunk([f" {code.lower()}", "x", None, wrong_check])
    # assert
    assert valid.tolist() == [code.encode()]
    assert invalid.tolist() == [1, 2, 3]


def test_validate_chunk_reads_pyarrow_and_refuses_nul_in_text_ids() -> None:
    # prepare
    chunk = pa.array([" a ", None, "b\0", "c"])
    # execute
    valid, invalid = validate_chunk(chunk, "text")
    # assert
    assert valid.tolist() == [b"a", b"c"]
    assert invalid.tolist() == [1, 2]


def test_blinding_bytes_codes_equals_blinding_str_codes() -> None:
    # prepare
    scalar, salt = os.urandom(32), os.urandom(32)
    codes = make_codes(20, seed=6)
    as_array = np.array([c.encode() for c in codes], dtype="S18")
    # execute / assert
    assert blind_codes(salt, scalar, as_array) == blind_codes(salt, scalar, codes)


def test_inline_executor_hands_back_exceptions() -> None:
    # execute
    future = InlineExecutor().submit(int, "not a number")
    # assert
    with pytest.raises(ValueError):
        future.result()
