"""A folder that refuses stat and replace (EACCES), for the tests of keeping a job's summary.

The suite runs as root, whom a mode 000 folder does not stop, so the refusal is made by
patching the two calls that reach the folder (pathlib's stat, ``os.replace``) to raise what the
kernel would raise for another user.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def refuse_stat_and_replace(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make stat of any file in ``folder``, and every ``os.replace``, raise PermissionError."""
    real_stat = Path.stat

    def refused_stat(self: Path, *, follow_symlinks: bool = True) -> os.stat_result:
        if self.parent == folder:
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, follow_symlinks=follow_symlinks)

    def refused_replace(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(Path, "stat", refused_stat)
    monkeypatch.setattr(os, "replace", refused_replace)
