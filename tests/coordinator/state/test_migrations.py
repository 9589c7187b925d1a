"""Schema migrations: applied once, in order, recorded; a newer schema is refused."""

from __future__ import annotations

import pytest

from coordinator.state.database import Database
from coordinator.state.migrations import Migration, SchemaTooNew, migrate

STEPS = [
    Migration(1, "things", "CREATE TABLE things (id {serial_pk}, data {blob} NOT NULL)"),
    Migration(
        2, "when", "ALTER TABLE things ADD COLUMN at {real}; CREATE INDEX things_at ON things (at)"
    ),
]


def test_migrations_apply_once_in_order(database: Database) -> None:
    # execute: the second run finds nothing to do
    first = migrate(database, "demo", STEPS[:1])
    second = migrate(database, "demo", STEPS)
    again = migrate(database, "demo", STEPS)
    with database.transaction() as tx:
        row = tx.execute(
            "INSERT INTO things (data, at) VALUES (?, ?) RETURNING id", (b"\x00x", 1.5)
        ).fetchone()
    # assert
    assert (first, second, again) == (1, 2, 2)
    applied = database.execute(
        "SELECT version, name FROM schema_migrations WHERE component = ? ORDER BY version",
        ("demo",),
    ).fetchall()
    assert applied == [(1, "things"), (2, "when")]
    assert row is not None
    stored = database.execute("SELECT data, at FROM things WHERE id = ?", (row[0],)).fetchall()
    assert stored == [(b"\x00x", 1.5)]


def test_components_are_versioned_separately(database: Database) -> None:
    # execute
    migrate(database, "demo", STEPS)
    migrate(database, "other", [Migration(1, "x", "CREATE TABLE other_x (k TEXT PRIMARY KEY)")])
    # assert
    rows = database.execute(
        "SELECT component, version FROM schema_migrations ORDER BY component, version"
    ).fetchall()
    assert rows == [("demo", 1), ("demo", 2), ("other", 1)]


def test_a_newer_schema_is_refused(database: Database) -> None:
    # prepare
    migrate(database, "demo", STEPS)
    # execute / assert
    with pytest.raises(SchemaTooNew) as info:
        migrate(database, "demo", STEPS[:1])
    assert (info.value.found, info.value.known) == (2, 1)


def test_a_failed_migration_leaves_nothing_behind(database: Database) -> None:
    # prepare: the second statement fails
    broken = [Migration(1, "half", "CREATE TABLE half (k TEXT); CREATE TABLE half (k TEXT)")]
    # execute
    with pytest.raises(Exception):  # noqa: B017 - each engine raises its own error type
        migrate(database, "broken", broken)
    # assert: the first statement was rolled back with it, and the version is not recorded
    assert migrate(database, "broken", [Migration(1, "half", "CREATE TABLE half (k TEXT)")]) == 1
