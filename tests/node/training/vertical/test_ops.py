"""Tests that the vertical cell arithmetic refuses cells that are not its own."""

from __future__ import annotations

import numpy as np
import pytest

from node.crypto.paillier import KeyMismatch, PrivateKey, generate_keypair
from node.training.vertical.ops import Decryptor, PaillierOps, PlainOps


@pytest.fixture(scope="module")
def keys() -> tuple[PrivateKey, PrivateKey]:
    """Two real 768-bit keys, as the protocol tests use: the refusal depends on key identity,
    not size."""
    return generate_keypair(768)[1], generate_keypair(768)[1]


def test_cells_of_another_key_are_refused_by_every_operation(
    keys: tuple[PrivateKey, PrivateKey],
) -> None:
    # prepare: the arbiter's ops, and cells a confused (or hostile) party made under its own key
    arbiter, stranger = keys
    ops = PaillierOps(arbiter.public_key)
    mine = ops.encrypt([1, 2, 3], None)
    theirs = PaillierOps(stranger.public_key).encrypt([1, 2, 3], None)
    scalars = np.ones((3, 2), dtype=np.int64)
    # execute / assert
    for operation in (
        lambda: ops.add(mine, theirs),
        lambda: ops.add(theirs, mine),
        lambda: ops.inner(theirs, scalars, None),
        lambda: ops.affine(theirs, [1, 1, 1], [0, 0, 0], False, None),
        lambda: ops.mask(theirs, [0, 0, 0]),
        lambda: ops.join([mine, theirs]),
        lambda: ops.dump(theirs),
        lambda: Decryptor(arbiter).open(theirs, None),
    ):
        with pytest.raises(KeyMismatch):
            operation()
    assert Decryptor(arbiter).open(ops.add(mine, mine), None) == [2, 4, 6]


def test_twin_residues_and_ciphertexts_do_not_mix(keys: tuple[PrivateKey, PrivateKey]) -> None:
    # prepare
    arbiter, _ = keys
    paillier, twin = PaillierOps(arbiter.public_key), PlainOps(768)
    ciphertexts, residues = paillier.encrypt([5], None), twin.encrypt([5], None)
    # execute / assert: a plaintext can never pass for a ciphertext, nor the reverse
    with pytest.raises(TypeError, match="plaintext twin"):
        paillier.add(ciphertexts, residues)
    with pytest.raises(TypeError):
        twin.add(residues, ciphertexts)
    with pytest.raises(TypeError):
        Decryptor(arbiter).open(residues, None)
    with pytest.raises(TypeError):
        Decryptor(None).open(ciphertexts, None)
