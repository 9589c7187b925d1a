"""Shared test fixtures: the real data set the repository ships."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.data import bundled

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def default_credit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The vertically and horizontally split default_credit data, decompressed once per run."""
    return bundled.extract(tmp_path_factory.mktemp("default_credit"))
