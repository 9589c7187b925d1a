"""The bank's part and the holders' answers turned into the engine's inputs, by model kind.

The engine (``node.scoring.engine``) needs, per firm, the bank's contributions by feature
and, per holder, a partial log-odds with its reason categories. A logistic model gives those
directly (the bank's part computes its own, each holder sent its own). A SecureBoost model
does not: holders sent split directions, and the bank walks the trees with its own and
theirs, crediting each step of a firm's path to the party that owns the split
(``node.models.secureboost``); a holder's credits become its partial log-odds and its reasons.
Decisions and their replay both go through ``combine``, so a replay recomputes exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from node.models import LogisticPart, TreePart
from node.models.secureboost import PartyDirections, TreeHead
from node.scoring.answers import SECUREBOOST, Answer
from node.scoring.engine import Calibrated, HolderReplies, top_adverse


@dataclass(frozen=True)
class Gap:
    """Why a holder's answer is missing for a whole call (offline, deadline, refused)."""

    status: str
    detail: str = ""


Reply = Answer | Gap
BankPart = LogisticPart | TreePart


def head_of(part: BankPart) -> Calibrated:
    """The part that maps total log-odds to a PD (the logistic part, or the trees' head)."""
    return part.head if isinstance(part, TreePart) else part


def combine(
    part: BankPart, values: NDArray[np.float64], replies: Mapping[str, Reply]
) -> tuple[NDArray[np.float64], list[HolderReplies]]:
    """(the bank's contributions, n x its features; each holder's replies) for n firms.

    ``values`` are the bank's own feature values (n x ``part.info.features``); ``replies``
    each holder's answer, in the decision policy's order, or its gap.
    """
    n = len(values)
    if isinstance(part, LogisticPart):
        return part.contributions_of(values), [_logistic(h, r, n) for h, r in replies.items()]
    return _trees(part, values, replies)


def _gap(holder: str, reply: Reply, n: int) -> HolderReplies | None:
    if isinstance(reply, Gap):
        return HolderReplies.gap(holder, reply.status, n, reply.detail)
    if reply.error:
        return HolderReplies.gap(holder, "refused", n, reply.error.split(":", 1)[0])
    return None


def _logistic(holder: str, reply: Reply, n: int) -> HolderReplies:
    gap = _gap(holder, reply, n)
    if gap is not None:
        return gap
    assert isinstance(reply, Answer)
    if reply.kind != "logistic":
        return HolderReplies.gap(holder, "refused", n, "answered for another kind of model")
    return reply.replies(holder)


def _trees(
    part: TreePart, values: NDArray[np.float64], replies: Mapping[str, Reply]
) -> tuple[NDArray[np.float64], list[HolderReplies]]:
    n = len(values)
    head: TreeHead = part.head
    names = list(part.info.features)
    records, left = part.directions_of(values)
    parties = {part.info.party: PartyDirections(records, left, np.ones(n, np.bool_))}
    slots = {(part.info.party, r): names.index(part.feature_of(r)) for r in records}
    width = len(names)
    blocks: dict[str, tuple[int, Answer]] = {}
    for holder, reply in replies.items():
        if _gap(holder, reply, n) is not None or not isinstance(reply, Answer):
            continue
        if reply.kind != SECUREBOOST:
            continue
        categories = list(reply.header.get("categories", ()))
        held = [int(r) for r in reply.header["records"]]
        parties[holder] = PartyDirections(held, reply.directions(), reply.arrays["status"] == 0)
        for r, c in zip(held, reply.header["record_categories"], strict=True):
            slots[(holder, r)] = width + int(c)
        blocks[holder] = (width, reply)
        width += len(categories)
    _, credits = head.explain(parties, slots, width, n)
    out: list[HolderReplies] = []
    for holder, reply in replies.items():
        if holder not in blocks:
            gap = _gap(holder, reply, n)
            out.append(
                gap
                if gap is not None
                else HolderReplies.gap(holder, "refused", n, "answered for another kind of model")
            )
            continue
        start, answer = blocks[holder]
        holder_categories = tuple(answer.header.get("categories", ()))
        block = credits[:, start : start + len(holder_categories)]
        codes, values = top_adverse(block)
        base = answer.common(holder, block.sum(axis=1))
        out.append(
            replace(base, reason_codes=codes, reason_values=values, categories=holder_categories)
        )
    return credits[:, : len(names)], out
