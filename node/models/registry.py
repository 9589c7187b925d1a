"""A node's registry of deployed model parts: versions, deploy, promote, roll back.

Each deployment of a part under a model name gets the next version number at this node. The
**current** version is what this node's own decisions use (the bank's head); a holder serves
the newest non-retired version built from the training job a request names, so the parts that
answer together always come from one training run. Rolling back retires the current version
and makes the previous one current; a retired version never answers again. The registry is a
SQLite file in the node's state folder, so the CLI can deploy while the node runs.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from node.models.exceptions import ModelError, ModelNotFound
from node.models.part import ModelPart, load_part
from node.state.db import open_state_db

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS deployments (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    job_id TEXT NOT NULL,
    party TEXT NOT NULL,
    status TEXT NOT NULL,           -- deployed | retired
    deployed_at REAL NOT NULL,
    sha256 TEXT NOT NULL,
    part TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS current (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Deployment:
    """One deployed version of a model part at this node."""

    name: str
    version: int
    kind: str
    job_id: str
    party: str
    status: str
    deployed_at: float
    sha256: str
    current: bool

    def label(self) -> str:
        """``name@version``, the form decision records cite."""
        return f"{self.name}@{self.version}"


class ModelRegistry:
    """The deployments of one node (thread-safe; other processes may write concurrently)."""

    def __init__(self, state_dir: Path) -> None:
        self._db = open_state_db(state_dir / "models" / "registry.sqlite", _SCHEMA)
        self._lock = threading.Lock()
        self._parts: dict[tuple[str, int], ModelPart] = {}
        # answers of ``current``/``serving``, valid while nobody wrote the file: SQLite's
        # ``data_version`` changes when another connection (the CLI) commits, and this
        # connection's own writes clear it, so each request costs one pragma, not a query
        self._answers: dict[tuple[str, ...], Deployment] = {}
        self._seen_version = -1

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # writing ---------------------------------------------------------------------------

    def deploy(self, name: str, part: ModelPart, *, promote: bool = True) -> Deployment:
        """Store ``part`` as the next version of ``name``; make it current unless told not to.

        Raises
        ------
        ModelError
            ``name`` is empty or not a plain word.
        """
        if not name or not all(c.isalnum() or c in "-_." for c in name) or len(name) > 64:
            raise ModelError(f"model name {name!r} must be 1-64 letters, digits, '-', '_', '.'")
        body = json.dumps(part.to_dict(), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(body.encode()).hexdigest()
        info = part.info
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (top,) = self._db.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM deployments WHERE name = ?", (name,)
                ).fetchone()
                version = int(top) + 1
                self._db.execute(
                    "INSERT INTO deployments VALUES (?, ?, ?, ?, ?, 'deployed', ?, ?, ?)",
                    (name, version, info.kind, info.job_id, info.party, time.time(), digest, body),
                )
                if promote:
                    self._set_current(name, version)
                self._db.execute("COMMIT")
                self._answers.clear()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return self.deployment(name, version)

    def _set_current(self, name: str, version: int) -> None:
        self._db.execute(
            "INSERT INTO current VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET version = ?",
            (name, version, version),
        )

    def promote(self, name: str, version: int) -> Deployment:
        """Make ``version`` of ``name`` current (it must exist and not be retired).

        Raises
        ------
        ModelNotFound
            No such version, or it was retired.
        """
        found = self.deployment(name, version)
        if found.status == "retired":
            raise ModelError(f"{found.label()} was retired by a rollback; deploy it again")
        with self._lock:
            self._set_current(name, version)
            self._answers.clear()
        return self.deployment(name, version)

    def rollback(self, name: str) -> Deployment:
        """Retire the current version of ``name`` and make the previous deployed one current.

        Raises
        ------
        ModelNotFound
            ``name`` has no current version.
        ModelError
            There is no earlier non-retired version to go back to.
        """
        current = self.current(name)
        with self._lock:
            row = self._db.execute(
                "SELECT MAX(version) FROM deployments WHERE name = ? AND version < ? "
                "AND status = 'deployed'",
                (name, current.version),
            ).fetchone()
            if row is None or row[0] is None:
                raise ModelError(
                    f"{current.label()} has no earlier deployed version to roll back to"
                )
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "UPDATE deployments SET status = 'retired' WHERE name = ? AND version = ?",
                (name, current.version),
            )
            self._set_current(name, int(row[0]))
            self._db.execute("COMMIT")
            self._answers.clear()
        return self.deployment(name, int(row[0]))

    # reading ---------------------------------------------------------------------------

    def _cached(self, key: tuple[str, ...]) -> Deployment | None:
        with self._lock:
            (version,) = self._db.execute("PRAGMA data_version").fetchone()
            if version != self._seen_version:
                self._answers.clear()
                self._seen_version = version
            return self._answers.get(key)

    def _remember(self, key: tuple[str, ...], found: Deployment) -> Deployment:
        with self._lock:
            self._answers[key] = found
        return found

    def _rows(self, where: str, params: tuple[object, ...]) -> list[Deployment]:
        with self._lock:
            rows = self._db.execute(
                "SELECT d.name, d.version, d.kind, d.job_id, d.party, d.status, d.deployed_at, "
                "d.sha256, c.version IS NOT NULL FROM deployments d LEFT JOIN current c "
                f"ON c.name = d.name AND c.version = d.version WHERE {where} "
                "ORDER BY d.name, d.version",
                params,
            ).fetchall()
        return [
            Deployment(r[0], int(r[1]), r[2], r[3], r[4], r[5], float(r[6]), r[7], bool(r[8]))
            for r in rows
        ]

    def list(self, name: str | None = None) -> list[Deployment]:
        """Every deployment (of ``name``), oldest first."""
        return self._rows("d.name = ?", (name,)) if name else self._rows("1", ())

    def deployment(self, name: str, version: int) -> Deployment:
        rows = self._rows("d.name = ? AND d.version = ?", (name, version))
        if not rows:
            raise ModelNotFound(name, version)
        return rows[0]

    def current(self, name: str) -> Deployment:
        """The version this node's own decisions use.

        Raises
        ------
        ModelNotFound
            Nothing of that name is current.
        """
        cached = self._cached(("current", name))
        if cached is not None:
            return cached
        rows = self._rows("d.name = ? AND c.version IS NOT NULL", (name,))
        if not rows:
            raise ModelNotFound(name)
        return self._remember(("current", name), rows[0])

    def serving(self, name: str, job_id: str) -> Deployment:
        """The newest non-retired version of ``name`` built from training job ``job_id``.

        Raises
        ------
        ModelNotFound
            This node has no such part (never deployed, or every one retired).
        """
        cached = self._cached(("serving", name, job_id))
        if cached is not None:
            return cached
        rows = self._rows("d.name = ? AND d.job_id = ? AND d.status = 'deployed'", (name, job_id))
        if not rows:
            raise ModelNotFound(name)
        return self._remember(("serving", name, job_id), rows[-1])

    def part(self, deployment: Deployment) -> ModelPart:
        """The part of a deployment, parsed once and cached."""
        key = (deployment.name, deployment.version)
        cached = self._parts.get(key)
        if cached is not None:
            return cached
        with self._lock:
            (body,) = self._db.execute(
                "SELECT part FROM deployments WHERE name = ? AND version = ?", key
            ).fetchone()
        part = load_part(json.loads(body), f"deployed part {deployment.label()}")
        self._parts[key] = part
        return part
