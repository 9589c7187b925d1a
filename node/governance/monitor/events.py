"""What the access monitor watches: one event per principal action, read from the access log.

The node's access log already records every call (the authentication layer's entry), every
refusal, every release and every score with who, what, how many rows and which firm tokens.
The monitor reads those entries (``event_from_entry``) instead of being called from each RPC,
so anything that writes the log (a scoring service, a future RPC) feeds it without changes.
Other components may also call ``AccessMonitor.observe`` with an ``AccessEvent`` directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from node.audit.entry import AccessEntry, Action

# Refusals that containment itself caused (their catalog codes); they are not probing.
CONTAINED_CODES: Final = ("access.suspended", "access.throttled")
# What a score's entry names as its basis: the loan application the scoring service logged
# (``node.scoring``); or, on a monitoring answer only (``MONITORING_PURPOSE``, written by
# ``node.monitoring.holder``), the stored post-loan monitoring authorization records the
# holder checked for every firm it answered. A scoring holder also lists the authorizations
# it checked, but a score's basis is its application.
APPLICATION_BASIS: Final = ("application", "application_refs")
MONITORING_PURPOSE: Final = "monitoring"
MONITORING_BASIS: Final = "authorizations"


class EventKind(StrEnum):
    """The kinds of principal actions the detectors count."""

    CALL = "call"  # an RPC the node accepted at the door
    DENIAL = "denial"  # a call or a data request refused
    RELEASE = "release"  # a table left the node
    SCORE = "score"  # a firm was scored for the principal


@dataclass(frozen=True)
class AccessEvent:
    """One action of one principal (``organization/node/role`` of its certificate).

    ``subjects`` are firm tokens (never ids); ``query`` a digest of a release query;
    ``covered`` whether a score had a basis beyond the caller's wish: a loan application on
    file, or the firms' post-loan monitoring authorizations (scores without one are how
    enumeration looks); ``contained`` marks refusals containment caused.
    """

    time: float
    principal: str
    kind: EventKind
    rows: int = 0
    fields: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    query: str = ""
    covered: bool = False
    contained: bool = False
    log_index: int | None = None


def entry_time(entry: AccessEntry) -> float:
    """The entry's UTC time as Unix seconds."""
    stamp = (entry.time or "").replace("Z", "+00:00")
    return datetime.fromisoformat(stamp).timestamp()


def event_from_entry(index: int, entry: AccessEntry, own: str) -> AccessEvent | None:
    """The monitor's view of log entry ``index``; ``None`` for what it does not count.

    ``own`` is this node's actor label: the node's own entries (jobs, alerts, containment,
    administration) are not a principal's actions. Policy decisions that accompany an
    accepted call are not counted again (the call's own entry is), nor are the per-firm
    notes the consent layer adds to a release. A score is covered when its entry names a
    basis (``_has_basis``).
    """
    principal = entry.actor.label()
    if principal == own:
        return None
    at, details = entry_time(entry), entry.details
    if entry.action is Action.DENIAL and "release_id" in details:
        return None  # firms withheld from a release that went out: not a refused request
    if entry.action is Action.DENIAL:
        contained = any(f"(error {code})" in entry.result for code in CONTAINED_CODES)
        return AccessEvent(
            at, principal, EventKind.DENIAL, fields=entry.fields, contained=contained,
            log_index=index,
        )  # fmt: skip
    if entry.action is Action.READ:
        return (
            AccessEvent(at, principal, EventKind.CALL, log_index=index)
            if "rpc" in details
            else None
        )
    if entry.action is Action.RELEASE and "sha256" not in details:
        return None  # a note naming the firms of a release already counted by its own entry
    if entry.action in (Action.RELEASE, Action.SCORE):
        score = entry.action is Action.SCORE
        return AccessEvent(
            at,
            principal,
            EventKind.SCORE if score else EventKind.RELEASE,
            rows=entry.rows if entry.rows is not None else len(entry.subjects),
            fields=entry.fields,
            subjects=entry.subjects,
            query=str(details.get("query_digest", "")),
            covered=score and _has_basis(entry),
            log_index=index,
        )
    return None


def _has_basis(entry: AccessEntry) -> bool:
    """Whether a score's entry names a basis beyond the caller's wish: the application the
    scoring service logged, or, on a monitoring answer, the stored authorizations the holder
    checked (a bank refreshing its whole book each month is not walking the register).

    Both are the bank's word: a holder cannot check that an application exists, and an
    authorization record carries the document hash and collector the bank declared. They
    make a score auditable, not true; so the baseline's firms-per-hour still covers a
    principal scoring far more firms than it usually does, basis or not
    (``docs/governance.md``, "What the detectors do not catch").
    """
    details = entry.details
    if any(details.get(key) for key in APPLICATION_BASIS):
        return True
    return entry.purpose == MONITORING_PURPOSE and bool(details.get(MONITORING_BASIS))
