"""Helpers for the security tests on the session's shared federation (``node_federation``,
tests/conftest.py): the witness's view of a node, and copies of a node's access log."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from coordinator.local import LocalFederation
from coordinator.witness import CheckpointWitness
from node.audit.checkpoint import SignedCheckpoint


def witnessed(
    fed: LocalFederation, node_id: str, above: int = 0, timeout: float = 60.0
) -> SignedCheckpoint:
    """The checkpoint the witness holds for ``node_id``, once larger than ``above``."""
    deadline = time.monotonic() + timeout
    witness = CheckpointWitness(fed.root / "state" / "coordinator" / "witness.sqlite")
    try:
        while time.monotonic() < deadline:
            held = witness.latest(node_id)
            if held is not None and held.size > above:
                return held
            time.sleep(0.5)
    finally:
        witness.close()
    raise AssertionError(f"the witness holds no checkpoint of {node_id} above size {above}")


def copy_log(fed: LocalFederation, node_id: str, out: Path) -> Path:
    """A consistent copy of a running node's access log (SQLite online backup)."""
    out.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(fed.root / "state" / node_id / "audit" / "access-log.sqlite")
    target = sqlite3.connect(out / "access-log.sqlite")
    with target:
        source.backup(target)
    source.close()
    target.close()
    return out


def tamper(log_dir: Path) -> sqlite3.Connection:
    """Open a log copy as an attacker with file access would: append-only triggers dropped."""
    db = sqlite3.connect(log_dir / "access-log.sqlite", isolation_level=None)
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    return db
