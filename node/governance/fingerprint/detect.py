"""Read a suspect table against recorded releases and bound the chance of a false accusation.

For one candidate release, every carrier column the suspect table still has is read (one
vote per distinct value pair, ``scheme.read_column``) and compared with the bits that
release's key writes into those pairs. If the table never passed through that release, the
release's bits are independent of it (the key is secret and derived per release), so each
compared pair agrees with probability 1/2 and the agreement count is Binomial(N, 1/2). The
Chernoff bound ``P[agree >= a] <= exp(-N * KL(a/N || 1/2))`` bounds the chance that an
innocent release scores as high; multiplied by the number of releases tested (union bound),
it bounds the chance that *any* innocent release is accused. A release is accused only when
that product is at most ``max_false_accusation`` (default 1e-9).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from node.governance.fingerprint.embed import FingerprintSpec
from node.governance.fingerprint.scheme import Step, column_key, prf_bits, read_column

DEFAULT_MAX_FALSE_ACCUSATION: Final = 1e-9


@dataclass(frozen=True)
class Candidate:
    """A recorded release to test: its id, how it was marked, and its fingerprint key."""

    release_id: str
    spec: FingerprintSpec
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class Score:
    """How a suspect table agrees with one release's fingerprint.

    ``pairs`` is the number of independent pairs compared, ``agree`` how many carry that
    release's bit, ``log10_tail`` the base-10 logarithm of the Chernoff bound on
    ``P[Binomial(pairs, 1/2) >= agree]`` (kept as a logarithm: it is often below 1e-300).
    """

    release_id: str
    pairs: int
    agree: int
    columns: tuple[str, ...]
    log10_tail: float

    @property
    def agreement(self) -> float:
        """Fraction of compared pairs that carry this release's bit (0.5 = chance)."""
        return self.agree / self.pairs if self.pairs else 0.0


@dataclass(frozen=True)
class Verdict:
    """The outcome of testing a suspect table against ``tested`` releases.

    ``accused`` are the releases whose union-bounded false-accusation probability
    (``bound``) is at most the threshold; ``scores`` holds every tested release, best first.
    """

    tested: int
    max_false_accusation: float
    scores: tuple[Score, ...]
    accused: tuple[Score, ...]

    def log10_bound(self, score: Score) -> float:
        """log10 of the probability that an innocent release scores like ``score`` here
        (union bound over the ``tested`` releases, at most 0)."""
        return min(0.0, math.log10(max(self.tested, 1)) + score.log10_tail)


def log10_chernoff_tail(n: int, agree: int) -> float:
    """log10 of an upper bound on ``P[Binomial(n, 1/2) >= agree]`` (0 when ``agree <= n/2``)."""
    if n <= 0 or 2 * agree <= n:
        return 0.0
    a = agree / n
    kl = a * math.log(2 * a) + ((1 - a) * math.log(2 * (1 - a)) if a < 1 else 0.0)
    return -n * kl / math.log(10)


class SuspectTable:
    """A leaked table prepared for reading: numeric columns, with reads cached per step.

    ``only`` limits the columns converted to those some candidate release carries its mark in
    (converting a text column of a large table costs more than scoring every release).
    """

    def __init__(self, frame: pd.DataFrame, only: Collection[str] | None = None) -> None:
        self._columns: dict[str, np.ndarray] = {}
        for name in frame.columns:
            if only is not None and str(name) not in only:
                continue
            values = pd.to_numeric(frame[name], errors="coerce")
            array = values.to_numpy(dtype="float64", na_value=np.nan)
            if np.isfinite(array).any():
                self._columns[str(name)] = array
        self._reads: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = {}

    @property
    def columns(self) -> frozenset[str]:
        """Columns with at least one number."""
        return frozenset(self._columns)

    def read(self, column: str, step: Step) -> tuple[np.ndarray, np.ndarray]:
        """The (pairs, bits) evidence of ``column`` on the grid of ``step``."""
        key = (column, step.mult, step.div)
        if key not in self._reads:
            self._reads[key] = read_column(self._columns[column], step)
        return self._reads[key]


def score(table: SuspectTable, candidate: Candidate) -> Score | None:
    """Compare ``table`` with one release; ``None`` when no carrier column survives."""
    pairs = agree = 0
    used = []
    for name, step in candidate.spec.steps.items():
        if name not in table.columns:
            continue
        found, bits = table.read(name, step)
        if found.size == 0:
            continue
        expected = prf_bits(column_key(candidate.key, name), found)
        pairs += int(found.size)
        agree += int(np.count_nonzero(expected == bits))
        used.append(name)
    if not used:
        return None
    tail = log10_chernoff_tail(pairs, agree)
    return Score(candidate.release_id, pairs, agree, tuple(used), tail)


def judge(
    table: SuspectTable,
    candidates: Iterable[Candidate],
    max_false_accusation: float = DEFAULT_MAX_FALSE_ACCUSATION,
) -> Verdict:
    """Score ``table`` against every candidate and accuse those beyond the bound.

    Raises
    ------
    ValueError
        ``max_false_accusation`` is not in (0, 1).
    """
    if not 0 < max_false_accusation < 1:
        raise ValueError("max_false_accusation must be between 0 and 1")
    scores = [s for c in candidates if (s := score(table, c)) is not None]
    scores.sort(key=lambda s: (s.log10_tail, -s.pairs))
    verdict = Verdict(len(scores), max_false_accusation, tuple(scores), ())
    limit = math.log10(max_false_accusation)
    accused = tuple(s for s in scores if verdict.log10_bound(s) <= limit)
    return Verdict(verdict.tested, max_false_accusation, verdict.scores, accused)
