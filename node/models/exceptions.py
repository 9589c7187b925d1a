"""Failures of the model registry, each naming what is wrong and what to do."""

from __future__ import annotations


class ModelError(Exception):
    """Base class of registry errors."""


class ModelNotFound(ModelError):
    """No deployed model (or version) of that name at this node."""

    def __init__(self, name: str, version: int | None = None) -> None:
        what = f"model {name!r}" + (f" version {version}" if version is not None else "")
        super().__init__(
            f"{what} is not deployed at this node; list deployments with `fedcredit models list`"
        )
        self.name = name
        self.version = version


class PartFormatError(ModelError):
    """A model part file (a job's output or a deployed part) does not parse or is of an
    unknown kind or version."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem
