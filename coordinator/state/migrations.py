"""Versioned schema migrations, the same for SQLite and PostgreSQL.

Each component (the store, the witness) owns a numbered list of migrations; the table
``schema_migrations`` records which of them a database has. Opening a database applies the
missing ones in order, in one write transaction (on PostgreSQL under an advisory lock, so two
coordinators starting together never migrate at once). A database that already has a newer
migration than this code knows is refused: an older coordinator must not write into a schema
it does not understand.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from coordinator.state.database import Database


@dataclass(frozen=True)
class Migration:
    """One schema step: ``ddl`` is statements separated by ``;`` with ``{blob}``, ``{real}``
    and ``{serial_pk}`` standing for the dialect's types."""

    version: int
    name: str
    ddl: str


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer coordinator than this one."""

    def __init__(self, component: str, found: int, known: int) -> None:
        super().__init__(
            f"the {component} schema in this database is at version {found}, newer than this "
            f"coordinator knows ({known}); run the newer coordinator or restore a backup"
        )
        self.component, self.found, self.known = component, found, known


_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    applied_at {real} NOT NULL,
    PRIMARY KEY (component, version)
)"""


def migrate(db: Database, component: str, migrations: Sequence[Migration]) -> int:
    """Apply ``component``'s missing migrations; return the schema version now in force.

    Raises
    ------
    SchemaTooNew
        The database holds a migration of ``component`` beyond the last one given.
    """
    known = max((m.version for m in migrations), default=0)
    dialect = db.dialect
    with db.transaction() as tx:
        if dialect.schema_lock:
            tx.execute(dialect.schema_lock)
        tx.execute(dialect.ddl(_TABLE))
        done = {
            int(v)
            for (v,) in tx.execute(
                "SELECT version FROM schema_migrations WHERE component = ?", (component,)
            ).fetchall()
        }
        if done and max(done) > known:
            raise SchemaTooNew(component, max(done), known)
        for migration in sorted(migrations, key=lambda m: m.version):
            if migration.version in done:
                continue
            for statement in dialect.ddl(migration.ddl).split(";"):
                if statement.strip():
                    tx.execute(statement)
            tx.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                (component, migration.version, migration.name, time.time()),
            )
    return known
