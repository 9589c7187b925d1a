"""Per-holder feed health: is each partner's panel current, complete and steady?

The holder measures its own feed for the bank's book at every refresh and reports counts,
months and PSI figures only (no firm, no value): ``FeedReport``. The bank turns a report, or
its absence, into data-quality issues. Every issue becomes an alert, and while any holder's
feed has an issue no borrower's warning level steps down (``watchlist.step(hold=...)``), so
a stale or broken feed can never show up as a quiet drop in warnings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from node.monitoring.policy import FeedLimits


@dataclass(frozen=True)
class FeedReport:
    """What a holder says about its feed for one refresh."""

    latest_month: str
    months_behind: int
    asked: int
    matched: int
    admitted: int
    missing_share: float  # admitted firms without a record in the refresh month (in panel)
    # each signal (model input) against the first refresh; empty while the feed is stale
    input_psi: Mapping[str, float] = field(default_factory=dict)
    # each raw figure of the month against the previous refresh; empty while stale
    jump_psi: Mapping[str, float] = field(default_factory=dict)
    version: str = ""  # the panel's version (latest month / digest of its file's stamp)

    @property
    def unmatched_share(self) -> float:
        return 1.0 - self.matched / self.asked if self.asked else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "input_psi": dict(self.input_psi), "jump_psi": dict(self.jump_psi)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FeedReport:
        return cls(
            latest_month=str(raw["latest_month"]),
            months_behind=int(raw["months_behind"]),
            asked=int(raw["asked"]),
            matched=int(raw["matched"]),
            admitted=int(raw["admitted"]),
            missing_share=float(raw["missing_share"]),
            input_psi={str(k): float(v) for k, v in dict(raw.get("input_psi") or {}).items()},
            jump_psi={str(k): float(v) for k, v in dict(raw.get("jump_psi") or {}).items()},
            version=str(raw.get("version", "")),
        )


@dataclass(frozen=True)
class FeedIssue:
    """One data-quality problem of one holder's feed (a code and a plain sentence)."""

    holder: str
    code: str
    detail: str


def feed_issues(
    holder: str,
    report: FeedReport | None,
    gap: str,
    limits: FeedLimits,
    jump_alert: float,
    previous_unmatched: float | None = None,
) -> list[FeedIssue]:
    """The issues of one holder's feed at this refresh (``gap``: why there was no report)."""
    if report is None:
        return [FeedIssue(holder, "FEED-UNAVAILABLE", f"no answer from {holder}: {gap or 'none'}")]
    issues = []
    if report.months_behind >= limits.stale_months:
        issues.append(
            FeedIssue(
                holder,
                "FEED-STALE",
                f"latest month {report.latest_month} is {report.months_behind} month(s) behind",
            )
        )
    if report.missing_share > limits.missing_share:
        issues.append(
            FeedIssue(
                holder,
                "FEED-MISSING",
                f"{report.missing_share:.0%} of matched borrowers have no record this month",
            )
        )
    if report.unmatched_share > limits.unmatched_share:
        issues.append(
            FeedIssue(
                holder, "FEED-UNMATCHED", f"{report.unmatched_share:.0%} of the book is unknown"
            )
        )
    if previous_unmatched is not None:
        change = report.unmatched_share - previous_unmatched
        if abs(change) > limits.unmatched_jump:
            issues.append(
                FeedIssue(
                    holder,
                    "FEED-UNMATCHED-JUMP",
                    f"unknown share of the book moved by {change:+.0%} since the last refresh",
                )
            )
    jumps = sorted((v, k) for k, v in report.jump_psi.items() if v >= jump_alert)
    if jumps:
        value, name = jumps[-1]
        issues.append(
            FeedIssue(
                holder,
                "FEED-JUMP",
                f"{len(jumps)} figure(s) jumped since the last refresh (largest PSI "
                f"{value:.2f}: {name})",
            )
        )
    return issues
