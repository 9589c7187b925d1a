"""Every state-layer test runs against SQLite and against a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.state.database import Database, open_database
from tests.postgres_fixtures import fresh_database, postgres_server

__all__ = ["postgres_server"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL naming an empty database of either engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'coordinator.sqlite'}"
    return fresh_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def database(database_url: str, tmp_path: Path) -> Iterator[Database]:
    db = open_database(database_url, tmp_path / "unused.sqlite")
    yield db
    db.close()
