"""Which holder flags should be soft: a flag's track record against its level's PD cut-off.

A flag the policy puts at orange says "this borrower is as risky as an orange PD". Where the
flag's cohort at this bank defaulted less often within the horizon than the orange cut-off,
the flag does not bear out its level: as a hard rule it would fill the list's room with false
alarms, so it should be soft (``soft_flags``: it still lists the borrower at its level but
competes by PD for the room). A flag judged on fewer than ``min_raised`` raisings keeps what
the policy says: a handful of borrower-months says nothing of a track record.

The proposal is written into the policy file only on request (``soft_flags_text``): the
line is replaced in place, the file's comments stay, and the new text is validated before it
is written.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from node.monitoring.exceptions import MonitoringError, MonitoringPolicyError
from node.monitoring.flag_record import FlagRecord, flag_record
from node.monitoring.panel import month_name, month_number
from node.monitoring.policy import LEVELS, MonitoringPolicy, parse_monitoring_policy
from node.monitoring.store import MonitoringStore

# Fewer raisings (borrower-months with a known outcome) than this say nothing of a flag.
MIN_RAISED: Final = 30
SOFT: Final = "soft"
HARD: Final = "hard"
TOO_FEW: Final = "too_few"


class TooLittleHistory(MonitoringError):
    """No flag of the policy has enough raisings with a known outcome to be judged."""


@dataclass(frozen=True)
class FlagVerdict:
    """One policy flag: its level's cut-off, its record, what it is now and what it should be."""

    code: str
    level: str
    cutoff: float  # the PD from which the flag's level starts
    record: FlagRecord
    now: str  # soft or hard in the policy as it is
    proposed: str  # soft, hard, or too_few (judged on too few raisings: left as it is)


def review_flags(
    policy: MonitoringPolicy, record: Mapping[str, FlagRecord], min_raised: int = MIN_RAISED
) -> list[FlagVerdict]:
    """A verdict for every flag the policy lists above green, by code."""
    verdicts = []
    for code, level in sorted(policy.flags.items()):
        if level < 1:
            continue
        cutoff = policy.pd_levels[level - 1]
        seen = record.get(code, FlagRecord(code, 0, 0))
        if seen.raised < min_raised:
            proposed = TOO_FEW
        else:
            proposed = SOFT if seen.default_rate < cutoff else HARD
        now = SOFT if code in policy.soft_flags else HARD
        verdicts.append(FlagVerdict(code, LEVELS[level], cutoff, seen, now, proposed))
    return verdicts


def proposed_soft_flags(verdicts: Collection[FlagVerdict]) -> frozenset[str]:
    """The soft flags the verdicts give: those judged soft, and those judged on too few
    raisings that the policy already makes soft."""
    return frozenset(
        v.code for v in verdicts if v.proposed == SOFT or (v.proposed == TOO_FEW and v.now == SOFT)
    )


@dataclass(frozen=True)
class Review:
    """A review of the policy's flags on the bank's own history."""

    verdicts: list[FlagVerdict]
    record: dict[str, FlagRecord]  # every flag received, the policy's or not
    months: list[str]  # refresh months whose flags the store keeps, oldest first
    through: str  # the last month the default records cover
    horizon: int
    soft: frozenset[str]  # the soft flags the review proposes


def review_history(
    store: MonitoringStore,
    policy: MonitoringPolicy,
    default_month: Mapping[str, str],
    horizon: int,
    through: str = "",
    min_raised: int = MIN_RAISED,
) -> Review:
    """Review the policy's flags on the flags the store kept and the bank's default months
    (``default_month``: borrower token -> ``YYYY-MM``). ``through`` is the last month the
    default records cover (default: the latest month whose flags are kept).

    Raises
    ------
    TooLittleHistory
        The store keeps no flags yet, or no flag of the policy was raised on ``min_raised``
        borrower-months whose outcome is known; the message names the minimum and the fix.
    """
    months, raised = store.flag_history()
    if not months:
        raise TooLittleHistory(
            "too little history: the watch-list store keeps no refresh's flags yet (each "
            "refresh keeps the flags it received); review after at least "
            f"{horizon + 1} monthly refreshes, {min_raised} or more raisings per flag"
        )
    last = month_number(through or months[-1])
    record = flag_record(
        ((firm, month_number(month), code) for firm, month, code in raised),
        {firm: month_number(month) for firm, month in default_month.items()},
        horizon,
        last,
    )
    verdicts = review_flags(policy, record, min_raised)
    if verdicts and all(v.proposed == TOO_FEW for v in verdicts):
        judged = [m for m in months if month_number(m) + horizon <= last]
        raise TooLittleHistory(
            f"too little history to judge any flag: each needs at least {min_raised} "
            f"borrower-months raised whose {horizon}-month outcome is known, the most is "
            f"{max(v.record.raised for v in verdicts)} (flags kept for {len(months)} "
            f"month(s), {months[0]} to {months[-1]}, {len(judged)} of them {horizon} or more "
            f"months before {month_name(last)}); keep refreshing monthly and review again "
            "later, or judge on fewer with --min-raised"
        )
    return Review(
        verdicts, record, months, month_name(last), horizon, proposed_soft_flags(verdicts)
    )


