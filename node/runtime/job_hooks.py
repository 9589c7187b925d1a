"""Job hooks on a node: progress to the coordinator, access-log records, local checkpoints."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from node.jobs.hooks import JobHooks
from node.state import confined

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class NodeJobHooks(JobHooks):
    """Hooks for one party of one job on a node.

    Checkpoints are files under ``<state dir>/checkpoints/<job id>/``, written atomically
    (temporary file, fsync, rename), so a crash leaves either the old or the new checkpoint.
    They survive attempts: a resumed job finds the checkpoints of the attempt before.
    """

    def __init__(
        self,
        job_id: str,
        checkpoint_dir: Path,
        report_progress: Callable[[str, int, int, Mapping[str, float]], None],
        record: Callable[[str, Mapping[str, object]], object],
    ) -> None:
        self._job_id = job_id
        self._dir = confined(checkpoint_dir, _SAFE.sub("_", job_id))
        self._report_progress = report_progress
        self._record = record

    def progress(self, stage: str, step: int, total: int, metrics: Mapping[str, float]) -> None:
        self._report_progress(stage, step, total, metrics)

    def record(self, action: str, details: Mapping[str, object]) -> None:
        self._record(action, {"job_id": self._job_id, **details})

    def _path(self, name: str) -> Path:
        return confined(self._dir, _SAFE.sub("_", name))

    def save_checkpoint(self, name: str, data: bytes) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self._path(name))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load_checkpoint(self, name: str) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None
