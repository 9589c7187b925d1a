"""Inverse scalars: removing the leader's blinding lands exactly on the follower's blinding."""

from __future__ import annotations

import os

import pytest

from node.psi import scalars
from node.psi.scalars import (
    ORDER_CURVE,
    ORDER_TWIST,
    clamp,
    clamped_inverse,
    invertible_scalar,
    on_twist,
)
from node.psi.workers import ZERO_POINT, blind_codes, reblind_points, unblind_points

from .harness import make_codes


def test_inverses_are_clamped_scalars_that_invert_modulo_each_order() -> None:
    # execute
    scalar, on_curve, on_tw = invertible_scalar()
    # assert: X25519 uses them unchanged, and they invert the clamped scalar
    for inverse, order in ((on_curve, ORDER_CURVE), (on_tw, ORDER_TWIST)):
        assert clamp(inverse) == int.from_bytes(inverse, "little")
        assert clamp(scalar) * int.from_bytes(inverse, "little") % order == 1


def test_unblinding_a_doubly_blinded_set_gives_the_other_partys_blinding() -> None:
    # prepare: 200 codes land about half on the curve and half on the twist
    alpha, *undo = invertible_scalar()
    beta, salt = os.urandom(32), os.urandom(32)
    codes = make_codes(200, seed=8)
    # execute
    stripped = unblind_points(*undo, reblind_points(beta, blind_codes(salt, alpha, codes)))
    # assert
    expected = blind_codes(salt, beta, codes)
    assert stripped == expected
    twists = sum(on_twist(expected[i : i + 32]) for i in range(0, len(expected), 32))
    assert 40 < twists < 160


def test_unblind_marks_small_order_points() -> None:
    # prepare
    _, *undo = invertible_scalar()
    # execute
    out = unblind_points(*undo, bytes(32))
    # assert
    assert out == ZERO_POINT


def reference_inverse(scalar: bytes, order: int) -> bytes | None:
    """Slow, obviously correct: try every representative of the inverse below 2^255."""
    inverse = pow(clamp(scalar), -1, order)
    for candidate in range(inverse, 1 << 255, order):
        if candidate >= 1 << 254 and candidate % 8 == 0:
            return candidate.to_bytes(32, "little")
    return None


@pytest.mark.parametrize("order", [ORDER_CURVE, ORDER_TWIST])
def test_clamped_inverse_agrees_with_the_reference(order: int) -> None:
    # prepare
    draws = [os.urandom(32) for _ in range(64)]
    # execute
    got = [clamped_inverse(s, order) for s in draws]
    # assert: same answers, and both outcomes (found / none) occur
    assert got == [reference_inverse(s, order) for s in draws]
    assert None in got and any(g is not None for g in got)


def test_a_random_source_that_never_fits_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    # prepare
    monkeypatch.setattr(scalars, "clamped_inverse", lambda scalar, order: None)
    # execute / assert
    with pytest.raises(RuntimeError, match="random source"):
        invertible_scalar()