def review_dict(review: Review) -> dict[str, Any]:
    """The review as JSON: counts, rates and cut-offs only."""
    return {
        "horizon": review.horizon,
        "months": review.months,
        "through": review.through,
        "flags": [
            {"code": v.code, "level": v.level, "from_pd": v.cutoff, "raised": v.record.raised,
             "defaulted": v.record.defaulted, "default_rate": round(v.record.default_rate, 4),
             "now": v.now, "proposed": v.proposed}
            for v in review.verdicts
        ],
        "received": {code: {"raised": r.raised, "defaulted": r.defaulted}
                     for code, r in review.record.items()},
        "soft_flags": sorted(review.soft),
    }  # fmt: skip


_SOFT_LINE: Final = re.compile(r"^soft_flags:(?P<value>[^#\n]*)(?P<comment>#.*)?$", re.MULTILINE)
_BLOCK_ITEM: Final = re.compile(r"^[ \t]*-( .*)?$")


def soft_flags_text(text: str, soft: Collection[str], source: str) -> str:
    """The policy ``text`` (a valid policy) with its ``soft_flags`` set to ``soft``: the
    top-level entry replaced in place (its comment kept), or added at the end; checked to
    read back as the same policy but for ``soft_flags``.

    Raises
    ------
    node.monitoring.exceptions.MonitoringPolicyError
        ``soft`` names a flag the policy lacks, or the entry is written in a form this
        cannot replace in place (comments or blank lines inside a block list, a flow list
        over several lines): the message gives the line to set by hand.
    """
    before = parse_monitoring_policy(text, source)
    value = "soft_flags: [" + ", ".join(sorted(soft)) + "]"
    found = _SOFT_LINE.search(text)
    if found is None:
        new = text + ("\n" if text and not text.endswith("\n") else "") + value + "\n"
    else:
        comment = f"  {found['comment']}" if found["comment"] else ""
        end = found.end()
        if not found["value"].strip():  # a block list: its "- CODE" lines go too
            lines = text[end + 1 :].split("\n")
            items = 0
            while items < len(lines) and _BLOCK_ITEM.match(lines[items]):
                items += 1
            end += sum(len(line) + 1 for line in lines[:items])
        new = text[: found.start()] + value + comment + text[end:]
    try:
        after = parse_monitoring_policy(new, source)
    except MonitoringPolicyError:
        if not set(soft) <= set(before.flags):
            raise  # the proposal's fault: the message names soft_flags
        after = None
    if after is None or after != replace(
        before, soft_flags=frozenset(soft), text=after.text, version=after.version
    ):
        raise MonitoringPolicyError(
            source,
            "cannot be rewritten in place (a comment, blank line or multi-line list inside "
            "it); the file is unchanged",
            fix=f"set it by hand: {value}",
            key="soft_flags",
        )
    return new


def write_soft_flags(path: Path, policy: MonitoringPolicy, soft: Collection[str]) -> None:
    """Set ``soft_flags`` in the policy file at ``path`` (``policy`` is what it holds now):
    the whole new file or none of it; a running node applies it at its next refresh.

    Raises
    ------
    node.monitoring.exceptions.MonitoringPolicyError
        The new text would not be a valid policy.
    OSError
        The file cannot be written.
    """
    new = soft_flags_text(policy.text, soft, str(path))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(new)
    shutil.copymode(path, tmp)
    os.replace(tmp, path)
