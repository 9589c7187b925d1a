"""The part of every job file that all job types share: the job type and its parties."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from node.jobs.exceptions import JobSpecError
from node.validation import FileModel, Invalid, validate


@dataclass(frozen=True)
class JobFile:
    """A parsed job file: its type, the parties in the order written, and the raw mapping.

    Each job type parses its own section from ``raw``; this layer only guarantees that the
    file is a YAML mapping with a known ``type`` and a non-empty ``parties`` mapping.
    """

    job_type: str
    parties: tuple[str, ...]
    raw: Mapping[str, Any]


class JobHeader(FileModel):
    """The keys every job file has; its type's own section sits beside them (see its page)."""

    # The other top-level keys are the job type's sections, which the job type validates.
    model_config = ConfigDict(extra="allow")

    type: str = Field(
        min_length=1,
        examples=["vertical_lr"],
        description="The job type: one this build registers (check, psi, vertical_lr, "
        "secureboost, horizontal).",
    )
    parties: dict[str, Any] = Field(
        min_length=1,
        examples=["{bank: {}, government: {}}"],
        description="Node id to that party's settings, in the order the job uses them.",
    )

    @model_validator(mode="before")
    @classmethod
    def _typo_of_a_required_key(cls, value: object) -> object:
        if isinstance(value, Mapping):
            for wanted in ("type", "parties"):
                close = difflib.get_close_matches(wanted, [str(k) for k in value], n=1, cutoff=0.6)
                if wanted not in value and close:
                    raise Invalid(
                        f"is missing; {close[0]!r} looks like a typo of {wanted!r}",
                        f"rename {close[0]} to {wanted}",
                        key=wanted,
                    )
        return value

    @field_validator("type")
    @classmethod
    def _registered(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("job_types")
        if known is not None and value not in known:
            raise Invalid(f"unknown job type {value!r}", f"use one of: {', '.join(known)}")
        return value

    @field_validator("parties")
    @classmethod
    def _not_the_coordinator(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "coordinator" in value:
            raise Invalid(
                "'coordinator' is reserved and cannot be a job party",
                "list the node ids of the data holders",
                key="coordinator",
            )
        return value


def parse_job_file(
    text: bytes | str, source: str = "job file", *, job_types: Collection[str] | None = None
) -> JobFile:
    """Parse the shared header of a job file.

    Parameters
    ----------
    job_types:
        The job types this build registers (``node.jobtypes.known_job_types()``); ``type``
        must be one of them. ``None`` leaves the type to the caller's lookup.

    Raises
    ------
    JobSpecError
        The text is not YAML, not a mapping, or ``type`` or ``parties`` is missing, unknown
        or malformed.
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise JobSpecError(source, "is not valid YAML", fix="fix the syntax", line=line) from None
    if not isinstance(raw, Mapping):
        raise JobSpecError(
            source, "must be a YAML mapping", fix="write the keys type and parties at the top"
        )
    context = {"job_types": sorted(job_types)} if job_types is not None else None
    header = validate(JobHeader, raw, source=source, context=context, error=JobSpecError)
    return JobFile(job_type=header.type, parties=tuple(header.parties), raw=raw)
