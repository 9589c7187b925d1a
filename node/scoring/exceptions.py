"""Failures of scoring and decisions, each naming what is wrong and what to do."""

from __future__ import annotations

from typing import ClassVar

from node.validation.errors import SpecError


class ScoringError(Exception):
    """Base class of scoring errors."""


class DecisionPolicyError(ScoringError, SpecError):
    """A decision-policy file is missing, malformed or inconsistent (``SpecError``'s message
    and attributes: file, key path, problem and fix)."""

    catalog_code: ClassVar[str] = "lending.not_ready"  # RPC answer: node.transport.errors


class BadApplication(ScoringError):
    """An application cannot be scored as given (bad code, reference or amounts)."""

    catalog_code: ClassVar[str] = "lending.bad_request"  # RPC answer: node.transport.errors


class NotReady(ScoringError):
    """This node cannot decide yet (no decision policy or no current model)."""

    catalog_code: ClassVar[str] = "lending.not_ready"  # RPC answer: node.transport.errors


class DecisionPolicyNotRecorded(ScoringError):
    """The access log did not take the entry of a decision-policy change: the new policy is
    not put in force until it does (the next decision retries)."""

    catalog_code: ClassVar[str] = "lending.not_ready"  # RPC answer: node.transport.errors


class ReplayMismatch(ScoringError):
    """Re-running a decision from its record gave another outcome."""

    def __init__(self, record_id: str, differences: list[str]) -> None:
        super().__init__(f"decision {record_id} not reproduced: {'; '.join(differences)}")
        self.record_id = record_id
        self.differences = differences
