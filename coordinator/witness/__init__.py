"""The checkpoint witness: keeps every node's latest access-log checkpoint and refuses forks."""

from coordinator.witness.exceptions import (
    CheckpointRefused,
    ForkDetected,
    InconsistentCheckpoint,
    StaleCheckpoint,
    WitnessError,
)
from coordinator.witness.witness import CheckpointWitness, ForkEvidence

__all__ = [
    "CheckpointRefused",
    "CheckpointWitness",
    "ForkDetected",
    "ForkEvidence",
    "InconsistentCheckpoint",
    "StaleCheckpoint",
    "WitnessError",
]
