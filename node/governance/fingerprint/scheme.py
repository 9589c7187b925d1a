"""The fingerprint of one numeric column: keyed parity of the value's grid index (QIM).

Each carrier column has a decimal grid step ``q`` small enough that moving a value to a grid
point never exceeds the policy's tolerance. A value ``x`` is read as grid index
``j = round(x / q)``; consecutive indexes form pairs ``p = floor(j / 2)``, and the fingerprint
writes one keyed bit into each value by picking the pair member whose parity is
``PRF(column key, p)``: ``x' = q * (2p + bit)``. The key of a cell is derived from the value
itself (its pair), not from its row, so the mark needs no row identifier to be read back:
subsets, reordering, dropped columns and other formats leave every surviving cell readable.
See ``docs/governance.md`` for the error bound and the detection statistic.

The PRF is AES-256 on one 16-byte block per pair index (the 8-byte little-endian index and
eight zero bytes) under a per-column key; the bit is the low bit of the first output byte.
AES is used as a pseudo-random function on distinct inputs, not as a cipher of messages, so
the block mode of the batch call (ECB: one independent block each) is the right one.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SCHEME: Final = "qim-parity/v1"
# A value further than this fraction of a step from the grid was moved after release (noise,
# another rounding): it carries no readable bit and is skipped, not guessed.
READ_SLACK: Final = 0.25
# Grid indexes stay below 2**52 so that index * step is exact in a double.
MAX_INDEX: Final = float(2**52)
# Worst case of the move when the input is off the grid: half a step of rounding plus one step.
OFF_GRID_FACTOR: Final = 1.5
_COLUMN_LABEL: Final = b"fedcredit/governance/fingerprint/column/v1|"


@dataclass(frozen=True)
class Step:
    """A decimal grid step ``mult / div`` (``div`` a power of ten), exact in integer parts.

    Values are written as ``(j * mult) / div``: one correctly rounded division, so a grid
    value prints as its short decimal (``0.0628``, not ``0.06280000000000001``).
    """

    mult: int
    div: int

    @property
    def value(self) -> float:
        """The step as a float."""
        return self.mult / self.div

    def index(self, x: np.ndarray) -> np.ndarray:
        """The real-valued grid position of each value (``x / step``)."""
        return x * self.div / self.mult

    def at(self, j: np.ndarray) -> np.ndarray:
        """The value of grid index ``j``."""
        return (j * self.mult) / self.div

    def to_list(self) -> list[int]:
        """Plain form for the release registry."""
        return [self.mult, self.div]

    @classmethod
    def from_list(cls, raw: list[int]) -> Step:
        """Inverse of ``to_list``.

        Raises
        ------
        ValueError
            Not two positive integers.
        """
        if len(raw) != 2 or not all(isinstance(v, int) and v > 0 for v in raw):
            raise ValueError(f"a step is [mult, div] with positive integers, got {raw!r}")
        return cls(raw[0], raw[1])


def nice_step(limit: float) -> Step:
    """The largest step of the form {1, 2, 5} x 10^k that is at most ``limit``.

    Raises
    ------
    ValueError
        ``limit`` is not a positive finite number.
    """
    if not (math.isfinite(limit) and limit > 0):
        raise ValueError(f"limit must be a positive finite number, got {limit!r}")
    exponent = math.floor(math.log10(limit))
    for m in (5, 2, 1):
        # compare in integers of 10^exponent so 0.001 is not taken for 0.000999...
        if m * 10.0**exponent <= limit * (1 + 1e-12):
            break
    if exponent >= 0:
        return Step(m * 10**exponent, 1)
    return Step(m, 10**-exponent)


def on_grid(x: np.ndarray, step: Step) -> bool:
    """Whether every finite value already sits on the grid of ``step``."""
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return True
    t = step.index(finite)
    return bool(np.all(np.abs(t - np.rint(t)) <= 1e-6))


def choose_step(x: np.ndarray, tolerance: float) -> Step:
    """The grid step for a column whose values may move by at most ``tolerance``.

    On its own grid a value moves by at most one step; off the grid by at most 1.5 steps
    (rounding to the grid, then to the pair member), so the step is chosen accordingly.
    """
    step = nice_step(tolerance)
    return step if on_grid(x, step) else nice_step(tolerance / OFF_GRID_FACTOR)


def column_key(release_key: bytes, column: str) -> bytes:
    """The 32-byte AES key of one column of one release."""
    return hmac.digest(release_key, _COLUMN_LABEL + column.encode("utf-8"), "sha256")


def prf_bits(key: bytes, pairs: np.ndarray) -> np.ndarray:
    """One pseudo-random bit per pair index (uint8 0/1), keyed by ``key``."""
    n = pairs.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.uint8)
    blocks = np.zeros((n, 2), dtype="<i8")
    blocks[:, 0] = pairs
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    out = encryptor.update(blocks.tobytes()) + encryptor.finalize()
    return np.frombuffer(out, dtype=np.uint8)[::16] & 1


def _markable(x: np.ndarray, step: Step) -> np.ndarray:
    # Nulls stay null; an exact zero often means "none" (no sales, no judgments), which a
    # tolerance is not meant to blur, so zeros stay zero.
    with np.errstate(invalid="ignore"):
        mask: np.ndarray = np.isfinite(x) & (x != 0) & (np.abs(step.index(x)) < MAX_INDEX)
    return mask


def embed_column(x: np.ndarray, step: Step, key: bytes) -> tuple[np.ndarray, int]:
    """Return ``x`` with one keyed bit written into every markable value, and how many carry one.

    A value whose marked form would leave the column's range ``[min, max]`` keeps its value
    (a clipped column must stay within its clip bounds); it simply carries no bit.
    """
    out = x.astype("float64", copy=True)
    where = np.flatnonzero(_markable(out, step))
    if where.size == 0:
        return out, 0
    j0 = np.rint(step.index(out[where]))
    pairs = np.floor_divide(j0, 2).astype(np.int64)
    marked = step.at(2 * pairs + prf_bits(key, pairs))
    finite = out[np.isfinite(out)]
    inside = (marked >= finite.min()) & (marked <= finite.max())
    out[where[inside]] = marked[inside]
    return out, int(inside.sum())


def read_column(v: np.ndarray, step: Step) -> tuple[np.ndarray, np.ndarray]:
    """The (pair index, bit) evidence in a column as found, one vote per distinct pair.

    Values off the grid by more than ``READ_SLACK`` steps are skipped. When several values
    share a pair, the majority bit is kept and ties are dropped, so each pair counts once:
    that is what makes the pairs' bits independent trials under an innocent file.
    """
    ok = _markable(v, step)
    t = step.index(v[ok])
    j = np.rint(t)
    j = j[np.abs(t - j) <= READ_SLACK]
    if j.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint8)
    pairs = np.floor_divide(j, 2).astype(np.int64)
    bits = (j - 2 * pairs).astype(np.int64)
    unique, inverse = np.unique(pairs, return_inverse=True)
    ones = np.bincount(inverse, weights=bits, minlength=unique.size)
    total = np.bincount(inverse, minlength=unique.size)
    decided = 2 * ones != total
    return unique[decided], (2 * ones[decided] > total[decided]).astype(np.uint8)


def release_key(root: bytes, release_id: str) -> bytes:
    """The fingerprint key of one release, from the node's fingerprint root key."""
    return hmac.digest(root, b"release|" + release_id.encode("ascii"), "sha256")


def root_key(node_secret: bytes) -> bytes:
    """The node's fingerprint root key (a purpose-bound subkey of the node secret)."""
    return hmac.digest(node_secret, b"fedcredit/governance/fingerprint/v1", "sha256")
