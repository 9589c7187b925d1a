"""Gather the breach-notification package for a principal (or a leaked file) and a window.

Everything comes from the node's own records, each item proven: the principal's access-log
entries in the window (every call, decision, release, score and refusal) with inclusion
proofs against a witnessed checkpoint; the releases it received (recipient certificate,
query, policy version, fields, rows, the firm tokens of the rows); the alerts raised and the
containment applied or lifted; and, for a leaked file, the trace that named the releases.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from node.audit.entry import AccessEntry, Action
from node.audit.search import SearchQuery
from node.governance.evidence import EntryProof
from node.governance.offline import NodeFiles
from node.governance.registry import RegisteredRelease
from node.governance.trace import TraceReport

MAX_ENTRIES: Final = 1_000_000
NODE_ACTIONS: Final = (Action.ALERT, Action.CONTAINMENT)


@dataclass(frozen=True)
class Access:
    """One access-log entry of the incident, with its proof (``None``: not yet signed)."""

    index: int
    entry: AccessEntry
    proof: EntryProof | None

    def to_dict(self) -> dict[str, Any]:
        """The entry as logged, plus its evidence."""
        return {
            "index": self.index,
            "time": self.entry.time,
            "actor": self.entry.actor.label(),
            "action": self.entry.action.value,
            "purpose": self.entry.purpose,
            "result": self.entry.result,
            "dataset": self.entry.dataset,
            "fields": list(self.entry.fields),
            "rows": self.entry.rows,
            "policy_version": self.entry.policy_version,
            "firm_tokens": list(self.entry.subjects),
            "details": dict(self.entry.details),
            "evidence": None if self.proof is None else self.proof.to_dict(),
        }


@dataclass(frozen=True)
class IncidentReport:
    """The package: scope, summary, releases, timeline, node actions, trace, checkpoint."""

    incident_id: str
    created: str
    node_id: str
    principals: tuple[str, ...]
    since: str | None
    until: str | None
    accesses: tuple[Access, ...]
    node_actions: tuple[Access, ...]
    releases: tuple[RegisteredRelease, ...]
    trace: TraceReport | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> dict[str, Any]:
        """Counts a regulator asks first: how many accesses, what left, to whom, when."""
        by_action = Counter(a.entry.action.value for a in self.accesses)
        left = [a for a in self.accesses if a.entry.action is Action.RELEASE]
        firms = {t for a in left for t in a.entry.subjects}
        times = [a.entry.time or "" for a in self.accesses]
        return {
            "accesses": len(self.accesses),
            "by_action": dict(sorted(by_action.items())),
            "first_access": min(times) if times else None,
            "last_access": max(times) if times else None,
            "releases": len(self.releases),
            "rows_released": sum(a.entry.rows or 0 for a in left),
            "distinct_firms_released": len(firms),
            "fields_released": sorted({f for a in left for f in a.entry.fields}),
            "policy_versions": sorted({r.record.policy_version for r in self.releases}),
            "recipients": sorted({r.principal for r in self.releases}),
            "alerts": sum(1 for a in self.node_actions if a.entry.action is Action.ALERT),
            "containment_actions": [
                f"{a.entry.time} {a.entry.details.get('operation')}"
                for a in self.node_actions
                if a.entry.action is Action.CONTAINMENT
            ],
            "unproven_entries": sum(1 for a in (*self.accesses, *self.node_actions) if not a.proof),
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON package."""
        return {
            "incident_id": self.incident_id,
            "created": self.created,
            "node_id": self.node_id,
            "scope": {
                "principals": list(self.principals),
                "since": self.since,
                "until": self.until,
            },
            "summary": self.summary(),
            "releases": [r.to_dict() for r in self.releases],
            "timeline": [a.to_dict() for a in self.accesses],
            "node_actions": [a.to_dict() for a in self.node_actions],
            "trace": None if self.trace is None else self.trace.to_dict(),
            "notes": list(self.notes),
        }


def _concerns(entry: AccessEntry, principals: tuple[str, ...]) -> bool:
    who = str(entry.details.get("principal", ""))
    return any(who == p or who.startswith(p + "/") for p in principals)


def _proven(node: NodeFiles, hits: list[tuple[int, AccessEntry]]) -> tuple[Access, ...]:
    return tuple(Access(i, e, node.prover.prove(i)) for i, e in hits)


def collect_incident(
    node: NodeFiles,
    principals: tuple[str, ...],
    since: str | None = None,
    until: str | None = None,
    trace: TraceReport | None = None,
) -> IncidentReport:
    """Build the package for ``principals`` (``org``, ``org/node`` or ``org/node/role``) in
    ``[since, until)`` (UTC times or prefixes, e.g. ``2026-11-30T02``).

    Raises
    ------
    InvalidProof
        A proof does not verify: the log was altered (run ``fedcredit-audit verify``).
    """
    reader = node.reader
    accesses: list[tuple[int, AccessEntry]] = []
    for principal in principals:
        accesses += reader.search(SearchQuery(principal, None, since, until, limit=MAX_ENTRIES))
    accesses.sort(key=lambda hit: hit[0])
    actions: list[tuple[int, AccessEntry]] = []
    for action in NODE_ACTIONS:
        hits = reader.search(SearchQuery(None, action, since, until, limit=MAX_ENTRIES))
        actions += [(i, e) for i, e in hits if _concerns(e, principals)]
    actions.sort(key=lambda hit: hit[0])
    releases = [
        r
        for p in principals
        for r in node.registry.releases(p, _registry_time(since), _registry_time(until))
    ]
    notes = []
    if trace is not None:
        traced = {m.release.record.release_id for m in trace.matches}
        known = {r.record.release_id for r in releases}
        releases += [m.release for m in trace.matches if m.release.record.release_id not in known]
        notes.append(f"releases named by the trace of {trace.source}: {', '.join(sorted(traced))}")
    return IncidentReport(
        incident_id=uuid.uuid4().hex,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        node_id=node.node_id,
        principals=principals,
        since=since,
        until=until,
        accesses=_proven(node, accesses),
        node_actions=_proven(node, actions),
        releases=tuple(sorted(releases, key=lambda r: r.record.at)),
        trace=trace,
        notes=tuple(notes),
    )


def _registry_time(stamp: str | None) -> str | None:
    """Release records carry ``+00:00`` where the log writes ``Z``; a prefix works for both."""
    return None if stamp is None else stamp.rstrip("Z")
