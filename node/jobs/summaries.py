"""A node's own copy of what it reported for each finished job.

The summary a party sends the coordinator at the end of a job (counts, aggregate metrics,
never a value) is also kept beside the job's model part, so the node can act on its own
figures later without asking the coordinator: ``fedcredit models deploy`` compares the
federated early-warning model with the bank alone from the bank's own summary
(``node.monitoring.deployment``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from node.state import confined


def summary_path(jobs_dir: Path, job_id: str) -> Path:
    """Where the summary of ``job_id`` is kept (``<state>/jobs/results/<job>.json``)."""
    return confined(jobs_dir, "results", f"{job_id}.json")


def keep_summary(jobs_dir: Path, job_id: str, summary: Mapping[str, Any]) -> None:
    """Write the summary (whole or not at all: a new attempt's replaces an older one's)."""
    path = summary_path(jobs_dir, job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(summary, sort_keys=True))
    os.replace(tmp, path)


def kept_summary(jobs_dir: Path, job_id: str) -> dict[str, Any] | None:
    """The kept summary of ``job_id``, or None when there is none (a job this node ran before
    it kept them, or one it took no part in)."""
    try:
        raw = json.loads(summary_path(jobs_dir, job_id).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return raw if isinstance(raw, dict) else None
