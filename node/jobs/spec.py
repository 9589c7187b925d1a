"""The part of every job file that all job types share: the job type and its parties."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from node.jobs.exceptions import JobSpecError


@dataclass(frozen=True)
class JobFile:
    """A parsed job file: its type, the parties in the order written, and the raw mapping.

    Each job type parses its own section from ``raw``; this layer only guarantees that the
    file is a YAML mapping with a known ``type`` and a non-empty ``parties`` mapping.
    """

    job_type: str
    parties: tuple[str, ...]
    raw: Mapping[str, Any]


def parse_job_file(text: bytes | str, source: str = "job file") -> JobFile:
    """Parse the shared header of a job file.

    Raises
    ------
    JobSpecError
        The text is not YAML, not a mapping, or lacks ``type`` or ``parties``.
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise JobSpecError(source, f"is not valid YAML{where}; fix the syntax") from None
    if not isinstance(raw, Mapping):
        raise JobSpecError(source, "must be a YAML mapping with keys 'type' and 'parties'")
    job_type = raw.get("type")
    if not isinstance(job_type, str) or not job_type:
        raise JobSpecError(
            source,
            "needs a 'type' (e.g. check, psi, vertical_lr, horizontal)" + _typo(raw, "type"),
        )
    parties = raw.get("parties")
    if not isinstance(parties, Mapping) or not parties:
        raise JobSpecError(
            source,
            "needs a non-empty 'parties' mapping of node id to settings" + _typo(raw, "parties"),
        )
    names = tuple(str(p) for p in parties)
    if "coordinator" in names:
        raise JobSpecError(source, "'coordinator' is reserved and cannot be a job party")
    return JobFile(job_type=job_type, parties=names, raw=raw)


def _typo(raw: Mapping[str, Any], wanted: str) -> str:
    """``"; 'partys' looks like a typo of 'parties'"`` when a key of ``raw`` is close."""
    if wanted in raw:
        return ""
    close = difflib.get_close_matches(wanted, [str(k) for k in raw], n=1, cutoff=0.6)
    return f"; {close[0]!r} looks like a typo of {wanted!r}" if close else ""
