"""What a node hands a party role when it runs its part of a job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from node.jobs.hooks import JobHooks
from node.transport.channel import PartyChannel


class FieldGate(Protocol):
    """The node's policy engine as job code sees it: may these fields be used for a purpose?"""

    def check(self, dataset: str, fields: Sequence[str], purpose: str) -> str:
        """Return the policy version that allows it, or raise a policy denial naming the rule."""
        ...

    def check_own(self, dataset: str, fields: Sequence[str], purpose: str) -> str:
        """The same for this node itself: fields a job uses here but never sends."""
        ...

    def training_firms(self, codes: Sequence[str], for_party: str) -> Any:
        """Which rows (by firm code) training for ``for_party`` may use (a
        ``node.consent.gate.TrainingUse``), or ``None`` when the node keeps no authorizations."""
        ...


class DatasetSource(Protocol):
    """The node's validated datasets by name."""

    def frame(self, name: str) -> Any:
        """Return the dataset's pandas frame; raise ``KeyError`` naming the unknown dataset."""
        ...

    def id_column(self, name: str) -> str: ...

    def names(self) -> list[str]: ...

    def psi_id_field(self, name: str) -> str | None:
        """The id field the node config allows for alignment, or None."""
        ...


@dataclass
class PartyContext:
    """Everything one party's role needs: who it is, its channel, hooks, data, policy, workers."""

    party: str
    job_id: str
    attempt: int
    parties: tuple[str, ...]
    spec: Mapping[str, Any]
    channel: PartyChannel
    hooks: JobHooks
    datasets: DatasetSource
    gate: FieldGate
    pool: Executor | None = None
    # Where the job may keep local outputs (alignments, model parts); None in tests.
    workdir: Path | None = None
