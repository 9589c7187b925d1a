"""The bank's decision: partial scores in, a calibrated PD, points, reasons and a decision out.

Pure and deterministic: the same inputs (as a decision record keeps them) give the same
outcome, which is what ``replay`` checks. Nothing here talks to the network or the log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

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


def _worst(a: str, b: str) -> str:
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


def decide(
    policy: DecisionPolicy,
    *,
    intercept: float,
    bank_contributions: Mapping[str, float],
    probability: Any,
    answers: Sequence[HolderAnswer],
    amount: float,
    bank_version: str,
) -> Outcome:
    """Combine the bank's part and the holders' answers under ``policy``.

    ``probability`` maps total log-odds to a calibrated PD (the bank part's calibration).
    A gap (holder without an answer) contributes nothing to the log-odds (``neutral``: the
    firm is scored at that holder's average, which is 0 for standardised columns) and pushes
    the decision to at least what ``policy.missing`` says for that kind of gap.
    """
    logit = intercept + sum(bank_contributions.values())
    floor = "approve"
    gaps: list[tuple[str, str, str]] = []
    reasons: list[tuple[str, float]] = list(bank_contributions.items())
    raised: set[str] = set()
    versions = {"bank": bank_version}
    for answer in answers:
        if answer.status == "ok":
            logit += answer.score
            reasons.extend(answer.reasons)
            raised.update(answer.flags)
            versions[answer.party] = answer.version
            continue
        action = policy.missing.get(answer.status, "refer")
        gaps.append((answer.party, answer.status, action))
        if action != NEUTRAL:
            floor = _worst(floor, action)
    knockouts = tuple((flag, action) for flag, action in policy.knockouts if flag in raised)
    for _, action in knockouts:
        floor = _worst(floor, action)
    pd_value = float(np.asarray(probability(np.array([logit])))[0])
    if pd_value < policy.approve_below:
        by_score = "approve"
    elif pd_value >= policy.decline_from:
        by_score = "decline"
    else:
        by_score = "refer"
    decision = _worst(by_score, floor)
    band = policy.band(pd_value)
    limit = 0.0 if decision == "decline" else min(band.limit, policy.exposure_limit, amount)
    adverse = sorted((r for r in reasons if r[1] > 0), key=lambda r: (-r[1], r[0]))
    return Outcome(
        decision=decision,
        pd=pd_value,
        points=float(policy.scorecard.points(logit)),
        logit=float(logit),
        reasons=tuple(adverse[:MAX_REASONS]),
        gaps=tuple(gaps),
        knockouts=knockouts,
        price_band=band.price_band,
        rate_bp=band.rate_bp,
        suggested_limit=float(limit),
        exposure_limit=policy.exposure_limit,
        versions=versions,
    )
