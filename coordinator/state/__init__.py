"""Persistent coordinator state: nodes, jobs, events and coordinator-role checkpoints."""

from coordinator.state.records import EventRecord, JobRecord, JobState, NodeRecord
from coordinator.state.store import CoordinatorStore

__all__ = ["CoordinatorStore", "EventRecord", "JobRecord", "JobState", "NodeRecord"]
