"""A boosted early-warning model at a refresh: holders' split directions and the bank's walk.

With a SecureBoost early-warning model (a ``secureboost`` job over the same training tables
as ``vertical_lr``, ``node.monitoring.tables``) a holder answers no score: per borrower one
bit for each split it owns (left or not; no threshold, no value), packed, and the reason code
of each split's figure. The bank walks the trees with its own and every holder's directions
(``node.models.secureboost.TreeHead.explain``), crediting each step of a borrower's path to
the split's owner, so trees combine the holders' figures with each other and with the bank's
(a fall of invoices matters more for a firm whose tax per employee is already low), which a
sum of partial log-odds cannot. A holder's credits summed are its partial log-odds (what
score drift is measured on), its largest positive codes its coded reasons. A firm the holder
does not hold goes each of its splits' side for a missing value, as firms without a record
did in training (the answer's status already says "no record"). A holder that gave no answer
for a borrower (offline, late, refused, no authorization) leaves its splits untaken: the
borrower's path stops there and it gets the mean of the leaves below, the trees' counterpart
of "assessed at the holder's average".
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.models.secureboost import PartyDirections, TreePart
from node.monitoring.reasons import MAX_REASONS, reason_code, top_reasons

KIND: Final = "secureboost"


def _codes(part: TreePart, records: Sequence[int], prefix: str) -> tuple[list[str], list[int]]:
    """(the sorted reason codes of ``records``' figures, each record's index among them)."""
    codes = [reason_code(prefix, part.feature_of(r)) for r in records]
    names = sorted(set(codes))
    return names, [names.index(c) for c in codes]


def holder_answer(
    part: TreePart, signals: pd.DataFrame, allowed: NDArray[np.int64], n: int, prefix: str
) -> dict[str, Any]:
    """A holder's answer for a chunk of ``n`` borrowers, ``signals`` those of ``allowed``
    (the rows it may answer for; the others' bits stay 0 and their status says why)."""
    records = sorted(part.own.rules)
    left = np.zeros((n, len(records)), np.bool_)
    if len(allowed) and records:
        left[allowed] = part.directions(signals)[1]
    categories, of_record = _codes(part, records, prefix)
    return {
        "kind": KIND,
        "records": records,
        "categories": categories,
        "record_categories": of_record,
        "directions": base64.b64encode(np.packbits(left, axis=1).tobytes()).decode(),
    }


@dataclass
class HolderSplits:
    """One holder's directions for the whole book, gathered chunk by chunk."""

    records: list[int]
    categories: list[str]
    record_categories: list[int]
    left: NDArray[np.bool_]  # book x records
    known: NDArray[np.bool_]  # book: the holder answered for this borrower
    started: bool = False  # a chunk's answer has named the splits

    @classmethod
    def empty(cls, n: int) -> HolderSplits:
        return cls([], [], [], np.zeros((n, 0), np.bool_), np.zeros(n, np.bool_))

    def add(self, answer: Mapping[str, Any], offset: int, ok: NDArray[np.bool_]) -> None:
        """Take one chunk's answer (its borrowers from ``offset``; ``ok`` those answered).

        Raises
        ------
        ValueError
            The answer is malformed or names other splits than the chunks before it.
        """
        records = [int(r) for r in answer["records"]]
        categories = [str(c) for c in answer["categories"]]
        of_record = [int(c) for c in answer["record_categories"]]
        if len(of_record) != len(records) or any(not 0 <= c < len(categories) for c in of_record):
            raise ValueError("split categories do not fit the splits")
        if not self.started:
            self.records, self.categories, self.record_categories = (
                records, categories, of_record,
            )  # fmt: skip
            self.left = np.zeros((len(self.known), len(records)), np.bool_)
            self.started = True
        elif (records, categories, of_record) != (
            self.records, self.categories, self.record_categories,
        ):  # fmt: skip
            raise ValueError("a chunk names other splits than the others")
        size = len(ok)
        width = (len(records) + 7) // 8
        raw = np.frombuffer(base64.b64decode(str(answer["directions"]), validate=True), np.uint8)
        if raw.size != size * width:
            raise ValueError("directions do not fit the chunk")
        bits = np.unpackbits(raw.reshape(size, width), axis=1, count=len(records)).astype(bool)
        self.left[offset : offset + size] = bits & ok[:, None]
        self.known[offset : offset + size] = ok


@dataclass(frozen=True)
class Walked:
    """The trees' verdict on the book: log-odds, the bank's own reasons, and per holder its
    credits summed (partial log-odds) and coded reasons."""

    margin: NDArray[np.float64]
    own_reasons: list[list[str]]
    partials: dict[str, NDArray[np.float64]]
    reasons: dict[str, list[list[str]]]


def walk(
    part: TreePart, own: pd.DataFrame, holders: Mapping[str, HolderSplits], prefix: str
) -> Walked:
    """Walk the bank's trees for every borrower (``own``: the bank's signals, one row each).

    A holder absent from ``holders`` (or unknown for a borrower) has its splits untaken.
    """
    n = len(own)
    head = part.head
    records, left = part.directions(own)
    own_names, own_of = _codes(part, records, prefix)
    parties = {part.info.party: PartyDirections(records, left, np.ones(n, np.bool_))}
    slots = {(part.info.party, r): c for r, c in zip(records, own_of, strict=True)}
    blocks: dict[str, tuple[int, list[str]]] = {}
    width = len(own_names)
    for holder, splits in holders.items():
        parties[holder] = PartyDirections(splits.records, splits.left, splits.known)
        for r, c in zip(splits.records, splits.record_categories, strict=True):
            slots[(holder, r)] = width + c
        blocks[holder] = (width, splits.categories)
        width += len(splits.categories)
    margin, credits = head.explain(parties, slots, width, n)
    partials, reasons = {}, {}
    for holder, (start, names) in blocks.items():
        block = credits[:, start : start + len(names)]
        partials[holder] = block.sum(axis=1)
        reasons[holder] = top_reasons(names, block, MAX_REASONS)
    own_reasons = top_reasons(own_names, credits[:, : len(own_names)], 1)
    return Walked(margin, own_reasons, partials, reasons)
