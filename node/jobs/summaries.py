"""A node's own copy of what it reported for each finished job.

The summary a party sends the coordinator at the end of a job (counts, aggregate metrics,
never a value) is also kept beside the job's model part, so the node can act on its own
figures later without asking the coordinator: ``fedcredit models deploy`` compares the
federated early-warning model with the bank alone from the bank's own summary
(``node.monitoring.deployment``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from node.state import PathEscape, confined

log = logging.getLogger("fedcredit.node.jobs.summaries")

# The id column of the early-warning training tables (``node.monitoring.tables``, which
# imports it from here: the job plumbing must not import monitoring to word a summary).
ROW_ID: Final = "firm_month"


def summary_path(jobs_dir: Path, job_id: str) -> Path:
    """Where the summary of ``job_id`` is kept (``<state>/jobs/results/<job>.json``)."""
    return confined(jobs_dir, "results", f"{job_id}.json")


def keep_summary(jobs_dir: Path, job_id: str, summary: Mapping[str, Any]) -> bool:
    """Write the summary, whole or not at all (a new attempt's replaces an older one's);
    return whether it was kept.

    A summary that cannot be kept (the disk full or read-only, a summary JSON cannot write
    with sorted keys) never fails the job it summarises: it is logged as an error naming the
    job and what follows, and an older attempt's summary of the job is removed, so nothing
    later compares against figures the job no longer reported (``models deploy`` then says
    it has no bank-alone figure). Only those failures are caught; anything else is a bug.
    """
    try:
        path = summary_path(jobs_dir, job_id)
    except PathEscape as exc:
        log.error("summary of job %s not kept: %s", job_id, exc)
        return False
    tmp = path.with_suffix(".tmp")
    try:
        text = json.dumps(summary, sort_keys=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text)
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError) as exc:  # writing; JSON with sorted keys
        for leftover in (tmp, path):
            with contextlib.suppress(OSError):  # gone already, or its folder is what failed
                leftover.unlink(missing_ok=True)
        # lexists, not is_file: it answers False where stat fails (EACCES too), never raises
        stale = f"; remove {path}, an older attempt's" if os.path.lexists(path) else ""
        log.error(
            "summary of job %s not kept in %s (%s: %s): the job's outcome stands; this node "
            "has no figures of it to act on later (models deploy cannot compare it)%s",
            job_id, path.parent, type(exc).__name__, exc, stale,
        )  # fmt: skip
        return False
    return True


def kept_summary(jobs_dir: Path, job_id: str) -> dict[str, Any] | None:
    """The kept summary of ``job_id``, or None when there is none (a job this node ran before
    it kept them, or one it took no part in)."""
    try:
        raw = json.loads(summary_path(jobs_dir, job_id).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return raw if isinstance(raw, dict) else None


def row_unit(id_column: str) -> str:
    """What one aligned row of a training job over a table keyed by ``id_column`` is, as its
    summary words it (``row_unit``): a borrower at one cut-off month for the early-warning
    tables (keyed ``firm_month``, ``node.monitoring.tables``), a firm otherwise."""
    return "borrower-months" if id_column == ROW_ID else "firms"


def aligned_rows_text(summary: Mapping[str, Any]) -> str:
    """``N aligned firms`` (or borrower-months): a job summary's rows in the unit it names;
    summaries kept before they named one are of firms."""
    return f"{summary.get('aligned_rows', 0)} aligned {summary.get('row_unit') or 'firms'}"
