"""The job types this build can run, and how each side runs them.

A job type names three things: how to validate its job file at submission (so a bad file is
refused before any party starts), what each node party runs, and what the coordinator runs as
its own party (key holder, aggregator, or a simple echo). Both the node and the coordinator
look job types up here, so a job file means the same thing on both sides.

The protocol code is named by module path (:class:`Deferred`) and imported at its first
call, not with the registry: every daemon and every command imports the registry, but a
process runs few job types and one side of each. Importing them all cost about 1.5 s of CPU
at each start, most of it torch and flwr, which only a bank training a horizontal job uses
(the coordinator aggregates horizontal updates without them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from node.jobs.check import run_check_coordinator, run_check_party
from node.jobs.context import PartyContext
from node.jobs.exceptions import JobCodeUnavailable, JobSpecError
from node.jobs.hooks import JobHooks
from node.jobs.spec import JobFile
from node.transport.channel import PartyChannel

PartyRunner = Callable[[PartyContext], Mapping[str, Any]]
CoordinatorRunner = Callable[[PartyChannel, JobHooks, JobFile], Mapping[str, Any]]
Validator = Callable[[JobFile], None]
FieldUse = tuple[str, str, tuple[str, ...], str]
FieldUses = Callable[[JobFile], list[FieldUse]]

log = logging.getLogger("fedcredit.jobtypes")


@dataclass(frozen=True)
class Deferred:
    """A job type's function, named ``"package.module:function"``, imported at its first call."""

    ref: str

    def __post_init__(self) -> None:
        module, colon, name = self.ref.partition(":")
        if not (colon and module and name.isidentifier()):
            raise ValueError(f"{self.ref!r} is not of the form 'package.module:function'")

    def resolve(self) -> Callable[..., Any]:
        """The named function, imported now.

        Raises
        ------
        JobCodeUnavailable
            The module cannot be imported here (a dependency missing or broken: the
            traceback is logged) or does not define the function.
        """
        module_name, _, name = self.ref.partition(":")
        try:
            module = import_module(module_name)
        except (ImportError, OSError) as exc:
            _log_traceback(f"cannot import {module_name} for a job", exc)
            raise JobCodeUnavailable(
                f"cannot load {module_name} here ({_missing(exc)}); reinstall fedcredit with "
                "its dependencies (pip install -e .)",
                module=module_name,
            ) from exc
        try:
            function = getattr(module, name)
        except AttributeError as exc:
            _log_traceback(f"{module_name} has no function {name}", exc)
            raise JobCodeUnavailable(
                f"{self.ref} names no function; this build of fedcredit does not match its "
                "registry: reinstall it",
                module=module_name,
            ) from exc
        if not callable(function):
            raise TypeError(f"{self.ref} is not a function")
        return function  # type: ignore[no-any-return]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)


def _log_traceback(what: str, exc: BaseException) -> None:
    """Log the import's traceback at error level where logging is set up (daemons, tests).

    A one-shot command sets up none, and Python would print the traceback on stderr above
    the command's own one-line answer; the raised error says enough there.
    """
    if log.hasHandlers():
        log.error("%s", what, exc_info=exc)


def _missing(exc: ImportError | OSError) -> str:
    """What failed to load, by module or file name only.

    The loader's own text is never used: a failed ``from x import y`` and a shared library
    that cannot be opened quote absolute install paths, which say nothing to a submitter and
    describe the coordinator's machine to anyone who can submit a job.
    """
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return f"no module named {exc.name}"
    if isinstance(exc, ImportError):
        return f"an import from {exc.name} failed" if exc.name else "an import failed"
    if exc.filename:
        return f"cannot open {Path(str(exc.filename)).name}"
    return f"a library failed to load ({type(exc).__name__})"


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


_TYPES: dict[str, JobType] = {
    "check": JobType(
        name="check",
        validate=_no_validation,
        run_party=lambda ctx: run_check_party(ctx.channel, ctx.hooks, ctx.parties),
        run_coordinator=lambda ch, hooks, job: run_check_coordinator(ch, hooks, job.parties),
    ),
    "psi": JobType(
        name="psi",
        validate=Deferred("node.psi:validate_psi_job"),
        run_party=Deferred("node.jobtypes.psi:run_psi_job_party"),
        run_coordinator=Deferred("node.psi:run_psi_coordinator_job"),
    ),
    "horizontal": JobType(
        name="horizontal",
        validate=Deferred("node.training.horizontal.job:validate_horizontal_job"),
        run_party=Deferred("node.training.horizontal.party:run_horizontal_party"),
        run_coordinator=Deferred("node.training.horizontal.job:run_horizontal_coordinator"),
        tolerates_party_loss=True,
    ),
    "vertical_lr": JobType(
        name="vertical_lr",
        validate=Deferred("node.training.vertical.job:validate_vertical_job"),
        run_party=Deferred("node.training.vertical.job:run_vertical_party"),
        run_coordinator=Deferred("node.training.vertical.job:run_vertical_coordinator"),
        uses=Deferred("node.training.vertical.job:vertical_field_uses"),
        # the arbiter's KEY_CHECKPOINT, spelled out so the registry need not import the
        # arbiter (tests/node/jobtypes holds them equal)
        secret_checkpoints=frozenset({"paillier-key"}),
    ),
    "secureboost": JobType(
        name="secureboost",
        validate=Deferred("node.training.secureboost.job:validate_secureboost_job"),
        run_party=Deferred("node.training.secureboost.job:run_secureboost_party"),
        run_coordinator=Deferred("node.training.secureboost.job:run_secureboost_coordinator"),
        # a party that leaves holds the attempt; its return restarts it from the last tree
        tolerates_party_loss=True,
        uses=Deferred("node.training.secureboost.job:secureboost_field_uses"),
    ),
}


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


def load_job_code() -> None:
    """Import every job type's code now, so a broken dependency shows before a job starts
    (``fedcredit diagnose``); a process that runs jobs imports each at its first use.

    Raises
    ------
    JobCodeUnavailable
        For the first reference this node cannot load.
    """
    for kind in _TYPES.values():
        for slot in (kind.validate, kind.run_party, kind.run_coordinator, kind.uses):
            if isinstance(slot, Deferred):
                slot.resolve()
