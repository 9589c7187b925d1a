"""The bank's decision: partial scores in, a calibrated PD, points, reasons and a decision out.

Pure and deterministic: the same inputs (as a decision record keeps them) give the same
outcome, which is what ``replay`` checks. Nothing here talks to the network or the log.
``decide_many`` works on whole columns (a chunk of a book is a few numpy operations, not a
Python loop per firm); ``decide`` is the same computation for one firm, used by replay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import numpy as np
from numpy.typing import NDArray

from node.scoring.policy import DecisionPolicy

MAX_REASONS: Final = 4
_SEVERITY: Final = {"approve": 0, "refer": 1, "decline": 2}
NEUTRAL: Final = "neutral"


@dataclass(frozen=True)
class HolderAnswer:
    """What one holder said about one firm (or why it said nothing)."""

    party: str
    status: str  # ok | no_record | unauthorized | refused | offline | deadline
    version: str = ""  # "name@version" of the part that answered
    score: float = 0.0
    reasons: tuple[tuple[str, float], ...] = ()
    flags: tuple[str, ...] = ()
    detail: str = ""  # e.g. which authorization was missing; never a value

    def to_dict(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "status": self.status,
            "version": self.version,
            "score": self.score,
            "reasons": [list(r) for r in self.reasons],
            "flags": list(self.flags),
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> HolderAnswer:
        return cls(
            party=str(raw["party"]),
            status=str(raw["status"]),
            version=str(raw.get("version", "")),
            score=float(raw.get("score", 0.0)),
            reasons=tuple((str(c), float(v)) for c, v in raw.get("reasons", ())),
            flags=tuple(str(f) for f in raw.get("flags", ())),
            detail=str(raw.get("detail", "")),
        )


@dataclass(frozen=True)
class Outcome:
    """A decision and everything stated with it."""

    decision: str
    pd: float
    points: float
    logit: float
    reasons: tuple[tuple[str, float], ...]
    gaps: tuple[tuple[str, str, str], ...]  # (party, gap kind, action taken)
    knockouts: tuple[tuple[str, str], ...]  # (flag, action)
    price_band: str
    rate_bp: int
    suggested_limit: float
    exposure_limit: float
    versions: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "pd": round(self.pd, 12),
            "points": round(self.points, 9),
            "logit": round(self.logit, 12),
            "reasons": [[c, round(v, 9)] for c, v in self.reasons],
            "gaps": [list(g) for g in self.gaps],
            "knockouts": [list(k) for k in self.knockouts],
            "price_band": self.price_band,
            "rate_bp": self.rate_bp,
            "suggested_limit": self.suggested_limit,
            "exposure_limit": self.exposure_limit,
            "versions": dict(self.versions),
        }


class Calibrated(Protocol):
    """The bank's head: intercept and calibration (``LogisticPart`` is one)."""

    @property
    def intercept(self) -> float: ...

    def probability(self, logit: NDArray[np.float64]) -> NDArray[np.float64]: ...


@dataclass(frozen=True)
class HolderReplies:
    """One holder's answers for a batch of firms, column by column (row i is firm i)."""

    party: str
    version: str
    status: Sequence[str]
    score: NDArray[np.float64]
    reasons: Sequence[Sequence[tuple[str, float]]]
    flags: Sequence[Sequence[str]]
    detail: Sequence[str]

    @classmethod
    def gap(cls, party: str, status: str, n: int, detail: str = "") -> HolderReplies:
        """The same gap (``offline``, ``deadline``, ``refused``...) for all ``n`` firms."""
        return cls(party, "", [status] * n, np.zeros(n), [()] * n, [()] * n, [detail] * n)

    @classmethod
    def of(cls, answers: Sequence[HolderAnswer]) -> HolderReplies:
        """Columns of per-firm answers of one holder (as decision records keep them)."""
        return cls(
            answers[0].party,
            next((a.version for a in answers if a.version), ""),
            [a.status for a in answers],
            np.array([a.score if a.status == "ok" else 0.0 for a in answers]),
            [a.reasons for a in answers],
            [a.flags for a in answers],
            [a.detail for a in answers],
        )

    def row(self, i: int) -> HolderAnswer:
        if self.status[i] != "ok":
            return HolderAnswer(self.party, self.status[i], self.version, detail=self.detail[i])
        return HolderAnswer(
            self.party,
            "ok",
            self.version,
            float(self.score[i]),
            tuple(self.reasons[i]),
            tuple(self.flags[i]),
        )


