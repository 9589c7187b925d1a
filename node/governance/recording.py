"""How governance components write to the node's access log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from node.audit import Actor


class Record(Protocol):
    """Writes an access-log entry and returns its index (``AuditSink.record``): the node is
    the actor unless ``actor`` names another (the recipient of a release)."""

    def __call__(
        self, action: str, details: Mapping[str, object], actor: Actor | None = None
    ) -> int | None: ...
