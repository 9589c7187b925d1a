"""The auditor's view of one firm: every use at this node and the authorization behind it.

An entry that used the firm's data (a score answered, a release) must cite an authorization
record that, in this node's store, belongs to the same firm, names the entry's organization as
recipient, covers the purpose and was valid (not expired, not yet revoked) at the entry's time.
Any such use without one is flagged; refusals are listed for completeness (nothing was used).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from node.audit.entry import Action
from node.audit.reader import LogReader
from node.audit.search import SearchQuery
from node.consent.exceptions import UnknownAuthorization
from node.consent.store import ConsentStore

_USES = {Action.SCORE: "scoring", Action.RELEASE: "release", Action.TRAINING_USE: "training"}


@dataclass(frozen=True)
class Use:
    seq: int
    time: str
    actor: str
    action: str
    result: str
    authorization: str  # the covering record id, or ""
    flag: bool  # a use of the firm's data that no authorization covered


def _seconds(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def uses_of(reader: LogReader, store: ConsentStore, token: str) -> list[Use]:
    """Every log entry naming ``token``, oldest first, with its covering authorization."""
    out = []
    for seq, entry in reader.search(SearchQuery(subject=token, limit=100_000)):
        purpose = _USES.get(entry.action)
        cited = str(entry.details.get("authorizations", ""))
        covering = ""
        if purpose is not None and entry.result == "allowed":
            at = _seconds(entry.time or "")
            for record_id in filter(None, cited.split(",")):
                try:
                    record = store.get(record_id)
                except UnknownAuthorization:
                    continue
                if record.subject == token and record.covers(entry.actor.organization, purpose, at):
                    covering = record_id
                    break
        flag = purpose is not None and entry.result == "allowed" and not covering
        out.append(
            Use(
                seq,
                entry.time or "",
                entry.actor.label(),
                entry.action.value,
                entry.result,
                covering,
                flag,
            )
        )
    return out