def decide_many(
    policy: DecisionPolicy,
    *,
    head: Calibrated,
    names: Sequence[str],
    contributions: NDArray[np.float64],
    replies: Sequence[HolderReplies],
    amounts: NDArray[np.float64],
    bank_version: str,
) -> list[Outcome]:
    """Combine the bank's part and the holders' replies under ``policy``, for n firms.

    ``contributions`` is n x len(names), the bank's per-feature log-odds; ``head`` maps the
    total log-odds to a calibrated PD. A gap (a holder without an answer for a firm) adds
    nothing to that firm's log-odds (``neutral``: the firm is scored at that holder's
    average, 0 for standardised columns) and pushes its decision to at least what
    ``policy.missing`` says for that kind of gap. The decision is the most severe of the
    PD cut-off, each gap's action and each knock-out.
    """
    n = len(amounts)
    logit = head.intercept + contributions.sum(axis=1)
    floor = np.zeros(n, np.int8)
    for reply in replies:
        ok = np.asarray(reply.status, dtype=object) == "ok"
        logit = logit + np.where(ok, reply.score, 0.0)
        for i in np.flatnonzero(~ok):
            action = policy.missing.get(reply.status[i], "refer")
            if action != NEUTRAL:
                floor[i] = max(floor[i], _SEVERITY[action])
    knockouts: list[tuple[tuple[str, str], ...]] = [()] * n
    if policy.knockouts:
        for i in range(n):
            raised = {f for r in replies if r.status[i] == "ok" for f in r.flags[i]}
            if raised:
                hit = tuple((f, a) for f, a in policy.knockouts if f in raised)
                knockouts[i] = hit
                for _, action in hit:
                    floor[i] = max(floor[i], _SEVERITY[action])
    pd_values = np.asarray(head.probability(logit), dtype=np.float64)
    by_score = np.where(
        pd_values < policy.approve_below, 0, np.where(pd_values >= policy.decline_from, 2, 1)
    )
    decision = np.maximum(by_score, floor)
    bounds = np.array([b.pd_below for b in policy.bands])
    band_of = np.minimum(np.searchsorted(bounds, pd_values, side="right"), len(bounds) - 1)
    band_limit = np.array([b.limit for b in policy.bands])[band_of]
    limit = np.where(
        decision == 2, 0.0, np.minimum(np.minimum(band_limit, policy.exposure_limit), amounts)
    )
    points = policy.scorecard.points(logit)
    reasons = _top_reasons(names, contributions, replies)
    labels = ("approve", "refer", "decline")
    # per-row Python from here on: plain lists, each lookup done once per holder and status
    statuses = [list(r.status) for r in replies]
    actions = [{st: policy.missing.get(st, "refer") for st in set(col)} for col in statuses]
    bands = [policy.bands[k] for k in band_of.tolist()]
    rows = zip(
        decision.tolist(), pd_values.tolist(), points.tolist(), logit.tolist(), limit.tolist(),
        bands, reasons, knockouts, strict=True,
    )  # fmt: skip
    out = []
    for i, (dec, pd_i, points_i, logit_i, limit_i, band, why, kos) in enumerate(rows):
        versions = {"bank": bank_version}
        gaps = []
        for r, col, act in zip(replies, statuses, actions, strict=True):
            st = col[i]
            if st == "ok":
                versions[r.party] = r.version
            else:
                gaps.append((r.party, st, act[st]))
        out.append(
            Outcome(
                decision=labels[dec],
                pd=pd_i,
                points=points_i,
                logit=logit_i,
                reasons=why,
                gaps=tuple(gaps),
                knockouts=kos,
                price_band=band.price_band,
                rate_bp=band.rate_bp,
                suggested_limit=limit_i,
                exposure_limit=policy.exposure_limit,
                versions=versions,
            )
        )
    return out


def _top_reasons(
    names: Sequence[str],
    contributions: NDArray[np.float64],
    replies: Sequence[HolderReplies],
) -> list[tuple[tuple[str, float], ...]]:
    """Per firm, at most ``MAX_REASONS`` adverse contributions, largest first (ties by code).

    Candidates are the bank's features by name and each answering holder's coded categories;
    ranking is one ``lexsort`` over an n x candidates matrix.
    """
    n = contributions.shape[0]
    codes: list[list[str]] = [list(names)] * n
    values = contributions
    for reply in replies:
        width = max((len(r) for r in reply.reasons), default=0)
        if not width:
            continue
        block = np.full((n, width), -np.inf)
        block_codes = [[""] * width for _ in range(n)]
        for i, given in enumerate(reply.reasons):
            if reply.status[i] != "ok":
                continue
            for j, (code, value) in enumerate(given):
                block[i, j] = value
                block_codes[i][j] = code
        values = np.hstack([values, block])
        codes = [a + b for a, b in zip(codes, block_codes, strict=True)]
    vocabulary = sorted({c for row in codes for c in row})
    rank = {c: k for k, c in enumerate(vocabulary)}
    code_rank = np.array([[rank[c] for c in row] for row in codes], np.int64).reshape(values.shape)
    order = np.lexsort((code_rank, -values), axis=-1)[:, :MAX_REASONS]
    top = np.take_along_axis(values, order, axis=1)
    return [
        tuple([(row_codes[j], v) for j, v in zip(js, vs, strict=True) if v > 0])
        for row_codes, js, vs in zip(codes, order.tolist(), top.tolist(), strict=True)
    ]


def decide(
    policy: DecisionPolicy,
    *,
    head: Calibrated,
    bank_contributions: Mapping[str, float],
    answers: Sequence[HolderAnswer],
    amount: float,
    bank_version: str,
) -> Outcome:
    """``decide_many`` for one firm (replay and tests): the same code, one row."""
    names = list(bank_contributions)
    return decide_many(
        policy,
        head=head,
        names=names,
        contributions=np.array([[bank_contributions[k] for k in names]], dtype=np.float64),
        replies=[HolderReplies.of([a]) for a in answers],
        amounts=np.array([amount], dtype=np.float64),
        bank_version=bank_version,
    )[0]
