"""The bank's decision: partial scores in, a calibrated PD, points, reasons and a decision out.

Pure and deterministic: the same inputs (as a decision record keeps them) give the same
outcome, which is what ``replay`` checks. Nothing here talks to the network or the log.
``decide_many`` works on whole columns (a chunk of a book is a few numpy operations, not a
Python loop per firm); ``decide`` is the same computation for one firm, used by replay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Protocol

import numpy as np
from numpy.typing import NDArray

from node.scoring.policy import Band, DecisionPolicy

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


STATUSES: Final = ("ok", "no_record", "unauthorized", "refused", "offline", "deadline")
"""What a holder said about a firm, or why it said nothing (the code is the index)."""
OK: Final = 0
_NO_REASON: Final = -1


@dataclass(frozen=True)
class HolderReplies:
    """One holder's answers for n firms, column by column (row i is firm i).

    ``reason_codes`` (n x k) index ``categories`` (-1: none); only adverse contributions are
    named. ``flags`` (n x len(flag_codes)) are the coded flags raised. ``detail`` indexes
    ``details`` (-1: none): why a firm was refused, never a value.
    """

    party: str
    version: str
    status: NDArray[np.uint8]
    score: NDArray[np.float64]
    reason_codes: NDArray[np.int16]
    reason_values: NDArray[np.float64]
    categories: tuple[str, ...]
    flags: NDArray[np.bool_]
    flag_codes: tuple[str, ...]
    detail: NDArray[np.int16]
    details: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.status)

    @property
    def ok(self) -> NDArray[np.bool_]:
        result: NDArray[np.bool_] = self.status == OK
        return result

    @classmethod
    def gap(cls, party: str, status: str, n: int, detail: str = "") -> HolderReplies:
        """The same gap (``offline``, ``deadline``, ``refused``...) for all ``n`` firms."""
        return cls(
            party,
            "",
            np.full(n, STATUSES.index(status), np.uint8),
            np.zeros(n),
            np.full((n, 0), _NO_REASON, np.int16),
            np.zeros((n, 0)),
            (),
            np.zeros((n, 0), np.bool_),
            (),
            np.full(n, 0 if detail else -1, np.int16),
            (detail,) if detail else (),
        )

    @classmethod
    def of(cls, answers: Sequence[HolderAnswer]) -> HolderReplies:
        """Columns of per-firm answers of one holder (the one-row path and tests)."""
        n = len(answers)
        categories = tuple(sorted({c for a in answers for c, _ in a.reasons}))
        flag_codes = tuple(sorted({f for a in answers for f in a.flags}))
        details = tuple(sorted({a.detail for a in answers if a.detail}))
        width = max((len(a.reasons) for a in answers), default=0)
        codes = np.full((n, width), _NO_REASON, np.int16)
        values = np.zeros((n, width))
        flags = np.zeros((n, len(flag_codes)), np.bool_)
        for i, a in enumerate(answers):
            for j, (code, value) in enumerate(a.reasons):
                codes[i, j], values[i, j] = categories.index(code), value
            for f in a.flags:
                flags[i, flag_codes.index(f)] = True
        return cls(
            answers[0].party if answers else "",
            next((a.version for a in answers if a.version), ""),
            np.array([STATUSES.index(a.status) for a in answers], np.uint8),
            np.array([a.score if a.status == "ok" else 0.0 for a in answers]),
            codes,
            values,
            categories,
            flags,
            flag_codes,
            np.array([details.index(a.detail) if a.detail else -1 for a in answers], np.int16),
            details,
        )

    def row(self, i: int) -> HolderAnswer:
        status = STATUSES[int(self.status[i])]
        if status != "ok":
            k = int(self.detail[i])
            return HolderAnswer(
                self.party, status, self.version, detail=self.details[k] if k >= 0 else ""
            )
        return HolderAnswer(
            self.party,
            "ok",
            self.version,
            float(self.score[i]),
            tuple(
                (self.categories[c], float(v))
                for c, v in zip(
                    self.reason_codes[i].tolist(), self.reason_values[i].tolist(), strict=True
                )
                if c >= 0
            ),
            tuple(f for f, on in zip(self.flag_codes, self.flags[i].tolist(), strict=True) if on),
        )


@dataclass(frozen=True)
class Outcomes:
    """The outcomes of n decisions as columns; ``outcomes[i]`` is firm i's ``Outcome``.

    ``reason_codes`` index ``vocabulary`` (-1: none); ``knockouts`` (n x rules) says which of
    the policy's knock-out rules fired; ``statuses`` and ``gap_actions`` (n x holders) are
    each holder's status code and, for a gap, the action code the policy took (-1: none).
    """

    decision: NDArray[np.int8]
    pd: NDArray[np.float64]
    points: NDArray[np.float64]
    logit: NDArray[np.float64]
    limit: NDArray[np.float64]
    band: NDArray[np.int64]
    reason_codes: NDArray[np.int16]
    reason_values: NDArray[np.float64]
    vocabulary: tuple[str, ...]
    knockouts: NDArray[np.bool_]
    statuses: NDArray[np.uint8]
    gap_actions: NDArray[np.int8]
    parties: tuple[str, ...]
    party_versions: tuple[str, ...]
    bank_version: str
    bands: tuple[Band, ...]  # the policy's, which ``band`` indexes
    knockout_rules: tuple[tuple[str, str], ...]  # the policy's (flag, action), in order
    exposure_limit: float

    def __len__(self) -> int:
        return len(self.decision)

    def rows(self, start: int, end: int) -> Outcomes:
        """The outcomes of firms ``start`` to ``end`` (views, not copies)."""
        cut = slice(start, end)
        return replace(
            self, decision=self.decision[cut], pd=self.pd[cut], points=self.points[cut],
            logit=self.logit[cut], limit=self.limit[cut], band=self.band[cut],
            reason_codes=self.reason_codes[cut], reason_values=self.reason_values[cut],
            knockouts=self.knockouts[cut], statuses=self.statuses[cut],
            gap_actions=self.gap_actions[cut],
        )  # fmt: skip

    def __getitem__(self, i: int) -> Outcome:
        versions = {"bank": self.bank_version}
        gaps = []
        for h, party in enumerate(self.parties):
            status = int(self.statuses[i, h])
            if status == OK:
                versions[party] = self.party_versions[h]
            else:
                gaps.append((party, STATUSES[status], GAP_ACTIONS[int(self.gap_actions[i, h])]))
        band = self.bands[int(self.band[i])]
        reasons = tuple(
            (self.vocabulary[c], v)
            for c, v in zip(
                self.reason_codes[i].tolist(), self.reason_values[i].tolist(), strict=True
            )
            if c >= 0
        )
        fired = np.flatnonzero(self.knockouts[i]).tolist() if self.knockouts.size else []
        return Outcome(
            decision=_LABELS[int(self.decision[i])],
            pd=float(self.pd[i]),
            points=float(self.points[i]),
            logit=float(self.logit[i]),
            reasons=reasons,
            gaps=tuple(gaps),
            knockouts=tuple(self.knockout_rules[k] for k in fired),
            price_band=band.price_band,
            rate_bp=band.rate_bp,
            suggested_limit=float(self.limit[i]),
            exposure_limit=self.exposure_limit,
            versions=versions,
        )

    def columns(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        """(header, arrays) for a record or a columnar reply (``from_columns`` reads them)."""
        header: dict[str, Any] = {
            "vocabulary": list(self.vocabulary),
            "parties": list(self.parties),
            "party_versions": list(self.party_versions),
            "bank_version": self.bank_version,
            "bands": [[b.pd_below, b.limit, b.price_band, b.rate_bp] for b in self.bands],
            "knockout_rules": [list(k) for k in self.knockout_rules],
            "exposure_limit": self.exposure_limit,
        }
        arrays: dict[str, NDArray[Any]] = {
            "decision": self.decision, "pd": self.pd, "points": self.points,
            "logit": self.logit, "limit": self.limit, "band": self.band,
            "reason_codes": self.reason_codes, "reason_values": self.reason_values,
            "knockouts": self.knockouts, "statuses": self.statuses,
            "gap_actions": self.gap_actions,
        }  # fmt: skip
        return header, arrays

    @classmethod
    def from_columns(
        cls, header: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]
    ) -> Outcomes:
        """Read what ``columns`` wrote (raises ``KeyError``/``TypeError``/``ValueError``)."""
        bands = tuple(
            Band(float(p), float(lim), str(b), int(r)) for p, lim, b, r in header["bands"]
        )
        return cls(
            arrays["decision"], arrays["pd"], arrays["points"], arrays["logit"],
            arrays["limit"], arrays["band"], arrays["reason_codes"], arrays["reason_values"],
            tuple(header["vocabulary"]), arrays["knockouts"], arrays["statuses"],
            arrays["gap_actions"], tuple(header["parties"]), tuple(header["party_versions"]),
            str(header["bank_version"]), bands,
            tuple((str(f), str(a)) for f, a in header["knockout_rules"]),
            float(header["exposure_limit"]),
        )  # fmt: skip


_LABELS: Final = ("approve", "refer", "decline")
GAP_ACTIONS: Final = ("neutral", "refer", "decline")


def decide_many(
    policy: DecisionPolicy,
    *,
    head: Calibrated,
    names: Sequence[str],
    contributions: NDArray[np.float64],
    replies: Sequence[HolderReplies],
    amounts: NDArray[np.float64],
    bank_version: str,
) -> Outcomes:
    """Combine the bank's part and the holders' replies under ``policy``, for n firms.

    ``contributions`` is n x len(names), the bank's per-feature log-odds; ``head`` maps the
    total log-odds to a calibrated PD. A gap (a holder without an answer for a firm) adds
    nothing to that firm's log-odds (``neutral``: the firm is scored at that holder's
    average, 0 for standardised columns) and pushes its decision to at least what
    ``policy.missing`` says for that kind of gap. The decision is the most severe of the
    PD cut-off, each gap's action and each knock-out. Every step is a column operation.
    """
    n = len(amounts)
    logit = head.intercept + contributions.sum(axis=1)
    floor = np.zeros(n, np.int8)
    statuses = np.zeros((n, len(replies)), np.uint8)
    gap_actions = np.full((n, len(replies)), -1, np.int8)
    # action code per status code: -1 for ok, else the policy's action for that gap kind
    action_of = np.array(
        [-1] + [GAP_ACTIONS.index(policy.missing.get(s, "refer")) for s in STATUSES[1:]], np.int8
    )
    severity_of = np.array(
        [0] + [_SEVERITY.get(policy.missing.get(s, "refer"), 0) for s in STATUSES[1:]], np.int8
    )
    for h, reply in enumerate(replies):
        ok = reply.ok
        logit = logit + np.where(ok, reply.score, 0.0)
        statuses[:, h] = reply.status
        gap_actions[:, h] = action_of[reply.status]
        floor = np.maximum(floor, severity_of[reply.status])
    knockouts = np.zeros((n, len(policy.knockouts)), np.bool_)
    for k, (flag, action) in enumerate(policy.knockouts):
        for reply in replies:
            if flag in reply.flag_codes:
                knockouts[:, k] |= reply.ok & reply.flags[:, reply.flag_codes.index(flag)]
        floor = np.where(knockouts[:, k], np.maximum(floor, _SEVERITY[action]), floor)
    pd_values = np.asarray(head.probability(logit), dtype=np.float64)
    by_score = np.where(
        pd_values < policy.approve_below, 0, np.where(pd_values >= policy.decline_from, 2, 1)
    )
    decision = np.maximum(by_score, floor).astype(np.int8)
    bounds = np.array([b.pd_below for b in policy.bands])
    band_of = np.minimum(np.searchsorted(bounds, pd_values, side="right"), len(bounds) - 1)
    band_limit = np.array([b.limit for b in policy.bands])[band_of]
    limit = np.where(
        decision == 2, 0.0, np.minimum(np.minimum(band_limit, policy.exposure_limit), amounts)
    )
    codes, values, vocabulary = _top_reasons(names, contributions, replies)
    return Outcomes(
        decision, pd_values, np.asarray(policy.scorecard.points(logit), dtype=np.float64),
        logit, limit, band_of.astype(np.int64), codes, values, vocabulary, knockouts,
        statuses, gap_actions, tuple(r.party for r in replies),
        tuple(r.version for r in replies), bank_version, policy.bands, policy.knockouts,
        policy.exposure_limit,
    )  # fmt: skip


def _top_reasons(
    names: Sequence[str],
    contributions: NDArray[np.float64],
    replies: Sequence[HolderReplies],
) -> tuple[NDArray[np.int16], NDArray[np.float64], tuple[str, ...]]:
    """Per firm, at most ``MAX_REASONS`` adverse contributions, largest first (ties by code).

    Candidates are the bank's features by name and each answering holder's coded categories;
    ranking is one ``lexsort`` over an n x candidates matrix of values and code ranks.
    Returns (codes into the vocabulary, -1 for none; values; the sorted vocabulary).
    """
    n = contributions.shape[0]
    vocabulary = tuple(sorted({*names, *(c for r in replies for c in r.categories)}))
    rank = {c: k for k, c in enumerate(vocabulary)}
    blocks = [contributions]
    ranks = [np.broadcast_to(np.array([rank[c] for c in names], np.int64), contributions.shape)]
    for reply in replies:
        if not reply.reason_codes.shape[1]:
            continue
        usable = reply.ok[:, None] & (reply.reason_codes >= 0)
        blocks.append(np.where(usable, reply.reason_values, -np.inf))
        mapping = np.array([rank[c] for c in reply.categories] + [0], np.int64)
        ranks.append(mapping[reply.reason_codes])  # -1 indexes the trailing 0 (unused)
    values = np.hstack(blocks) if len(blocks) > 1 else contributions
    code_rank = np.hstack(ranks) if len(ranks) > 1 else ranks[0]
    order = np.lexsort((code_rank, -values), axis=-1)[:, :MAX_REASONS]
    top = np.take_along_axis(values, order, axis=1)
    top_codes = np.take_along_axis(code_rank, order, axis=1)
    adverse = top > 0
    codes = np.where(adverse, top_codes, -1).astype(np.int16)
    return codes.reshape(n, -1), np.where(adverse, top, 0.0), vocabulary


def top_adverse(
    by_category: NDArray[np.float64], k: int = MAX_REASONS
) -> tuple[NDArray[np.int16], NDArray[np.float64]]:
    """Per row, the ``k`` largest positive entries: (column indexes, -1 for none; values)."""
    top = np.argsort(-by_category, axis=1, kind="stable")[:, :k]
    values = np.take_along_axis(by_category, top, axis=1)
    adverse = values > 0
    return np.where(adverse, top, -1).astype(np.int16), np.where(adverse, values, 0.0)


def decide(
    policy: DecisionPolicy,
    *,
    head: Calibrated,
    bank_contributions: Mapping[str, float],
    answers: Sequence[HolderAnswer],
    amount: float,
    bank_version: str,
) -> Outcome:
    """``decide_many`` for one firm (tests): the same code, one row."""
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
