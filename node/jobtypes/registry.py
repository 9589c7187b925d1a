"""The job types this build can run, and how each side runs them.

A job type names three things: how to validate its job file at submission (so a bad file is
refused before any party starts), what each node party runs, and what the coordinator runs as
its own party (key holder, aggregator, or a simple echo). Both the node and the coordinator
look job types up here, so a job file means the same thing on both sides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from node.jobs.check import run_check_coordinator, run_check_party
from node.jobs.context import PartyContext
from node.jobs.exceptions import JobSpecError
from node.jobs.hooks import JobHooks
from node.jobs.spec import JobFile
from node.psi import (
    PsiPermits,
    run_psi_coordinator_job,
    run_psi_party,
    validate_psi_job,
    write_alignment,
)
from node.state import confined
from node.training.horizontal import (
    run_horizontal_coordinator,
    run_horizontal_party,
    validate_horizontal_job,
)
from node.training.secureboost.job import (
    run_secureboost_coordinator,
    run_secureboost_party,
    secureboost_field_uses,
    validate_secureboost_job,
)
from node.training.vertical.arbiter import KEY_CHECKPOINT
from node.training.vertical.job import (
    run_vertical_coordinator,
    run_vertical_party,
    validate_vertical_job,
    vertical_field_uses,
)
from node.transport.channel import PartyChannel

PartyRunner = Callable[[PartyContext], Mapping[str, Any]]
CoordinatorRunner = Callable[[PartyChannel, JobHooks, JobFile], Mapping[str, Any]]
Validator = Callable[[JobFile], None]
FieldUse = tuple[str, str, tuple[str, ...], str]
FieldUses = Callable[[JobFile], list[FieldUse]]


@dataclass(frozen=True)
class JobType:
    """How one kind of job is validated and run on each side."""

    name: str
    validate: Validator
    run_party: PartyRunner
    run_coordinator: CoordinatorRunner
    # Whether an attempt goes on when a party disconnects (and restarts when it returns).
    tolerates_party_loss: bool = False
    # The (party, dataset, fields, purpose) a job file asks each party to use, so the
    # coordinator can refuse at submission what the parties' published capabilities rule out.
    uses: FieldUses = lambda job: []
    # Coordinator checkpoints that hold secrets (a Paillier private key): deleted as soon as
    # the job ends, also when it failed; the others stay so a resumed attempt can use them.
    secret_checkpoints: frozenset[str] = frozenset()


def _no_validation(job: JobFile) -> None:
    """The check job has no settings beyond its parties."""


def _psi_permits(ctx: PartyContext) -> PsiPermits:
    """The (dataset, id field) pairs this node's config declares for alignment."""
    pairs = {(n, f) for n in ctx.datasets.names() if (f := ctx.datasets.psi_id_field(n))}
    return PsiPermits(frozenset(pairs))


def _run_psi(ctx: PartyContext) -> Mapping[str, Any]:
    """Align, keep the local row order for later jobs, and report counts only."""
    result = run_psi_party(ctx, _psi_permits(ctx))
    if ctx.workdir is not None and result.rows is not None:
        write_alignment(result, confined(ctx.workdir, "alignments", f"{ctx.job_id}.json"))
    return result.summary()


_TYPES: dict[str, JobType] = {
    "check": JobType(
        name="check",
        validate=_no_validation,
        run_party=lambda ctx: run_check_party(ctx.channel, ctx.hooks, ctx.parties),
        run_coordinator=lambda ch, hooks, job: run_check_coordinator(ch, hooks, job.parties),
    ),
    "psi": JobType(
        name="psi",
        validate=validate_psi_job,
        run_party=_run_psi,
        run_coordinator=run_psi_coordinator_job,
    ),
    "horizontal": JobType(
        name="horizontal",
        validate=validate_horizontal_job,
        run_party=run_horizontal_party,
        run_coordinator=run_horizontal_coordinator,
        tolerates_party_loss=True,
    ),
    "vertical_lr": JobType(
        name="vertical_lr",
        validate=validate_vertical_job,
        run_party=run_vertical_party,
        run_coordinator=run_vertical_coordinator,
        uses=vertical_field_uses,
        secret_checkpoints=frozenset({KEY_CHECKPOINT}),
    ),
    "secureboost": JobType(
        name="secureboost",
        validate=validate_secureboost_job,
        run_party=run_secureboost_party,
        run_coordinator=run_secureboost_coordinator,
        # a party that leaves holds the attempt; its return restarts it from the last tree
        tolerates_party_loss=True,
        uses=secureboost_field_uses,
    ),
}


def register(job_type: JobType) -> None:
    """Add a job type (used by the job-type modules at import)."""
    _TYPES[job_type.name] = job_type


def job_type(name: str) -> JobType:
    """Look a job type up.

    Raises
    ------
    JobSpecError
        No job type of that name exists in this build (``type`` of a file read with
        ``parse_job_file(..., job_types=known_job_types())`` always exists).
    """
    try:
        return _TYPES[name]
    except KeyError:
        known = ", ".join(sorted(_TYPES))
        raise JobSpecError(
            "job file", f"unknown job type {name!r}", key="type", fix=f"use one of: {known}"
        ) from None


def known_job_types() -> list[str]:
    return sorted(_TYPES)
