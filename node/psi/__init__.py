"""Private entity alignment: multi-party ECDH-PSI over X25519 on unified social credit codes."""

from node.psi.coordinator import run_psi_coordinator
from node.psi.exceptions import (
    DuplicateIdsError,
    EmptySetError,
    InvalidIdsError,
    MalformedMessage,
    PsiAborted,
    PsiError,
    PsiPeerLeft,
    PsiPolicyError,
    PsiSpecError,
    UnknownDatasetError,
)
from node.psi.follower import run_psi_follower
from node.psi.job import run_psi_coordinator_job, run_psi_party, validate_psi_job
from node.psi.leader import run_psi_leader
from node.psi.policy import PsiPermits
from node.psi.result import PsiResult
from node.psi.source import IdChunks, chunks_of, ids_from_file
from node.psi.spec import PsiSpec, spec_from_job
from node.psi.store import write_alignment

__all__ = [
    "DuplicateIdsError",
    "EmptySetError",
    "IdChunks",
    "InvalidIdsError",
    "MalformedMessage",
    "PsiAborted",
    "PsiError",
    "PsiPeerLeft",
    "PsiPermits",
    "PsiPolicyError",
    "PsiResult",
    "PsiSpec",
    "PsiSpecError",
    "UnknownDatasetError",
    "chunks_of",
    "ids_from_file",
    "run_psi_coordinator",
    "run_psi_coordinator_job",
    "run_psi_follower",
    "run_psi_leader",
    "run_psi_party",
    "spec_from_job",
    "validate_psi_job",
    "write_alignment",
]
