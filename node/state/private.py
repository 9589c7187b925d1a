"""State directories 0700 and state files 0600: nothing a party keeps is readable by others."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def restrict_new_files() -> None:
    """Make every file and directory this process creates from now on private to its user.

    Called once by each long-running party before it opens its state. It covers files made by
    libraries that take no mode (SQLite and its WAL, the trace exporter, model files), which
    the explicit helpers below cannot reach.
    """
    os.umask(0o077)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make it 0700, also if it already existed."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists with mode 0600 before a library opens it by name.

    SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file, so creating the
    database 0600 first keeps the whole set private.
    """
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path
