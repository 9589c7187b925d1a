"""Coordinator state that survives restarts, in SQLite or PostgreSQL.

Everything the coordinator must have back after a crash lives here: who registered (with the
certificate they presented), every job with its attempt counter and result, the event history,
and the checkpoints of the coordinator's own protocol roles (e.g. the key holder's Paillier key
for a vertical job), sealed under the at-rest key (``coordinator.state.sealing``) and deleted
when their job ends, and the nodes an operator must look at (quarantine). Relay traffic is
deliberately not stored: it is sealed, short-lived, and a resumed job restarts its round from
the last checkpoint.

The SQL below is written once for both engines (``coordinator.state.database``); the schema is
built by the versioned ``MIGRATIONS`` (``coordinator.state.migrations``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from coordinator.state.database import Database, SqliteDatabase, Transaction
from coordinator.state.migrations import Migration, migrate
from coordinator.state.records import EventRecord, JobRecord, JobState, NodeRecord
from coordinator.state.sealing import SealedSecretError, SecretBox
from node.state import private_file

log = logging.getLogger("fedcredit.coordinator.store")

# Version 1 is the schema every SQLite store had before migrations were recorded: its
# statements keep "IF NOT EXISTS", so recording it on such a database changes nothing.
_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    node_id TEXT PRIMARY KEY,
    organization TEXT NOT NULL,
    role TEXT NOT NULL,
    certificate_pem {blob} NOT NULL,
    address TEXT NOT NULL,
    registered_at {real} NOT NULL,
    last_seen {real} NOT NULL,
    datasets_json TEXT NOT NULL,
    policy_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    job_type TEXT NOT NULL,
    spec_yaml {blob} NOT NULL,
    parties_json TEXT NOT NULL,
    state TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    submitted_by TEXT NOT NULL,
    created_at {real} NOT NULL,
    updated_at {real} NOT NULL,
    result_json TEXT NOT NULL,
    error TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id {serial_pk},
    job_id TEXT NOT NULL,
    time {real} NOT NULL,
    kind TEXT NOT NULL,
    party TEXT NOT NULL,
    detail_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_job ON events (job_id, id);
CREATE TABLE IF NOT EXISTS checkpoints (
    job_id TEXT NOT NULL,
    name TEXT NOT NULL,
    data {blob} NOT NULL,
    saved_at {real} NOT NULL,
    PRIMARY KEY (job_id, name)
)
"""

_SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS quarantine (
    node_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    since {real} NOT NULL
)
"""

MIGRATIONS = (
    Migration(1, "nodes, jobs, events, checkpoints", _SCHEMA_V1),
    Migration(2, "quarantine", _SCHEMA_V2),
)


class CoordinatorStore:
    """Thread-safe access to the coordinator's database.

    One connection guarded by a lock: coordinator writes are small and infrequent (registrations,
    job transitions, progress events), so serialising them costs nothing. Each commit is
    durable (SQLite: WAL with ``synchronous=FULL``; PostgreSQL: its default ``fsync``).

    ``database`` is a ``Database`` (``coordinator.state.database.open_database``) or, for the
    embedded default, the path of a SQLite file.
    """

    def __init__(self, database: Database | Path | str, box: SecretBox) -> None:
        if not isinstance(database, Database):
            database = SqliteDatabase(private_file(Path(database)))
        self._db = database
        self._box = box
        self._lock = threading.RLock()
        migrate(self._db, "store", MIGRATIONS)
        # Wakes job watchers when any event is added, so they need not poll.
        self._event_added = threading.Condition()
        row = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()
        self._last_event = int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[Transaction]:
        with self._lock, self._db.transaction() as tx:
            yield tx

    # nodes -------------------------------------------------------------------------------

    def upsert_node(self, node: NodeRecord) -> None:
        """Insert or refresh a node; ``registered_at`` is kept from the first registration."""
        with self._tx() as db:
            db.execute(
                """INSERT INTO nodes VALUES (?,?,?,?,?,?,?,?,?)
                ON CONFLICT(node_id) DO UPDATE SET organization=excluded.organization,
                  role=excluded.role, certificate_pem=excluded.certificate_pem,
                  address=excluded.address, last_seen=excluded.last_seen,
                  datasets_json=excluded.datasets_json, policy_version=excluded.policy_version""",
                (
                    node.node_id,
                    node.organization,
                    node.role,
                    node.certificate_pem,
                    node.address,
                    node.registered_at,
                    node.last_seen,
                    node.datasets_json,
                    node.policy_version,
                ),
            )

    def touch_node(self, node_id: str, when: float | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE nodes SET last_seen=? WHERE node_id=?", (when or time.time(), node_id)
            )

    def nodes(self) -> list[NodeRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM nodes ORDER BY node_id").fetchall()
        return [NodeRecord(*row) for row in rows]

    def node(self, node_id: str) -> NodeRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM nodes WHERE node_id=?", (node_id,)).fetchone()
        return NodeRecord(*row) if row else None

    # jobs --------------------------------------------------------------------------------

    def insert_job(self, job: JobRecord) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    job.job_id,
                    job.job_type,
                    job.spec_yaml,
                    json.dumps(list(job.parties)),
                    job.state.value,
                    job.attempt,
                    job.submitted_by,
                    job.created_at,
                    job.updated_at,
                    job.result_json,
                    job.error,
                ),
            )

    def update_job(
        self,
        job_id: str,
        *,
        state: JobState | None = None,
        attempt: int | None = None,
        result_json: str | None = None,
        error: str | None = None,
    ) -> JobRecord:
        """Change the given fields of a job and return it as stored."""
        sets: list[str] = ["updated_at=?"]
        args: list[object] = [time.time()]
        for column, value in (
            ("state", state.value if state else None),
            ("attempt", attempt),
            ("result_json", result_json),
            ("error", error),
        ):
            if value is not None:
                sets.append(f"{column}=?")
                args.append(value)
        with self._tx() as db:
            db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE job_id=?", (*args, job_id))
        job = self.job(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def job(self, job_id: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE job_id=?", (job_id,)).fetchone()
        return _job(row) if row else None

    def jobs(self, state: JobState | None = None) -> list[JobRecord]:
        with self._lock:
            if state is None:
                rows = self._db.execute("SELECT * FROM jobs ORDER BY created_at").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM jobs WHERE state=? ORDER BY created_at", (state.value,)
                ).fetchall()
        return [_job(row) for row in rows]

    # events ------------------------------------------------------------------------------

    def add_event(self, event: EventRecord) -> int:
        with self._tx() as db:
            row = db.execute(
                "INSERT INTO events (job_id, time, kind, party, detail_json) VALUES (?,?,?,?,?) "
                "RETURNING id",
                (event.job_id, event.time, event.kind, event.party, json.dumps(event.detail)),
            ).fetchone()
            row_id = int(row[0]) if row else 0
        with self._event_added:
            self._last_event = max(self._last_event, row_id)
            self._event_added.notify_all()
        return row_id

    def wait_for_event(self, after_id: int, timeout: float) -> int:
        """Block until an event newer than ``after_id`` (of any job) exists or ``timeout``
        passes; return the newest event id seen. Watchers pass what this returned last."""
        with self._event_added:
            self._event_added.wait_for(lambda: self._last_event > after_id, timeout)
            return self._last_event

    def events(self, job_id: str, after_id: int = 0) -> list[tuple[int, EventRecord]]:
        """Events of ``job_id`` with row id greater than ``after_id``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, job_id, time, kind, party, detail_json FROM events "
                "WHERE job_id=? AND id>? ORDER BY id",
                (job_id, after_id),
            ).fetchall()
        return [(r[0], EventRecord(r[1], r[2], r[3], r[4], json.loads(r[5]))) for r in rows]

    # coordinator-role checkpoints --------------------------------------------------------

    def save_checkpoint(self, job_id: str, name: str, data: bytes) -> None:
        """Store ``data`` sealed: the database never holds a checkpoint in plain text."""
        sealed = self._box.seal(data, _row_context(job_id, name))
        with self._tx() as db:
            db.execute(
                """INSERT INTO checkpoints VALUES (?,?,?,?) ON CONFLICT (job_id, name)
                DO UPDATE SET data=excluded.data, saved_at=excluded.saved_at""",
                (job_id, name, sealed, time.time()),
            )

    def load_checkpoint(self, job_id: str, name: str) -> bytes | None:
        """The checkpoint, or ``None`` if there is none or it does not open (the role then
        starts afresh, as after a lost key file)."""
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM checkpoints WHERE job_id=? AND name=?", (job_id, name)
            ).fetchone()
        if row is None:
            return None
        try:
            return self._box.open(bytes(row[0]), _row_context(job_id, name))
        except SealedSecretError as exc:
            log.warning("checkpoint %s of job %s ignored: %s", name, job_id, exc)
            return None

    def delete_checkpoints(self, job_id: str, names: Collection[str] | None = None) -> int:
        """Delete the job's checkpoints (only ``names`` if given); return how many went."""
        with self._tx() as db:
            if names is None:
                cur = db.execute("DELETE FROM checkpoints WHERE job_id=?", (job_id,))
            else:
                return sum(
                    db.execute(
                        "DELETE FROM checkpoints WHERE job_id=? AND name=?", (job_id, n)
                    ).rowcount
                    for n in names
                )
            return int(cur.rowcount)

    # quarantine --------------------------------------------------------------------------

    def quarantine(self, node_id: str, reason: str) -> bool:
        """Put ``node_id`` in quarantine; return False if it already was (reason kept)."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO quarantine VALUES (?,?,?) ON CONFLICT (node_id) DO NOTHING",
                (node_id, reason, time.time()),
            )
            return cur.rowcount > 0

    def lift_quarantine(self, node_id: str) -> bool:
        """Release ``node_id``; return False if it was not quarantined."""
        with self._tx() as db:
            return db.execute("DELETE FROM quarantine WHERE node_id=?", (node_id,)).rowcount > 0

    def quarantine_reason(self, node_id: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT reason FROM quarantine WHERE node_id=?", (node_id,)
            ).fetchone()
        return str(row[0]) if row else None

    def quarantined(self) -> dict[str, str]:
        """Every quarantined node with its reason."""
        with self._lock:
            rows = self._db.execute("SELECT node_id, reason FROM quarantine").fetchall()
        return {str(n): str(r) for n, r in rows}


def _row_context(job_id: str, name: str) -> bytes:
    return f"fedcredit checkpoint v1\0{job_id}\0{name}".encode()


def _job(row: tuple[object, ...]) -> JobRecord:
    (job_id, job_type, spec, parties, state, attempt, by, created, updated, result, error) = row
    return JobRecord(
        job_id=str(job_id),
        job_type=str(job_type),
        spec_yaml=bytes(spec),  # type: ignore[call-overload]
        parties=tuple(json.loads(str(parties))),
        state=JobState(str(state)),
        attempt=int(attempt),  # type: ignore[call-overload]
        submitted_by=str(by),
        created_at=float(created),  # type: ignore[arg-type]
        updated_at=float(updated),  # type: ignore[arg-type]
        result_json=str(result),
        error=str(error),
    )
