"""The ``fedcredit-audit`` commands, run in-process on real log directories."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from node.audit.entry import AccessEntry, Action, Actor
from node.audit.log import AccessLog
from node.audit.store import DB_NAME
from node.cli.audit import EXIT_BAD_INPUT, EXIT_FAILED, app

runner = CliRunner()


def _entry(i: int) -> AccessEntry:
    return AccessEntry(
        Actor("Bank A", "bank-a", "trainer"),
        Action.RELEASE if i % 4 == 0 else Action.READ,
        "training",
        "allowed",
        job_id=f"job-{i % 3}",
        dataset="loans",
        rows=i,
    )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A log of 12 entries with a kept checkpoint at 8 and a stored one at 12, plus a key file."""
    key = Ed25519PrivateKey.generate()
    pub = tmp_path / "node.pub.pem"
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with AccessLog.open(tmp_path / "log", key, "bank-a") as log:
        log.append_many([_entry(i) for i in range(8)])
        kept = tmp_path / "kept.checkpoint"
        kept.write_bytes(log.checkpoint().to_bytes())
        log.append_many([_entry(i) for i in range(8, 12)])
        log.checkpoint()
    return tmp_path / "log", pub, kept


def _tamper(log: Path) -> sqlite3.Connection:
    """Open the log's database as an attacker would: append-only triggers dropped first."""
    db = sqlite3.connect(log / DB_NAME, isolation_level=None)
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    return db


def _json(args: list[str], code: int = 0) -> object:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_verify_ok_then_tampered(setup: tuple[Path, Path, Path]) -> None:
    # prepare
    log, pub, kept = setup

    # execute
    ok = _json(["verify", str(log), "--public-key", str(pub), "--checkpoint", str(kept)])
    with _tamper(log) as db:
        db.execute("UPDATE entries SET data = replace(data, 'allowed', 'refused') WHERE idx = 5")
    bad = _json(["verify", str(log), "--public-key", str(pub)], EXIT_FAILED)
    bad_kept = _json(
        ["verify", str(log), "--public-key", str(pub), "--checkpoint", str(kept)], EXIT_FAILED
    )

    # assert
    assert ok["ok"] is True and ok["entries_checked"] == 12  # type: ignore[index]
    assert ok["anchored"] is True and ok["unsigned_tail"] == 4  # type: ignore[index]
    assert bad["findings"][0] == {  # type: ignore[index]
        "kind": "edited",
        "position": 5,
        "detail": "entry 5 no longer matches its stored leaf hash",
    }
    assert bad_kept["ok"] is False  # type: ignore[index]


def test_prove_and_consistency(setup: tuple[Path, Path, Path]) -> None:
    # prepare
    log, pub, kept = setup

    # execute
    proof = _json(["prove", str(log), "9", "--public-key", str(pub)])
    old = _json(["prove", str(log), "3", "--public-key", str(pub), "--checkpoint", str(kept)])
    cons = _json(["consistency", str(log), str(kept), "--public-key", str(pub)])

    # assert
    assert proof["verified"] and proof["tree_size"] == 12 and len(proof["proof"]) == 3  # type: ignore[index]
    assert old["tree_size"] == 8 and len(old["proof"]) == 3  # type: ignore[index]
    assert cons == {"consistent": True, "old_size": 8, "new_size": 12, "proof": cons["proof"]}  # type: ignore[index]
    assert len(cons["proof"]) == 1  # type: ignore[index]


def test_search_export_verify_export(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    # prepare
    log, pub, _ = setup
    out = tmp_path / "releases.jsonl"

    # execute
    hits = _json(["search", str(log), "--action", "release", "--job", "job-0"])
    summary = _json(["export", str(log), str(out), "--action", "release"])
    checked = _json(["verify-export", str(out), "--public-key", str(pub)])

    # assert
    assert [h["index"] for h in hits] == [0]  # type: ignore[attr-defined]
    assert summary == {"origin": "bank-a", "checkpoint_size": 12, "count": 3, "complete": False}
    assert [e["index"] for e in checked["entries"]] == [0, 4, 8]  # type: ignore[index]


def test_checkpoint_command_prints_the_stored_checkpoint(
    setup: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    # prepare
    log, _, _ = setup

    # execute
    result = runner.invoke(app, ["checkpoint", str(log), "--out", str(tmp_path / "cp")])

    # assert
    assert result.exit_code == 0
    assert result.stdout.splitlines()[2] == "12"
    assert (tmp_path / "cp").read_text() == result.stdout


def test_bad_inputs_exit_2(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    # prepare
    log, pub, _ = setup
    (tmp_path / "junk.pem").write_text("junk")

    # execute / assert
    for args in (
        ["verify", str(log), "--public-key", str(tmp_path / "junk.pem")],
        ["verify", str(tmp_path / "nowhere"), "--public-key", str(pub)],
        ["prove", str(log), "12", "--public-key", str(pub)],
        ["search", str(log), "--action", "steal"],
    ):
        assert runner.invoke(app, args).exit_code == EXIT_BAD_INPUT, args


def test_other_key_fails_verification(setup: tuple[Path, Path, Path], tmp_path: Path) -> None:
    # prepare
    log, _, _ = setup
    other = tmp_path / "other.hex"
    other.write_text(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        .hex()
    )

    # execute
    result = runner.invoke(app, ["verify", str(log), "--public-key", str(other)])

    # assert
    assert result.exit_code == EXIT_FAILED


def test_prove_on_a_damaged_tree_fails_cleanly(setup: tuple[Path, Path, Path]) -> None:
    # prepare
    log, pub, _ = setup
    with _tamper(log) as db:
        db.execute("DELETE FROM nodes")

    # execute
    result = runner.invoke(app, ["prove", str(log), "3", "--public-key", str(pub)])

    # assert
    assert result.exit_code == EXIT_FAILED
    assert result.exception is None or isinstance(result.exception, SystemExit)
