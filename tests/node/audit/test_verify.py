"""``verify_log`` detects and locates every kind of tampering with the stored log."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit import merkle
from node.audit.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from node.audit.entry import encode, peek_index
from node.audit.exceptions import TamperDetected
from node.audit.log import AccessLog
from node.audit.reader import LogReader
from node.audit.store import DB_NAME, node_id
from node.audit.verify import VerifyReport, verify_log

from .conftest import make_entry, tamper_db

SIZE = 50


@pytest.fixture
def logdir(tmp_path: Path, signing_key: Ed25519PrivateKey) -> Iterator[Path]:
    """A log of 50 entries with checkpoints signed at sizes 20 and 50."""
    with AccessLog.open(tmp_path, signing_key, "bank-a") as log:
        log.append_many([make_entry(i) for i in range(20)])
        log.checkpoint()
        log.append_many([make_entry(i) for i in range(20, SIZE)])
        log.checkpoint()
    yield tmp_path


def _db(logdir: Path) -> sqlite3.Connection:
    return tamper_db(logdir)


def _rows(db: sqlite3.Connection) -> list[tuple[int, bytes]]:
    return [(i, bytes(d)) for i, d in db.execute("SELECT idx, data FROM entries ORDER BY idx")]


def _forge(i: int, seq: int) -> bytes:
    return encode(make_entry(999, purpose="innocent").stamped(seq, "2026-11-29T07:00:00.000000Z"))


def _rebuild_tree(db: sqlite3.Connection) -> None:
    """What a careful attacker does after editing: recompute leaf column and stored nodes."""
    hashes = [merkle.leaf_hash(d) for _, d in _rows(db)]
    db.execute("DELETE FROM nodes")
    for i, h in enumerate(hashes):
        db.execute("UPDATE entries SET leaf = ? WHERE idx = ?", (h, i))
    level, row = 0, hashes
    while len(row) > 1:
        row = [merkle.node_hash(row[j], row[j + 1]) for j in range(0, len(row) - 1, 2)]
        level += 1
        db.executemany(
            "INSERT INTO nodes VALUES (?, ?)", [(node_id(level, j), h) for j, h in enumerate(row)]
        )


def _verify(logdir: Path, key: Ed25519PrivateKey, anchor: SignedCheckpoint | None = None) -> object:
    with LogReader.open(logdir) as reader:
        try:
            return verify_log(reader, key.public_key(), anchor)
        except TamperDetected as err:
            return err


def _kinds(result: object) -> list[tuple[str, int | None]]:
    assert isinstance(result, TamperDetected), "tampering was not detected"
    return [(f.kind, f.position) for f in result.findings]


def test_untouched_log_verifies(logdir: Path, signing_key: Ed25519PrivateKey) -> None:
    # execute
    report = _verify(logdir, signing_key)

    # assert
    assert isinstance(report, VerifyReport)
    assert report.ok and report.entries_checked == SIZE and report.checkpoints_checked == 2


def test_edited_entry_is_located(logdir: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    with _db(logdir) as db:
        data = dict(_rows(db))[17].replace(b'"purpose":"training"', b'"purpose":"marketing"')
        db.execute("UPDATE entries SET data = ? WHERE idx = 17", (data,))

    # execute
    kinds = _kinds(_verify(logdir, signing_key))

    # assert
    assert kinds[0] == ("edited", 17)
    assert ("root_mismatch", None) in kinds


def test_edited_entry_with_recomputed_leaf_is_located_by_the_stored_tree(
    logdir: Path, signing_key: Ed25519PrivateKey
) -> None:
    # prepare
    with _db(logdir) as db:
        data = dict(_rows(db))[33].replace(b'"rows":133', b'"rows":1')
        db.execute(
            "UPDATE entries SET data = ?, leaf = ? WHERE idx = 33", (data, merkle.leaf_hash(data))
        )

    # execute
    kinds = _kinds(_verify(logdir, signing_key))

    # assert: the stored level-1 node over entries 32..33 no longer matches its children
    assert ("edited", 32) in kinds


def test_edit_with_whole_tree_rebuilt_is_bounded_by_checkpoints(
    logdir: Path, signing_key: Ed25519PrivateKey
) -> None:
    # prepare
    with _db(logdir) as db:
        data = dict(_rows(db))[33].replace(b'"rows":133', b'"rows":1')
        db.execute("UPDATE entries SET data = ? WHERE idx = 33", (data,))
        _rebuild_tree(db)

    # execute
    result = _verify(logdir, signing_key)
    kinds = _kinds(result)

    # assert: the first checkpoint (20) still holds, the one at 50 does not
    assert ("root_mismatch", None) in kinds
    assert ("diverges", 20) in kinds


def test_deleted_entry_is_located(logdir: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    with _db(logdir) as db:
        db.execute("DELETE FROM entries WHERE idx = 17")

    # execute
    kinds = _kinds(_verify(logdir, signing_key))

    # assert
    assert kinds[0] == ("missing", 17)


def test_deleted_and_renumbered_entry_is_located(
    logdir: Path, signing_key: Ed25519PrivateKey
) -> None:
    # prepare
    with _db(logdir) as db:
        db.execute("DELETE FROM entries WHERE idx = 17")
        db.execute("UPDATE entries SET idx = -(idx - 1) WHERE idx > 17")
        db.execute("UPDATE entries SET idx = -idx WHERE idx < 0")

    # execute
    kinds = _kinds(_verify(logdir, signing_key))

    # assert
    assert kinds[0] == ("out_of_place", 17)
    assert ("truncated", SIZE - 1) in kinds


def test_inserted_entry_is_located(logdir: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    with _db(logdir) as db:
        db.execute("UPDATE entries SET idx = -(idx + 1) WHERE idx >= 17")
        db.execute("UPDATE entries SET idx = -idx WHERE idx < 0")
        forged = _forge(17, 17)
        columns = peek_index(forged)
        assert columns is not None  # a careful forger fills the search columns honestly
        db.execute(
            "INSERT INTO entries VALUES (17, ?, ?, ?, ?, ?, ?, ?)",
            (forged, merkle.leaf_hash(forged), *columns.row()),
        )

    # execute
    kinds = _kinds(_verify(logdir, signing_key))

    # assert: the forged row claims 17 correctly, so the displaced original is reported
    assert kinds[0] == ("out_of_place", 18)
    assert ("root_mismatch", None) in kinds


def test_reordered_entries_are_located(logdir: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    with _db(logdir) as db:
        db.execute("UPDATE entries SET idx = -1 WHERE idx = 10")
        db.execute("UPDATE entries SET idx = 10 WHERE idx = 11")
        db.execute("UPDATE entries SET idx = 11 WHERE idx = -1")

    # execute
    kinds = _kinds(_verify(logdir, signing_key))

    # assert
    assert ("out_of_place", 10) in kinds and ("out_of_place", 11) in kinds


def test_truncated_log_is_detected(logdir: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    with _db(logdir) as db:
        db.execute("DELETE FROM entries WHERE idx >= 45")

    # execute
    kinds = _kinds(_verify(logdir, signing_key))

    # assert
    assert kinds == [("truncated", 45)]


def test_forged_last_checkpoint_is_detected(logdir: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare: replace the newest stored checkpoint with one under another key
    forger = Ed25519PrivateKey.generate()
    with LogReader.open(logdir) as reader:
        real = reader.latest_checkpoint()
    assert real is not None
    fake = sign_checkpoint(Checkpoint("bank-a", real.size, real.root, real.time), forger)
    with _db(logdir) as db:
        db.execute(
            "UPDATE checkpoints SET data = ? WHERE id = (SELECT MAX(id) FROM checkpoints)",
            (fake.to_bytes(),),
        )

    # execute
    kinds = _kinds(_verify(logdir, signing_key))

    # assert
    assert ("checkpoint_signature", None) in kinds
    assert ("stored_checkpoint", None) in kinds


def test_rewrite_resigned_with_the_node_key_needs_the_witnessed_checkpoint(
    logdir: Path, signing_key: Ed25519PrivateKey
) -> None:
    """An insider with the node key can rewrite and re-sign; only an outside copy catches it."""
    # prepare
    with LogReader.open(logdir) as reader:
        witnessed = reader.latest_checkpoint()
    assert witnessed is not None
    with _db(logdir) as db:
        data = dict(_rows(db))[33].replace(b'"rows":133', b'"rows":1')
        db.execute("UPDATE entries SET data = ? WHERE idx = 33", (data,))
        _rebuild_tree(db)
        hashes = [merkle.leaf_hash(d) for _, d in _rows(db)]
        resigned = sign_checkpoint(
            Checkpoint("bank-a", SIZE, merkle.root_from_hashes(hashes), witnessed.time),
            signing_key,
        )
        db.execute(
            "UPDATE checkpoints SET data = ? WHERE id = (SELECT MAX(id) FROM checkpoints)",
            (resigned.to_bytes(),),
        )

    # execute
    self_anchored = _verify(logdir, signing_key)
    witness_anchored = _verify(logdir, signing_key, witnessed)

    # assert
    assert isinstance(self_anchored, VerifyReport)  # the log alone cannot reveal it
    assert ("root_mismatch", None) in _kinds(witness_anchored)


def test_log_without_checkpoint_cannot_be_verified(
    tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    # prepare
    with AccessLog.open(tmp_path, signing_key, "bank-a") as log:
        log.append(make_entry())

    # execute / assert
    assert _kinds(_verify(tmp_path, signing_key)) == [("checkpoint_signature", None)]


def test_wrong_public_key_fails_naming_the_key_mismatch(logdir: Path) -> None:
    # execute
    result = _verify(logdir, Ed25519PrivateKey.generate())

    # assert: one finding that says which key to pass, not one per checkpoint
    assert _kinds(result) == [("key_mismatch", None)]
    assert isinstance(result, TamperDetected)
    assert "pass the certificate the federation CA issued to 'bank-a'" in result.findings[0].detail


def test_unsigned_tail_is_reported_not_failed(logdir: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    with AccessLog.open(logdir, signing_key, "bank-a") as log:
        log.append_many([make_entry(i) for i in range(3)])

    # execute
    report = _verify(logdir, signing_key)

    # assert
    assert isinstance(report, VerifyReport) and report.unsigned_tail == 3


def test_store_refuses_naive_updates_and_deletes(logdir: Path) -> None:
    # prepare
    db = sqlite3.connect(logdir / DB_NAME)

    # execute / assert
    for sql in (
        "UPDATE entries SET data = x'00' WHERE idx = 1",
        "DELETE FROM entries WHERE idx = 49",
        "DELETE FROM nodes",
        "UPDATE checkpoints SET data = x'00'",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)
    db.close()


def test_log_across_a_key_rotation_verifies_with_both_keys(
    logdir: Path, signing_key: Ed25519PrivateKey
) -> None:
    # prepare: the node rotates its signing key and keeps appending to the same log
    new_key = Ed25519PrivateKey.generate()
    with AccessLog.open(logdir, new_key, "bank-a") as log:
        log.append_many([make_entry(i) for i in range(3)])
        anchor = log.checkpoint()

    # execute
    with LogReader.open(logdir) as reader:
        both = verify_log(reader, [signing_key.public_key(), new_key.public_key()], anchor)
    new_only = _verify(logdir, new_key, anchor)

    # assert: every checkpoint verifies under one of the keys; the new key alone flags the old
    assert both.ok and both.checkpoints_checked == 3
    assert ("stored_checkpoint", None) in _kinds(new_only)
