"""Shared test fixtures: where the shared real data set lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """The shared data folder: ``$FEDCREDIT_SHARED_DATA`` or ``../shared/data`` beside the repo."""
    env = os.environ.get("FEDCREDIT_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def default_credit_dir() -> Path:
    """The vertically and horizontally split default-credit data set (read-only)."""
    path = shared_data_dir() / "default_credit"
    if not path.is_dir():
        pytest.fail(f"shared data set missing at {path}; set FEDCREDIT_SHARED_DATA")
    return path
