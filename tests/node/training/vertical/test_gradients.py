"""Tests for packing masked gradients into few ciphertexts for the key holder."""

from __future__ import annotations

import numpy as np
import pytest

from node.crypto.paillier import PrivateKey, generate_keypair
from node.training.vertical.gradients import SLOT_BITS, cipher_count, slots_per_cipher, unpack
from node.training.vertical.ops import Decryptor, PaillierOps, PlainOps


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    """A 768-bit key, as the protocol tests use: the packing arithmetic is size-independent."""
    return generate_keypair(768)[1]


@pytest.mark.parametrize("encrypted", [False, True])
def test_packed_gradients_open_to_the_exact_signed_components(
    key: PrivateKey, encrypted: bool
) -> None:
    # prepare: 23 components at the slot bounds and in between (3 ciphertexts at 768 bits)
    bound = 2 ** (SLOT_BITS - 1) - 1
    values = [bound, -bound, 0, 1, -1, *np.random.default_rng(0).integers(-(2**62), 2**62, 18)]
    values = [int(v) for v in values]
    ops = PaillierOps(key.public_key) if encrypted else PlainOps(768)
    decryptor = Decryptor(key if encrypted else None)
    cells = ops.encrypt(values, None)
    # execute: pack, mask, open at the key holder, unmask, unpack
    packed = ops.pack(cells, SLOT_BITS, slots_per_cipher(768))
    masks = ops.random_masks(len(packed))
    opened = decryptor.open(ops.mask(packed, masks), None)
    plain = [ops.signed(o - r) for o, r in zip(opened, masks, strict=True)]
    # assert
    assert len(packed) == cipher_count(len(values), 768) == 3
    assert unpack(plain, len(values), 768) == values


def test_slot_layout_of_a_real_key() -> None:
    # assert: 28 weights per 2048-bit ciphertext, so default_credit's bank (14) needs one
    assert slots_per_cipher(2048) == 28
    assert cipher_count(14, 2048) == 1 and cipher_count(29, 2048) == 2
