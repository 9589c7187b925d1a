"""A real PostgreSQL server for the tests, started and stopped by scripts/services/postgres.sh.

The server is started once per test session on a free loopback port (its data directory in a
fresh temporary directory, removed afterwards); each test gets a database of its own on it.
"""

from __future__ import annotations

import itertools
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "services" / "postgres.sh"
_names = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a running server (its ``fedcredit`` database is the admin entry point)."""
    # Not under pytest's tmp_path: when run as root the server runs as the postgres user,
    # which must be able to reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="fedcredit-pg-"))
    root.chmod(0o755)
    try:
        started = subprocess.run(
            ["bash", str(SCRIPT), "start", str(root)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert started.returncode == 0, f"PostgreSQL did not start: {started.stderr[-2000:]}"
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(root)], capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """Create an empty database on the server; return its URL."""
    name = f"t{next(_names)}_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"
