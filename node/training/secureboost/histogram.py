"""A feature holder's heavy work: encrypted histograms and packing them for the label holder.

Histogram: every row's cell is combined into one slot per (node, column, bin); for Paillier
that is one modular multiplication modulo ``n^2`` per (row, column), on ``gmpy2`` integers.
Rows are split across worker processes; each returns partial histograms that are combined
slot by slot (a few thousand multiplications).

Packing (SecureBoost+, Chen et al. 2021): ``per_plaintext`` bin cells become one, Horner style
from the highest slot down, ``acc = acc^(2^w) * c_j`` (``w`` squarings per bin), then the public
offset of ``layout.py`` is added and the result re-randomised, so the label holder decrypts one
ciphertext per ``per_plaintext`` bins and cannot relate what it receives to the row ciphertexts
it sent. Groups of plaintexts are packed in parallel too.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from concurrent.futures import Executor

import numpy as np
from gmpy2 import mpz
from numpy.typing import NDArray

from node.training.cells import Cells
from node.training.secureboost.cells import CellArith
from node.training.secureboost.layout import GHLayout

PARTS = 4
"""Tasks per fan-out: balances two to four workers without much combining afterwards."""
MIN_PARALLEL_ROWS = 512


def slot_index(
    codes: NDArray[np.uint8], starts: NDArray[np.int64], node_base: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Slot of every (row, column): the node's base, plus the column's start, plus the bin."""
    return node_base[:, None] + starts[None, :] + codes.astype(np.int64)


def accumulate(
    arith: CellArith, cells: Sequence[int], index: NDArray[np.int64], total: int
) -> list[int]:
    """Combine each row's cell into the slots named by its row of ``index`` (a worker task)."""
    op, modulus = arith.combine_op, arith.modulus
    acc = [arith.identity] * total
    for cell, row in zip(cells, index.tolist(), strict=True):
        value = mpz(cell)
        for k in row:
            acc[k] = op(acc[k], value) % modulus
    return [int(a) for a in acc]


def histograms(
    arith: CellArith,
    rows: Cells,
    index: NDArray[np.int64],
    total: int,
    pool: Executor | None,
) -> Cells:
    """``accumulate`` over all rows, fanned out over ``pool`` by row ranges (Paillier only:
    the twin's additions cost less than shipping them to a worker)."""
    cells = arith.values(rows, "sum")
    if pool is None or not arith.encrypted or len(cells) < MIN_PARALLEL_ROWS:
        return arith.cells(accumulate(arith, cells, index, total))
    bounds = np.linspace(0, len(cells), PARTS + 1).astype(int)
    futures = [
        pool.submit(accumulate, arith, cells[a:b], index[a:b], total)
        for a, b in itertools.pairwise(bounds)
        if b > a
    ]
    partials = [future.result() for future in futures]
    op, modulus = arith.combine_op, arith.modulus
    out = [mpz(v) for v in partials[0]]
    for partial in partials[1:]:
        out = [op(a, mpz(b)) % modulus for a, b in zip(out, partial, strict=True)]
    return arith.cells([int(v) for v in out])


def plain_histograms(
    index: NDArray[np.int64], gq: NDArray[np.int64], hq: NDArray[np.int64], total: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The label holder's histograms of its own columns, in the clear, from ``slot_index``.

    Float64 weights sum exactly here: every partial sum stays below ``2^53`` (at most
    ``rows * 2^frac_bits``, see ``layout.py``).
    """
    columns = index.shape[1]
    flat = index.ravel()
    g = np.bincount(flat, weights=np.repeat(gq, columns), minlength=total)
    h = np.bincount(flat, weights=np.repeat(hq, columns), minlength=total)
    return g.astype(np.int64), h.astype(np.int64)


def pack_groups(
    arith: CellArith, groups: list[list[int]], width: int, offsets: dict[int, int]
) -> list[int]:
    """Pack each group of bin cells into one cell (lowest slot first), add its offset from
    ``offsets`` (by group size) and re-randomise it (a worker task)."""
    out = []
    for group in groups:
        acc = mpz(group[-1])
        for cell in reversed(group[:-1]):
            acc = arith.combine_op(arith.shift(acc, width), mpz(cell)) % arith.modulus
        out.append(int(arith.rerandomize(arith.add_plain(acc, offsets[len(group)]))))
    return out


def pack(arith: CellArith, bins: Cells, layout: GHLayout, pool: Executor | None) -> Cells:
    """Pack bin cells ``per_plaintext`` to a cell, with offsets, re-randomised."""
    cells = arith.values(bins, "pack")
    per = layout.per_plaintext
    groups = [list(cells[i : i + per]) for i in range(0, len(cells), per)]
    offsets = {len(g): layout.packed_offset(len(g)) for g in groups}
    if pool is None or not arith.encrypted or len(groups) < 2 * PARTS:
        return arith.cells(pack_groups(arith, groups, layout.slot_bits, offsets))
    step = -(-len(groups) // PARTS)
    futures = [
        pool.submit(pack_groups, arith, groups[i : i + step], layout.slot_bits, offsets)
        for i in range(0, len(groups), step)
    ]
    return arith.cells([cell for future in futures for cell in future.result()])
