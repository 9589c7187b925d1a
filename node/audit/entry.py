"""Access-log entries and their canonical, versioned byte encoding.

The Merkle log hashes entry *bytes*, so one entry must have exactly one encoding, now and in
every later version of this code: otherwise an honest re-encoding would look like tampering.
The encoding (``docs/audit-log.md``) is JSON with sorted keys, no white space, ASCII only
(non-ASCII escaped), every key always present, integers and strings only (no floats, whose
text form differs between implementations), and a version number ``v``. ``decode`` accepts
only bytes that re-encode to themselves.

Entries never hold raw identifiers: subjects are tokens from ``FirmTokenizer``, and every
free-text field is scanned for unified social credit codes and resident ID numbers, which are
refused with ``RawIdentifierError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from node.audit.exceptions import InvalidEntry, RawIdentifierError
from node.audit.tokens import all_tokens
from node.data.identifiers import contains_raw_identifier

ENTRY_VERSION: Final = 1
TIME_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_KEYS: Final = frozenset(
    {"v", "seq", "time", "actor", "action", "purpose", "result", "job", "dataset", "fields"}
    | {"rows", "policy", "subjects", "details"}
)
DetailValue = str | int | bool


class Action(StrEnum):
    """What was done. Every node RPC, protocol run and admin event maps to one of these."""

    READ = "read"
    TRAINING_USE = "training_use"
    SCORE = "score"
    RELEASE = "release"
    POLICY_CHANGE = "policy_change"
    ADMIN = "admin"
    DENIAL = "denial"
    PSI_RUN = "psi_run"
    CERTIFICATE = "certificate"
    JOB = "job"
    RELAY = "relay"
    ALERT = "alert"  # the access monitor flagged a principal (node.governance)
    CONTAINMENT = "containment"  # a principal throttled, suspended or lifted


@dataclass(frozen=True)
class Actor:
    """Who acted, as named by their mTLS certificate: organization, node and role."""

    organization: str
    node: str
    role: str

    def label(self) -> str:
        """Return ``organization/node/role``, the form ``search`` matches on."""
        return f"{self.organization}/{self.node}/{self.role}"


def _refuse_raw_ids(name: str, value: str) -> None:
    if contains_raw_identifier(value):
        raise RawIdentifierError(name)


def _check_text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidEntry(name, f"must be a string, got {type(value).__name__}")
    _refuse_raw_ids(name, value)
    return value


@dataclass(frozen=True)
class AccessEntry:
    """One access-log record: who did what, to which data, why, and with what result.

    ``seq`` and ``time`` are stamped by the log at append time; callers leave them ``None``.
    ``rows`` is a count, ``fields`` are field *names*, ``subjects`` are firm tokens; none of
    them may ever hold a value from the data itself.

    Raises
    ------
    InvalidEntry
        A field has the wrong type or shape (e.g. a subject that is not a token, a float in
        ``details``, a negative row count).
    RawIdentifierError
        A text field holds a unified social credit code or resident ID number.
    """

    actor: Actor
    action: Action
    purpose: str
    result: str
    job_id: str = ""
    dataset: str = ""
    fields: tuple[str, ...] = ()
    rows: int | None = None
    policy_version: str = ""
    subjects: tuple[str, ...] = ()
    details: Mapping[str, DetailValue] = field(default_factory=dict)
    seq: int | None = None
    time: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.actor, Actor):
            raise InvalidEntry("actor", "must be an Actor(organization, node, role)")
        for part in ("organization", "node", "role"):
            _check_text(f"actor.{part}", getattr(self.actor, part))
        try:
            object.__setattr__(self, "action", Action(self.action))
        except ValueError:
            allowed = ", ".join(a.value for a in Action)
            raise InvalidEntry("action", f"must be one of: {allowed}") from None
        for name in ("purpose", "result", "job_id", "dataset", "policy_version"):
            _check_text(name, getattr(self, name))
        fields = tuple(sorted(_check_text("fields", f) for f in self.fields))
        object.__setattr__(self, "fields", fields)
        if not all_tokens(self.subjects):
            raise InvalidEntry(
                "subjects",
                "must hold tokens from FirmTokenizer.token ('ft:' and 32 hex digits), "
                "never raw identifiers",
            )
        subjects = tuple(sorted(set(self.subjects)))
        object.__setattr__(self, "subjects", subjects)
        if self.rows is not None and (
            isinstance(self.rows, bool) or not isinstance(self.rows, int) or self.rows < 0
        ):
            raise InvalidEntry("rows", "must be a non-negative integer row count or None")
        details: dict[str, DetailValue] = {}
        for key, value in self.details.items():
            _check_text("details key", key)
            if isinstance(value, str):
                _check_text(f"details[{key!r}]", value)
            elif not isinstance(value, int):  # bool is an int
                raise InvalidEntry(
                    f"details[{key!r}]",
                    f"must be str, int or bool, got {type(value).__name__}; "
                    "format floats as strings so the encoding stays canonical",
                )
            details[key] = value
        object.__setattr__(self, "details", MappingProxyType(details))
        if self.seq is not None and (isinstance(self.seq, bool) or self.seq < 0):
            raise InvalidEntry("seq", "must be a non-negative integer")
        if self.time is not None and not TIME_RE.match(self.time):
            raise InvalidEntry("time", "must be UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ'")

    def stamped(self, seq: int, time: str) -> AccessEntry:
        """Return a copy carrying its position in the log and its UTC time."""
        return replace(self, seq=seq, time=time)

    def to_json_obj(self) -> dict[str, Any]:
        """Return the entry as the JSON object its canonical encoding serializes.

        Raises
        ------
        InvalidEntry
            ``seq`` or ``time`` is not set yet (only stamped entries have an encoding).
        """
        if self.seq is None or self.time is None:
            raise InvalidEntry("seq", "entry is not stamped; only the log assigns seq and time")
        return self._json_obj(self.seq, self.time)

    def _json_obj(self, seq: int, time: str) -> dict[str, Any]:
        return {
            "v": ENTRY_VERSION,
            "seq": seq,
            "time": time,
            "actor": {
                "org": self.actor.organization,
                "node": self.actor.node,
                "role": self.actor.role,
            },
            "action": self.action.value,
            "purpose": self.purpose,
            "result": self.result,
            "job": self.job_id,
            "dataset": self.dataset,
            "fields": list(self.fields),
            "rows": self.rows,
            "policy": self.policy_version,
            "subjects": list(self.subjects),
            "details": dict(self.details),
        }


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def encode(entry: AccessEntry) -> bytes:
    """Return the canonical bytes of a stamped entry: the bytes the Merkle leaf hashes.

    Raises
    ------
    InvalidEntry
        The entry is not stamped with ``seq`` and ``time``.
    """
    return _dumps(entry.to_json_obj())


def encode_at(entry: AccessEntry, seq: int, time: str) -> bytes:
    """Return the canonical bytes ``entry`` has once stamped with ``seq`` and ``time``.

    The log's append path: it stamps without building a second validated dataclass.
    ``time`` must already be in the log's format; ``seq`` is the log's own counter.
    """
    return _dumps(entry._json_obj(seq, time))


def decode(data: bytes) -> AccessEntry:
    """Parse canonical entry bytes back into an ``AccessEntry``.

    Raises
    ------
    InvalidEntry
        The bytes are not JSON, not version 1, lack or add keys, or are not in canonical
        form (they would not re-encode to themselves).
    """
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidEntry("encoding", "is not JSON") from None
    if not isinstance(obj, dict):
        raise InvalidEntry("encoding", "is not a JSON object")
    if obj.get("v") != ENTRY_VERSION:
        raise InvalidEntry("v", f"unsupported entry version; this code reads v{ENTRY_VERSION}")
    if set(obj) != _KEYS:
        raise InvalidEntry("encoding", "has missing or unknown keys")
    actor = obj["actor"]
    if not isinstance(actor, dict) or set(actor) != {"org", "node", "role"}:
        raise InvalidEntry("actor", "must be an object with org, node and role")
    try:
        entry = AccessEntry(
            actor=Actor(actor["org"], actor["node"], actor["role"]),
            action=obj["action"],
            purpose=obj["purpose"],
            result=obj["result"],
            job_id=obj["job"],
            dataset=obj["dataset"],
            fields=tuple(obj["fields"]),
            rows=obj["rows"],
            policy_version=obj["policy"],
            subjects=tuple(obj["subjects"]),
            details=obj["details"],
            seq=obj["seq"],
            time=obj["time"],
        )
    except (TypeError, AttributeError):
        raise InvalidEntry("encoding", "has a value of the wrong type") from None
    if encode(entry) != bytes(data):
        raise InvalidEntry("encoding", "is not canonical (would not re-encode to the same bytes)")
    return entry


@dataclass(frozen=True)
class IndexColumns:
    """What the store's search columns must say about an entry, read from its hashed bytes.

    ``seq`` is the position the entry claims; the rest mirror the ``entries`` columns
    ``time``, ``actor``, ``action``, ``job``, ``dataset`` and the ``subjects`` rows.
    """

    seq: int
    time: str
    actor: str
    action: str
    job: str
    dataset: str
    subjects: tuple[str, ...]

    def row(self) -> tuple[str, str, str, str, str]:
        """The five text columns in store order: time, actor, action, job, dataset."""
        return (self.time, self.actor, self.action, self.job, self.dataset)


def _text(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def peek_index(data: bytes) -> IndexColumns | None:
    """Return the position and search columns an entry's bytes imply, or ``None``.

    One JSON parse, no validation or re-encoding (``verify`` runs it on every entry, and a
    full ``decode`` would double its cost); ``None`` when the bytes are not an entry object.
    """
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    seq, actor, subjects = obj.get("seq"), obj.get("actor"), obj.get("subjects")
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(actor, dict):
        return None
    parts = [actor.get(k) for k in ("org", "node", "role")]
    texts = [_text(obj, k) for k in ("time", "action", "job", "dataset")]
    if not isinstance(subjects, list) or not all(isinstance(s, str) for s in subjects):
        return None
    if not all(isinstance(x, str) for x in parts) or None in texts:
        return None
    time, action, job, dataset = (str(t) for t in texts)
    label = "/".join(str(x) for x in parts)
    return IndexColumns(seq, time, label, action, job, dataset, tuple(subjects))


def peek_seq(data: bytes) -> int | None:
    """Return the ``seq`` an entry's bytes claim, or ``None`` when they do not parse.

    Cheaper than ``decode`` (no validation, no re-encoding).
    """
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    seq = obj.get("seq") if isinstance(obj, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def peek_time(data: bytes) -> str | None:
    """Return the ``time`` an entry's bytes claim, or ``None`` when they do not parse."""
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    value = obj.get("time") if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None
