"""Job orchestration on the coordinator: submission, assignment, attempts, resumption."""

from coordinator.jobs.runner import JobRunner

__all__ = ["JobRunner"]
