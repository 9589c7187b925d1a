"""What a protocol may ask of the process running it: progress, audit records, checkpoints.

Protocol code (PSI, vertical and horizontal training) takes a ``JobHooks`` so the same loop
reports a progress bar in the CLI, writes access-log entries on a node, and checkpoints to
SQLite on the coordinator — or, in tests, does all three in memory with ``MemoryHooks``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field


class JobHooks(ABC):
    """Side effects a protocol needs, supplied by whoever runs it.

    Constraints every implementation keeps:

    - ``record`` MUST NOT be given raw identifiers, feature values, labels or keys; protocols
      pass counts, sizes, field names and job metadata only.
    - ``save_checkpoint`` MUST be durable when it returns: a restart may resume from it.
    - ``load_checkpoint`` returns ``None`` for a name never saved.
    """

    @abstractmethod
    def progress(self, stage: str, step: int, total: int, metrics: Mapping[str, float]) -> None:
        """Report that ``step`` of ``total`` units of ``stage`` are done, with current metrics."""

    @abstractmethod
    def record(self, action: str, details: Mapping[str, object]) -> None:
        """Write an access-log entry for ``action`` (e.g. ``psi_run``, ``training_use``)."""

    @abstractmethod
    def save_checkpoint(self, name: str, data: bytes) -> None:
        """Durably store ``data`` under ``name`` for this job and party."""

    @abstractmethod
    def load_checkpoint(self, name: str) -> bytes | None:
        """Return what was saved under ``name``, or ``None``."""


@dataclass
class MemoryHooks(JobHooks):
    """Hooks that keep everything in memory, for tests and in-process simulation."""

    progress_log: list[tuple[str, int, int, dict[str, float]]] = field(default_factory=list)
    records: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    checkpoints: dict[str, bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def progress(self, stage: str, step: int, total: int, metrics: Mapping[str, float]) -> None:
        with self._lock:
            self.progress_log.append((stage, step, total, dict(metrics)))

    def record(self, action: str, details: Mapping[str, object]) -> None:
        with self._lock:
            self.records.append((action, dict(details)))

    def save_checkpoint(self, name: str, data: bytes) -> None:
        with self._lock:
            self.checkpoints[name] = bytes(data)

    def load_checkpoint(self, name: str) -> bytes | None:
        with self._lock:
            return self.checkpoints.get(name)
