"""What the engine decided, as plain records the access log can take over.

A decision names who asked (organization, node id, role from the certificate), for what
purpose, on which dataset and fields, under which policy version, and per field which rule and
transformation applied. It never holds a data value, so it can be written to any log as is.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from threading import Lock
from typing import Any

from node.policy.exceptions import MissingRule


def utc_now() -> str:
    """The current time as an ISO 8601 UTC timestamp (what decisions and releases record)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class FieldDecision:
    """How one field leaves: the transformation and the rule (``file:line``) that chose it,
    and the error the rule allows in the released value (``None``: exact)."""

    field: str
    field_class: str
    transform: str
    rule: str
    tolerance: float | None = None

    def to_dict(self) -> dict[str, str]:
        """Plain form for the access log."""
        return {
            "field": self.field,
            "field_class": self.field_class,
            "transform": self.transform,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class Decision:
    """One enforcement decision, allowed or denied.

    Attributes
    ----------
    allowed
        Whether the request may proceed.
    code
        ``allowed`` or the denial code of the ``PolicyDenied`` subclass raised.
    version
        Content hash of the policy that decided.
    fields
        Per-field outcome (empty for purpose-only checks and for denials).
    missing
        For a ``missing_rule`` denial, the rules that would have been needed.
    """

    allowed: bool
    code: str
    version: str
    organization: str
    node_id: str
    role: str
    purpose: str
    dataset: str | None = None
    requested: tuple[str, ...] = ()
    fields: tuple[FieldDecision, ...] = ()
    missing: tuple[MissingRule, ...] = ()
    reason: str = ""
    at: str = field(default_factory=utc_now)
    decision_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def released(self) -> tuple[str, ...]:
        """The fields that leave (every allowed field whose transformation is not ``drop``)."""
        return tuple(f.field for f in self.fields if f.transform != "drop")

    def to_dict(self) -> dict[str, Any]:
        """Plain form for the access log."""
        return {
            "decision_id": self.decision_id,
            "at": self.at,
            "allowed": self.allowed,
            "code": self.code,
            "policy_version": self.version,
            "organization": self.organization,
            "node_id": self.node_id,
            "role": self.role,
            "purpose": self.purpose,
            "dataset": self.dataset,
            "requested": list(self.requested),
            "fields": [f.to_dict() for f in self.fields],
            "missing": [m.to_dict() for m in self.missing],
            "reason": self.reason,
        }


DecisionSink = Callable[[Decision], None]


class DecisionLog:
    """A bounded in-memory record of recent decisions: the default sink until the access log
    takes over (pass its writer as the engine's ``on_decision``).
    """

    def __init__(self, maxlen: int = 10_000) -> None:
        self._items: deque[Decision] = deque(maxlen=maxlen)
        self._lock = Lock()

    def __call__(self, decision: Decision) -> None:
        """Record ``decision``."""
        with self._lock:
            self._items.append(decision)

    def snapshot(self) -> list[Decision]:
        """The decisions recorded so far, oldest first."""
        with self._lock:
            return list(self._items)
