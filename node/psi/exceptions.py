"""Errors of private set intersection runs.

Every error names what went wrong and what to do about it, and carries its data as
attributes. None of them ever holds an identifier, a hash or a blinded value: rows are named
by their position in the party's dataset, peers by their party name.
"""

from __future__ import annotations

from collections.abc import Sequence

from node.jobs.exceptions import JobSpecError

# How many row positions an error message lists before it says "and N more".
_SHOWN = 10


def _positions_text(positions: Sequence[int]) -> str:
    shown = ", ".join(str(p) for p in positions[:_SHOWN])
    more = len(positions) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


class PsiError(Exception):
    """Base class for every PSI failure a caller can act on."""


class PsiSpecError(PsiError, JobSpecError):
    """The PSI section of a job file is malformed or inconsistent with the job's parties, or a
    party's id file cannot be read for ids (``SpecError``'s arguments and message)."""


class PsiPolicyError(PsiError):
    """The node's configuration does not allow this dataset and id field to be used for PSI."""

    def __init__(self, dataset: str, id_field: str) -> None:
        super().__init__(
            f"dataset {dataset!r} with id field {id_field!r} is not declared for PSI in this "
            "node's configuration; add it under 'psi' in the node config or name a declared one"
        )
        self.dataset = dataset
        self.id_field = id_field


class UnknownDatasetError(PsiError):
    """The job names a dataset this node does not have."""

    def __init__(self, dataset: str) -> None:
        super().__init__(
            f"the job names dataset {dataset!r}, which this node does not have; "
            "fix the job file or register the dataset on the node"
        )
        self.dataset = dataset


class InvalidIdsError(PsiError):
    """Some ids are missing or invalid and the job requires every id to be valid."""

    def __init__(self, positions: Sequence[int], total: int) -> None:
        super().__init__(
            f"{len(positions)} of {total} ids are missing or not valid for the job's id_format "
            f"(row positions {_positions_text(positions)}); correct those rows or run the job "
            "with 'strict: false' to leave them out"
        )
        self.positions = tuple(positions)
        self.total = total


class DuplicateIdsError(PsiError):
    """Some rows repeat the (normalised) id of an earlier row, so row alignment is ambiguous."""

    def __init__(self, positions: Sequence[int]) -> None:
        super().__init__(
            f"{len(positions)} rows repeat an id of an earlier row (row positions "
            f"{_positions_text(positions)}); deduplicate the dataset before running PSI"
        )
        self.positions = tuple(positions)


class EmptySetError(PsiError):
    """A party has no valid id to intersect, so the job cannot produce an alignment."""

    def __init__(self, party: str) -> None:
        super().__init__(
            f"party {party!r} has no valid id to intersect; check its dataset and id field"
        )
        self.party = party


class PsiAborted(PsiError):
    """Another party refused to run (its own error), so this party stopped too."""

    def __init__(self, party: str, reason: str) -> None:
        super().__init__(
            f"PSI stopped because party {party!r} could not take part: {reason}; "
            "see that party's log for the detail and resubmit the job"
        )
        self.party = party
        self.reason = reason


class PsiPeerLeft(PsiError):
    """A peer left the job or went silent during a stage; nothing was produced."""

    def __init__(self, party: str, stage: str, detail: str) -> None:
        super().__init__(
            f"party {party!r} left or stopped answering during {stage} ({detail}); "
            "no alignment was produced; resubmit the job once every party is connected"
        )
        self.party = party
        self.stage = stage
        self.detail = detail


class MalformedMessage(PsiError):
    """A message from a peer does not follow the PSI wire format or the agreed sizes."""

    def __init__(self, sender: str, topic: str, problem: str) -> None:
        super().__init__(
            f"malformed PSI message from {sender!r} on {topic!r}: {problem}; "
            "check that every party runs the same fedcredit version"
        )
        self.sender = sender
        self.topic = topic
        self.problem = problem
