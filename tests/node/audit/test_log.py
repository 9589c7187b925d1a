"""The writable access log: durable group-commit appends, proofs from stored nodes, checkpoints."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit import merkle
from node.audit.entry import Action, Actor, decode
from node.audit.exceptions import (
    InvalidCheckpoint,
    LogClosedError,
    LogCorruptError,
    LogLockedError,
    OriginMismatch,
    ProofRangeError,
)
from node.audit.log import AccessLog
from node.audit.reader import LogReader
from node.audit.search import SearchQuery
from node.audit.tokens import FirmTokenizer

from .conftest import make_entry, tamper_db


def _all_bytes(log: LogReader) -> list[bytes]:
    return [d for _, d, _ in log.store.iter_entries()]


def test_append_is_durable_and_ordered(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    with AccessLog.open(tmp_path, signing_key, "bank-a") as log:
        # execute
        first = log.append(make_entry(0))
        rest = log.append_many([make_entry(i) for i in range(1, 10)])

    # assert
    assert first == 0 and rest == list(range(1, 10))
    with LogReader.open(tmp_path) as reader:
        assert reader.size() == 10
        assert reader.origin == "bank-a"
        entries = [reader.entry(i) for i in range(10)]
    assert [e.seq for e in entries] == list(range(10))
    assert [e.rows for e in entries] == [100 + i for i in range(10)]


def test_concurrent_appends_build_the_rfc6962_tree(
    tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    # prepare
    log = AccessLog.open(tmp_path, signing_key, "bank-a")
    got: list[int] = []
    lock = threading.Lock()

    def worker(w: int) -> None:
        for i in range(40):
            idx = log.append(make_entry(w * 100 + i))
            with lock:
                got.append(idx)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]

    # execute
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cp = log.checkpoint()
    data = _all_bytes(log)

    # assert
    assert sorted(got) == list(range(240))
    assert cp.size == 240
    assert cp.root == merkle.root(data)
    cp.verify(signing_key.public_key())
    for size in (1, 2, 3, 7, 64, 100, 239, 240):
        assert log.root_at(size) == merkle.root(data[:size])
        for index in {0, size // 2, size - 1}:
            assert log.inclusion_proof(index, size) == merkle.inclusion_proof(data[:size], index)
        for old in (0, 1, size // 3, size):
            assert log.consistency_proof(old, size) == merkle.consistency_proof(data[:size], old)
    log.close()


def test_reopen_continues_the_same_tree(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    with AccessLog.open(tmp_path, signing_key, "bank-a") as log:
        log.append_many([make_entry(i) for i in range(13)])
        old = log.checkpoint()

    # execute
    with AccessLog.open(tmp_path, signing_key, "bank-a") as log:
        log.append_many([make_entry(i) for i in range(13, 30)])
        new = log.checkpoint()
        proof = log.consistency_proof(old.size)
        data = _all_bytes(log)
        stored = log.checkpoints()

    # assert
    assert new.root == merkle.root(data)
    merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    assert [c.size for c in stored] == [13, 30]


def test_second_writer_is_refused(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    # execute / assert
    with AccessLog.open(tmp_path, signing_key, "bank-a"), pytest.raises(LogLockedError):
        AccessLog.open(tmp_path, signing_key, "bank-a")


def test_other_origin_is_refused(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    AccessLog.open(tmp_path, signing_key, "bank-a").close()

    # execute / assert
    with pytest.raises(OriginMismatch):
        AccessLog.open(tmp_path, signing_key, "bank-b")


def test_proofs_beyond_the_log_are_refused(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    with AccessLog.open(tmp_path, signing_key, "bank-a") as log:
        log.append_many([make_entry(i) for i in range(5)])

        # execute / assert
        with pytest.raises(ProofRangeError):
            log.inclusion_proof(5)
        with pytest.raises(ProofRangeError):
            log.inclusion_proof(0, 6)
        with pytest.raises(ProofRangeError):
            log.consistency_proof(6, 5)
        with pytest.raises(ProofRangeError):
            log.entry_bytes(9)


def test_closed_log_takes_no_appends(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    log = AccessLog.open(tmp_path, signing_key, "bank-a")
    log.close()

    # execute / assert
    with pytest.raises(LogClosedError):
        log.append(make_entry())


def test_failed_write_stops_the_log(
    tmp_path: Path, signing_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # prepare
    log = AccessLog.open(tmp_path, signing_key, "bank-a")
    log.append(make_entry(0))

    def disk_full(*args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(log.store, "write_batch", disk_full)

    # execute / assert
    with pytest.raises(LogClosedError):
        log.append(make_entry(1))
    with pytest.raises(LogClosedError):
        log.append(make_entry(2))
    assert log.size() == 1
    log.close()


def test_missing_rows_are_refused_on_open(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    with AccessLog.open(tmp_path, signing_key, "bank-a") as log:
        log.append_many([make_entry(i) for i in range(5)])
    with tamper_db(tmp_path) as db:
        db.execute("DELETE FROM entries WHERE idx = 2")

    # execute / assert
    with pytest.raises(LogCorruptError):
        AccessLog.open(tmp_path, signing_key, "bank-a")


def test_time_never_runs_backwards(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    ticks = iter([1_800_000_000.0, 1_700_000_000.0, 1_800_000_001.0])
    with AccessLog.open(tmp_path, signing_key, "bank-a", clock=lambda: next(ticks)) as log:
        # execute
        for i in range(3):
            log.append(make_entry(i))
        times = [log.entry(i).time for i in range(3)]

    # assert
    assert times[0] == times[1] < times[2]  # type: ignore[operator]


def test_interval_checkpoints_are_published(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    published: list[int] = []
    done = threading.Event()

    def publish(cp: object) -> None:
        published.append(cp.size)  # type: ignore[attr-defined]
        done.set()

    # execute
    with AccessLog.open(
        tmp_path, signing_key, "bank-a", checkpoint_interval=0.05, on_checkpoint=publish
    ) as log:
        log.append_many([make_entry(i) for i in range(4)])
        assert done.wait(timeout=30)

    # assert
    assert published[0] == 4


def test_publication_signs_only_when_needed(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    with AccessLog.open(tmp_path, signing_key, "bank-a") as log:
        log.append_many([make_entry(i) for i in range(3)])
        first, proof0 = log.publication(None)
        again, _ = log.publication(first.size)
        log.append(make_entry(3))

        # execute
        second, proof = log.publication(first.size)

    # assert
    assert proof0 == [] and again == first
    merkle.verify_consistency(first.size, second.size, first.root, second.root, proof)


def test_search_by_every_criterion(
    tmp_path: Path, signing_key: Ed25519PrivateKey, tokenizer: FirmTokenizer
) -> None:
    # prepare
    firm = tokenizer.token("91110105MA01ABCD2X")
    ticks = iter(1_800_000_000.0 + i for i in range(100))
    with AccessLog.open(tmp_path, signing_key, "bank-a", clock=lambda: next(ticks)) as log:
        log.append(make_entry(0))
        log.append(make_entry(1, action=Action.RELEASE, dataset="tax", subjects=(firm,)))
        log.append(make_entry(2, actor=Actor("Gov DC", "gov-1", "auditor")))
        log.append(make_entry(3, action=Action.DENIAL, result="denied: no rule"))
        t2 = log.entry(2).time
        reader = LogReader.open(tmp_path)

    # execute
    def hits(**kw: object) -> list[int]:
        return [i for i, _ in reader.search(SearchQuery(**kw))]  # type: ignore[arg-type]

    # assert
    assert hits(subject=firm) == [1]
    assert hits(action=Action.DENIAL) == [3]
    assert hits(actor="Gov DC") == [2]
    assert hits(actor="Gov DC/gov-1/auditor") == [2]
    assert hits(actor="Gov") == []
    assert hits(dataset="tax") == [1]
    assert hits(job_id="job-0") == [0]
    assert hits(since=t2) == [2, 3]
    assert hits(until=t2) == [0, 1]
    assert hits(action="read", actor="Bank A") == [0]
    assert decode(reader.entry_bytes(1)).subjects == (firm,)
    reader.close()


def test_invalid_origin_and_interval_are_refused(
    tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    # execute / assert
    with pytest.raises(InvalidCheckpoint):
        AccessLog.open(tmp_path, signing_key, "bank a\n")
    with pytest.raises(ValueError):
        AccessLog.open(tmp_path, signing_key, "bank-a", checkpoint_interval=0)
    # neither attempt left the log locked or claimed by an origin
    with AccessLog.open(tmp_path, signing_key, "bank-b") as log:
        assert log.origin == "bank-b"
