"""Why the coordinator refuses to start or resume a job."""

from __future__ import annotations

from node.jobs.exceptions import JobError


class PartyRefused(JobError):
    """A job names a party the coordinator will not assign work to (unknown, quarantined)."""

    def __init__(self, party: str, problem: str) -> None:
        super().__init__(f"party {party}: {problem}")
        self.party = party
        self.problem = problem


class NotResumable(JobError):
    """Only a failed job can be resumed."""

    def __init__(self, job_id: str, state: str) -> None:
        super().__init__(f"job {job_id} is {state}; only a failed job can be resumed")
        self.job_id = job_id
        self.state = state
