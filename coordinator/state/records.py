"""Domain records the coordinator keeps; the wire layer converts them to and from protobuf."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class JobState(StrEnum):
    """Life cycle of a job. ``running`` jobs are resumed after a coordinator restart."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class NodeRecord:
    """A registered node, identified by its certificate."""

    node_id: str
    organization: str
    role: str
    certificate_pem: bytes
    address: str
    registered_at: float
    last_seen: float
    datasets_json: str = "[]"
    policy_version: str = ""


@dataclass(frozen=True)
class JobRecord:
    """A submitted job and where it stands."""

    job_id: str
    job_type: str
    spec_yaml: bytes
    parties: tuple[str, ...]
    state: JobState
    attempt: int
    submitted_by: str
    created_at: float
    updated_at: float
    result_json: str = "{}"
    error: str = ""


@dataclass(frozen=True)
class EventRecord:
    """One thing that happened to a job, for operators' progress views and post-mortems."""

    job_id: str
    time: float
    kind: str
    party: str = ""
    detail: dict[str, object] = field(default_factory=dict)
