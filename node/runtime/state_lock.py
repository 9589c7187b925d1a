"""One process per state folder: an exclusive lock file, held while the process runs.

Two processes on one state folder would write one access log, one SQLite file and one set of
checkpoints at the same time and corrupt them. The lock is ``flock`` on ``<state>/.lock``: the
kernel drops it when the process ends, however it ends, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_NAME = ".lock"


class StateDirInUse(Exception):
    """Another process holds the state folder; the message names it and the fix."""

    def __init__(self, state_dir: Path, holder: str) -> None:
        super().__init__(
            f"state folder {state_dir} is in use by another fedcredit process ({holder}); "
            "stop that process first, or give this one its own state_dir"
        )
        self.state_dir = state_dir


class StateLock:
    """The held lock of one state folder; ``release`` (or process exit) frees it."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle

    @classmethod
    def acquire(cls, state_dir: Path) -> StateLock:
        """Lock ``state_dir`` for this process.

        Raises
        ------
        StateDirInUse
            Another process holds it.
        """
        state_dir.mkdir(parents=True, exist_ok=True)
        handle = (state_dir / LOCK_NAME).open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "pid unknown"
            handle.close()
            raise StateDirInUse(state_dir, holder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        return cls(handle)

    def release(self) -> None:
        with contextlib.suppress(ValueError):  # already closed
            fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
