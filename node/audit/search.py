"""Auditor queries over the access log: by actor, action, time range, job, dataset, firm token.

The store keeps a few columns beside each entry's bytes only to find candidates fast; those
columns are not covered by the Merkle tree, so every candidate is decoded and re-checked with
``SearchQuery.matches`` against the hashed bytes before it is returned. A tampered index column
can hide an entry from a search (``verify`` catches that), but never fake a match.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.audit.entry import AccessEntry, Action


@dataclass(frozen=True)
class SearchQuery:
    """What to look for; ``None`` means "any". All given criteria must hold.

    Attributes
    ----------
    actor
        ``organization``, ``organization/node`` or ``organization/node/role``.
    action
        One ``Action``.
    since, until
        UTC times in the log's format (a prefix such as ``2026-11-29`` works): ``since`` is
        inclusive, ``until`` exclusive.
    job_id, dataset
        Exact match.
    subject
        A firm token (``FirmTokenizer.token``); only the node's operator can compute it.
    limit
        At most this many results, oldest first.
    """

    actor: str | None = None
    action: Action | None = None
    since: str | None = None
    until: str | None = None
    job_id: str | None = None
    dataset: str | None = None
    subject: str | None = None
    limit: int = 1000

    def sql(self) -> tuple[str, list[object]]:
        """Return a ``WHERE`` clause (without the keyword) and its parameters."""
        clauses: list[str] = []
        params: list[object] = []
        if self.actor is not None:
            clauses.append("(actor = ? OR substr(actor, 1, ?) = ?)")
            params += [self.actor, len(self.actor) + 1, self.actor + "/"]
        if self.action is not None:
            clauses.append("action = ?")
            params.append(Action(self.action).value)
        if self.since is not None:
            clauses.append("time >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("time < ?")
            params.append(self.until)
        if self.job_id is not None:
            clauses.append("job = ?")
            params.append(self.job_id)
        if self.dataset is not None:
            clauses.append("dataset = ?")
            params.append(self.dataset)
        if self.subject is not None:
            clauses.append("idx IN (SELECT idx FROM subjects WHERE token = ?)")
            params.append(self.subject)
        return (" AND ".join(clauses) or "1"), params

    def matches(self, entry: AccessEntry) -> bool:
        """Whether the decoded, hashed entry really meets every criterion."""
        label = entry.actor.label()
        checks = (
            self.actor is None or label == self.actor or label.startswith(self.actor + "/"),
            self.action is None or entry.action == Action(self.action),
            self.since is None or (entry.time or "") >= self.since,
            self.until is None or (entry.time or "") < self.until,
            self.job_id is None or entry.job_id == self.job_id,
            self.dataset is None or entry.dataset == self.dataset,
            self.subject is None or self.subject in entry.subjects,
        )
        return all(checks)
