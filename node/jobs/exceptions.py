"""Errors of job files and job execution."""

from __future__ import annotations

from typing import ClassVar

from node.validation.errors import SpecError


class JobError(Exception):
    """Base class for job failures a user can act on."""


class JobSpecError(JobError, SpecError):
    """A job file is malformed or names something that does not exist.

    The one error of job-file validation (the job file's ``SpecError``): every job type's
    section is read by ``node.validation.validate`` into it, so the coordinator refuses every
    malformed file the same way and answers it with the same catalog entry. The message reads
    ``"<source> <key>: <problem>; <fix>"``; ``source``, ``key``, ``problem`` and ``fix`` are
    attributes (see ``SpecError``).
    """

    catalog_code: ClassVar[str] = "job.invalid_spec"  # RPC answer: node.transport.errors


class DuplicateJobId(JobError):
    """A job with the requested id already exists."""

    catalog_code: ClassVar[str] = "job.duplicate_id"  # RPC answer: node.transport.errors

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job id {job_id!r} already exists; choose another or leave it empty")
        self.job_id = job_id


class JobCodeUnavailable(JobError):
    """This node cannot load the code of a job type: a dependency is missing or broken.

    The registry imports each protocol's code at its first use (``node.jobtypes.registry``),
    so a broken install (a torch that fails to load, a module left out) shows when a job
    starts rather than when the process does. The message names the module and what failed
    in it by name (never a path, never data), so it is shown as it is; the original
    traceback is logged where it happened.

    Parameters
    ----------
    message
        The local answer: the module, what failed in it by name, and this node's fix.
    module
        The module that could not be loaded.
    """

    catalog_code: ClassVar[str] = "job.code_unavailable"  # RPC answer: node.transport.errors

    def __init__(self, message: str, *, module: str) -> None:
        super().__init__(message)
        self.module = module

    def catalog_detail(self) -> str:
        """What a remote caller is told: the module only. The remedy is the catalog
        entry's (the coordinator's operator reinstalls), not this node's local fix."""
        return f"cannot load {self.module}"


def public_message(exc: BaseException) -> str:
    """What may be said about a failure outside this process (reports, logs, events).

    fedcredit's own exceptions are written never to carry data values, so their text is kept.
    Anything else (pandas, numpy, the standard library) may quote the offending value — a
    credit code in a failed conversion, say — so only its class is passed on.
    """
    name = type(exc).__name__
    if type(exc).__module__.split(".")[0] in ("node", "coordinator"):
        return f"{name}: {exc}"
    return f"{name} (the message is withheld because it may quote data; check the job's inputs)"
