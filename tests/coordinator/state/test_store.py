"""The coordinator store keeps the same promises on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from coordinator.state import CoordinatorStore, EventRecord, JobRecord, JobState, NodeRecord
from coordinator.state.database import Database, open_database
from coordinator.state.sealing import SecretBox

# The store seals checkpoints at rest; these tests use a fixed key of their own.
BOX = SecretBox(bytes(range(32)))

CERT = b"-----BEGIN CERTIFICATE-----\n\x00binary\xff\n"


def node(node_id: str, seen: float, org: str = "Bank A") -> NodeRecord:
    return NodeRecord(node_id, org, "bank", CERT, "127.0.0.1:1", seen, seen, '["loans"]', "v1")


def job(job_id: str, created: float) -> JobRecord:
    return JobRecord(
        job_id, "psi", b"type: psi\n", ("bank", "gov"), JobState.PENDING, 0, "ops", created, created
    )


def test_nodes_keep_their_first_registration(database: Database) -> None:
    # prepare
    store = CoordinatorStore(database, BOX)
    store.upsert_node(node("bank", 10.0))
    # execute
    store.upsert_node(node("bank", 20.0, org="Bank A Ltd"))
    store.touch_node("bank", 30.0)
    # assert
    held = store.node("bank")
    assert held is not None
    assert (held.registered_at, held.last_seen, held.organization) == (10.0, 30.0, "Bank A Ltd")
    assert held.certificate_pem == CERT
    assert store.nodes() == [held] and store.node("gov") is None


def test_jobs_move_through_their_states(database: Database) -> None:
    # prepare
    store = CoordinatorStore(database, BOX)
    store.insert_job(job("j1", 1.0))
    store.insert_job(job("j2", 2.0))
    # execute
    running = store.update_job("j1", state=JobState.RUNNING, attempt=1)
    done = store.update_job("j1", state=JobState.SUCCEEDED, result_json='{"n": 1}')
    # assert
    assert (running.state, running.attempt) == (JobState.RUNNING, 1)
    assert (done.state, done.attempt, done.result_json) == (JobState.SUCCEEDED, 1, '{"n": 1}')
    assert [j.job_id for j in store.jobs()] == ["j1", "j2"]
    assert [j.job_id for j in store.jobs(JobState.PENDING)] == ["j2"]
    assert store.job("j2") == job("j2", 2.0)
    with pytest.raises(KeyError):
        store.update_job("nope", error="x")


def test_events_are_numbered_in_order_and_read_after_an_id(database: Database) -> None:
    # prepare
    store = CoordinatorStore(database, BOX)
    ids = [
        store.add_event(EventRecord("j1", float(i), "progress", "bank", {"i": i})) for i in range(3)
    ]
    store.add_event(EventRecord("j2", 9.0, "state"))
    # execute
    later = store.events("j1", after_id=ids[0])
    # assert
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [(i, e.detail) for i, e in later] == [(ids[1], {"i": 1}), (ids[2], {"i": 2})]


def test_checkpoints_are_replaced_not_duplicated(database: Database) -> None:
    # prepare
    store = CoordinatorStore(database, BOX)
    store.save_checkpoint("j1", "key", b"\x00first")
    # execute
    store.save_checkpoint("j1", "key", b"\x00second")
    # assert
    assert store.load_checkpoint("j1", "key") == b"\x00second"
    assert store.load_checkpoint("j1", "other") is None


def test_state_survives_reopening(database_url: str, tmp_path: object) -> None:
    # prepare: a store written by one coordinator process ...
    first = CoordinatorStore(open_database(database_url, None), BOX)  # type: ignore[arg-type]
    first.upsert_node(node("bank", 1.0))
    first.insert_job(job("j1", 1.0))
    first.save_checkpoint("j1", "round", b"3")
    first.close()
    # execute: ... is opened by the next one (a restart, or a standby taking over)
    second = CoordinatorStore(open_database(database_url, None), BOX)  # type: ignore[arg-type]
    # assert
    assert [n.node_id for n in second.nodes()] == ["bank"]
    assert second.job("j1") == job("j1", 1.0)
    assert second.load_checkpoint("j1", "round") == b"3"
    second.close()
