"""Errors of the vertical logistic-regression job, one class per failure handled differently."""

from __future__ import annotations


class VerticalError(Exception):
    """Base class for every error raised by ``node.training.vertical``."""


class JobRefused(VerticalError):
    """A party's policy refused the columns the job wants to train on.

    Carries the ``party``, ``dataset`` and the policy's own ``reason`` (which names fields,
    never values). Raised before any data is read or any message is sent.
    """

    def __init__(self, party: str, dataset: str, reason: str, missing_rule: bool = True) -> None:
        # Only a missing rule is fixed by a rule; any other refusal (an organization the
        # policy does not register, a role that may not train) already names its own fix.
        fix = (
            "; add a 'training' rule for these fields to that node's policy or drop them from "
            "the job"
            if missing_rule
            else ""
        )
        super().__init__(f"party {party!r} refuses dataset {dataset!r} for training: {reason}{fix}")
        self.party = party
        self.dataset = dataset
        self.reason = reason


class DataMismatch(VerticalError, ValueError):
    """Local data does not match what the job or the other parties expect (counts, columns)."""

    def __init__(self, party: str, problem: str) -> None:
        super().__init__(
            f"party {party!r}: {problem}; run PSI again so every party holds the same aligned rows"
        )
        self.party = party
        self.problem = problem


class MalformedMessage(VerticalError):
    """A received payload failed validation; names the ``sender``, ``topic`` and ``problem``."""

    def __init__(self, sender: str, topic: str, problem: str) -> None:
        super().__init__(
            f"message {topic!r} from {sender!r} is malformed: {problem}; the sender runs an "
            "incompatible or faulty version: stop the job and check that party"
        )
        self.sender = sender
        self.topic = topic
        self.problem = problem


class PartyFailed(VerticalError):
    """Another party left the job or stopped answering; ``party`` names it, ``stage`` where."""

    def __init__(self, party: str, stage: str, reason: str) -> None:
        super().__init__(
            f"party {party!r} is gone during {stage} ({reason}); the job stops here and can be "
            "resumed from the last completed epoch once that party is back"
        )
        self.party = party
        self.stage = stage
        self.reason = reason
