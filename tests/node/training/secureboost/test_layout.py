"""The packing bit budget: worst-case sums pack, travel encrypted and unpack exactly."""

from __future__ import annotations

import numpy as np
import pytest

from node.crypto.paillier import KeyMismatch, generate_keypair
from node.training.secureboost.cells import CellArith, GuestKeys, twin_modulus
from node.training.secureboost.histogram import histograms, pack, slot_index
from node.training.secureboost.layout import GHLayout, LayoutError
from node.training.vertical.exceptions import MalformedMessage


def _extremes(rows: int, frac: int) -> tuple[np.ndarray, np.ndarray]:
    """Gradients and hessians at the ends of their ranges: +1, -1, 0 and the largest h."""
    g = np.resize(np.array([1 << frac, -(1 << frac), 0, 1 << frac]), rows).astype(np.int64)
    h = np.resize(np.array([1 << (frac - 2), 1 << (frac - 2), 0, 0]), rows).astype(np.int64)
    return g, h


@pytest.mark.parametrize("encrypted", [False, True])
def test_worst_case_bin_sums_pack_and_unpack_exactly(encrypted: bool) -> None:
    # prepare: every row in one bin (the largest possible sums), others empty; 640-bit key
    # (the smallest that holds several 60-bit slots; the layout math is size-independent)
    rows, frac, bits = 3000, 20, 640
    keys = GuestKeys(bits, plaintext=not encrypted, pool=None)
    layout = GHLayout(frac, rows, bits)
    g, h = _extremes(rows, frac)
    g_all_plus = np.full(rows, 1 << frac, dtype=np.int64)
    cells = keys.encrypt(layout.row_values(g, h) + layout.row_values(g_all_plus, h))
    # slots: bin 0 = the mixed rows, bin 1 = all +1 rows, bins 2.. empty
    index = np.array([[0]] * rows + [[1]] * rows, dtype=np.int64)
    total = 2 * layout.per_plaintext + 3
    # execute
    packed = pack(keys.arith, histograms(keys.arith, cells, index, total, None), layout, None)
    got_g, got_h = layout.unpack(keys.decrypt(packed), total, "host", "t")
    # assert
    assert layout.per_plaintext >= 2 and len(packed) == 3
    # the sum of 2 x rows rows, not rows: the budget is per tree, and this exceeds it on g
    assert got_g[0] == g.sum() and got_h[0] == h.sum()
    assert got_g[1] == g_all_plus.sum() and got_h[1] == h.sum()
    assert not got_g[2:].any() and not got_h[2:].any()


def test_layout_widths_follow_rows_and_precision() -> None:
    layout = GHLayout(20, 20_000, 2048)
    assert layout.h_bits == (20_000 << 18).bit_length()
    assert layout.g_bits == (40_000 << 20).bit_length()
    assert layout.per_plaintext == 2047 // layout.slot_bits
    assert layout.per_plaintext * layout.slot_bits < 2048


def test_key_too_short_for_one_slot_is_refused() -> None:
    with pytest.raises(LayoutError, match="cannot hold one"):
        GHLayout(30, 1 << 24, 100)


def test_unpack_refuses_a_value_wider_than_its_slots() -> None:
    layout = GHLayout(20, 100, 1024)
    with pytest.raises(MalformedMessage, match="exceeds its slots"):
        layout.unpack([1 << (layout.slot_bits * 2)], 2, "host", "t/hist")
    with pytest.raises(MalformedMessage, match="packed values"):
        layout.unpack([0, 0], 2, "host", "t/hist")


@pytest.mark.slow
def test_histograms_fan_out_over_workers_like_in_process() -> None:
    # prepare: a real key and a real pool; rows spread over 4 nodes x 3 columns x 5 bins
    from node.compute import worker_pool

    public, _ = generate_keypair(768)
    arith = CellArith(public.n, encrypted=True)
    rng = np.random.default_rng(3)
    cells = arith.cells(public.encrypt(int(v)) for v in rng.integers(-1000, 1000, 700))
    codes = rng.integers(0, 5, size=(700, 3)).astype(np.uint8)
    index = slot_index(codes, np.array([0, 5, 10]), rng.integers(0, 4, 700) * 15)
    # execute
    alone = histograms(arith, cells, index, 60, None)
    with worker_pool(2) as pool:
        fanned = histograms(arith, cells, index, 60, pool)
    # assert
    assert alone == fanned


def test_histograms_refuse_cells_of_another_key_or_kind() -> None:
    # prepare: two real 512-bit keys (the refusal depends on key identity, not size)
    mine, theirs = GuestKeys(512, False, None), GuestKeys(512, False, None)
    twin = GuestKeys(512, True, None)
    index = slot_index(np.zeros((2, 1), np.uint8), np.array([0]), np.zeros(2, np.int64))
    foreign = theirs.encrypt([1, 2])
    # execute / assert
    with pytest.raises(KeyMismatch):
        histograms(mine.arith, foreign, index, 1, None)
    with pytest.raises(KeyMismatch):
        mine.decrypt(foreign)
    with pytest.raises(KeyMismatch):
        mine.arith.dump(foreign)
    with pytest.raises(TypeError):
        histograms(twin.arith, mine.encrypt([1, 2]), index, 1, None)
    assert mine.decrypt(histograms(mine.arith, mine.encrypt([1, 2]), index, 1, None)) == [3]


def test_twin_modulus_is_an_odd_number_of_the_key_length() -> None:
    assert twin_modulus(768).bit_length() == 768 and twin_modulus(768) % 2
