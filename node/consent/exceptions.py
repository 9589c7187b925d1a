"""Failures of authorization records and checks."""

from __future__ import annotations

from typing import ClassVar


class ConsentError(Exception):
    """Base class of authorization errors."""

    catalog_code: ClassVar[str] = "lending.bad_request"  # RPC answer: node.transport.errors


class InvalidAuthorization(ConsentError):
    """A record (or an import line) is malformed; names the field and the fix."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"authorization {field}: {problem}")
        self.field = field
        self.problem = problem


class UnknownAuthorization(ConsentError):
    """No record with that id is held here."""

    catalog_code: ClassVar[str] = "authorization.unknown"  # RPC answer: node.transport.errors

    def __init__(self, record_id: str) -> None:
        super().__init__(
            f"no authorization {record_id!r} is held here; list them with `fedcredit consent list`"
        )
        self.record_id = record_id
