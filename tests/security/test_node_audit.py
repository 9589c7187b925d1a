"""Attacks on a live node's access log and on the auditor's tool (findings 5, 9, 10 and the
key hint of issue 10).

The log is the one a real node process wrote; the witness's checkpoint is the one the real
coordinator accepted; ``fedcredit-audit`` runs as its own process, as an auditor runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coordinator.local import LocalFederation
from node.audit.store import LEVEL_SHIFT
from node.transport.client import open_channel
from protos.fedcredit.v1 import node_pb2, node_pb2_grpc
from tests.security.conftest import copy_log, tamper, witnessed

pytestmark = pytest.mark.slow

NODE = "government"


def audit(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run ``fedcredit-audit`` as a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "node.cli.audit", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _release(fed: LocalFederation) -> None:
    """Traffic that adds entries to the government log (a release to the bank)."""
    address = f"127.0.0.1:{fed.node_ports[NODE]}"
    with open_channel(address, fed.certs, "bank", peer=NODE) as channel:
        node_pb2_grpc.NodeStub(channel).Release(
            node_pb2.ReleaseRequest(dataset=NODE, fields=["tax_paid_12m"], purpose="release")
        )


@pytest.fixture(scope="module")
def logs(
    node_federation: LocalFederation, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Two witnessed checkpoints of the government log, and a copy of the log covering both."""
    fed = node_federation
    first = witnessed(fed, NODE)
    _release(fed)
    second = witnessed(fed, NODE, above=first.size)
    root = tmp_path_factory.mktemp("audit-attacks")
    (root / "first.checkpoint").write_bytes(first.to_bytes())
    (root / "witness.checkpoint").write_bytes(second.to_bytes())
    return {
        "root": root,
        "first": root / "first.checkpoint",
        "witness": root / "witness.checkpoint",
        "cert": fed.certs / f"{NODE}.crt",
        "live": fed.root / "state" / NODE / "audit",
    }


def _copy(fed: LocalFederation, out: Path) -> Path:
    return copy_log(fed, NODE, out)


def test_rewritten_search_columns_fail_verify_and_search(
    node_federation: LocalFederation, logs: dict[str, Path], tmp_path: Path
) -> None:
    # prepare: an insider rewrites the search columns of the release entry, so a search for
    # releases would no longer find it, and leaves the hashed bytes alone
    log = _copy(node_federation, tmp_path / "log")
    with tamper(log) as db:
        (index,) = db.execute("SELECT MIN(idx) FROM entries WHERE action = 'release'").fetchone()
        db.execute(
            "UPDATE entries SET action = 'read', actor = 'x/y/z', dataset = 'other' WHERE idx = ?",
            (index,),
        )
        (other,) = db.execute("SELECT MIN(idx) FROM entries WHERE action = 'admin'").fetchone()
        db.execute("UPDATE entries SET action = 'release' WHERE idx = ?", (other,))

    # execute
    verify = audit(
        "verify",
        log,
        "--public-key",
        logs["cert"],
        "--checkpoint",
        logs["witness"],
        "--format",
        "json",
    )
    lying = audit("search", log, "--action", "release")
    scanned = audit("search", log, "--action", "release", "--scan", "--format", "json")

    # assert: verify names both rewritten rows; the index search refuses instead of quietly
    # dropping the row that lies; a scan of the hashed bytes finds the hidden release
    assert verify.returncode == 1, verify.stdout + verify.stderr
    findings = json.loads(verify.stdout)["findings"]
    flagged = {(f["kind"], f["position"]) for f in findings}
    assert {("search_index", index), ("search_index", other)} <= flagged
    assert "action" in next(f["detail"] for f in findings if f["position"] == index)
    assert lying.returncode == 1 and "search index disagrees" in lying.stderr
    assert "Traceback" not in lying.stderr
    assert index in [hit["index"] for hit in json.loads(scanned.stdout)]


def test_rewritten_firm_token_index_fails_verify(
    node_federation: LocalFederation, logs: dict[str, Path], tmp_path: Path
) -> None:
    # prepare: a firm-token row planted for an entry that never named the firm
    log = _copy(node_federation, tmp_path / "log")
    with tamper(log) as db:
        db.execute("INSERT INTO subjects VALUES (?, 0)", ("ft:" + "0" * 32,))

    # execute
    verify = audit(
        "verify",
        log,
        "--public-key",
        logs["cert"],
        "--checkpoint",
        logs["witness"],
        "--format",
        "json",
    )

    # assert
    assert verify.returncode == 1
    assert ("search_index", 0) in {
        (f["kind"], f["position"]) for f in json.loads(verify.stdout)["findings"]
    }


def test_log_truncated_to_an_earlier_checkpoint_is_not_ok(
    node_federation: LocalFederation, logs: dict[str, Path], tmp_path: Path
) -> None:
    # prepare: roll the log back to the first witnessed checkpoint: later entries, the tree
    # nodes over them and the later checkpoints dropped, so the newest stored one matches
    log = _copy(node_federation, tmp_path / "log")
    keep = int(
        json.loads(
            audit(
                "verify",
                log,
                "--public-key",
                logs["cert"],
                "--checkpoint",
                logs["first"],
                "--format",
                "json",
            ).stdout
        )["checkpoint_size"]
    )
    with tamper(log) as db:
        db.execute("DELETE FROM entries WHERE idx >= ?", (keep,))
        db.execute("DELETE FROM subjects WHERE idx >= ?", (keep,))
        mask = (1 << LEVEL_SHIFT) - 1
        db.execute(
            f"DELETE FROM nodes WHERE (((id & {mask}) + 1) << (id >> {LEVEL_SHIFT})) > ?", (keep,)
        )
        db.execute("DELETE FROM checkpoints WHERE size > ?", (keep,))

    # execute
    default = audit("verify", log, "--public-key", logs["cert"])
    anchored = audit(
        "verify",
        log,
        "--public-key",
        logs["cert"],
        "--checkpoint",
        logs["witness"],
        "--format",
        "json",
    )

    # assert: without an outside anchor the tool refuses to say OK; the witness's checkpoint
    # names the truncation
    assert default.returncode == 12, default.stdout + default.stderr
    assert "UNANCHORED" in default.stdout and "OK" not in default.stdout
    assert "--checkpoint" in default.stderr
    assert anchored.returncode == 1
    assert "truncated" in {f["kind"] for f in json.loads(anchored.stdout)["findings"]}


def test_untouched_live_log_verifies_against_the_witness(logs: dict[str, Path]) -> None:
    result = audit(
        "verify", logs["live"], "--public-key", logs["cert"], "--checkpoint", logs["witness"]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK:")


def test_corrupt_database_is_one_line_without_traceback(
    logs: dict[str, Path], tmp_path: Path
) -> None:
    # prepare: a log directory whose database file is garbage
    log = tmp_path / "log"
    log.mkdir()
    (log / "access-log.sqlite").write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 4096)

    # execute
    result = audit("verify", log, "--public-key", logs["cert"])

    # assert
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "locals" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) <= 2 and "does not hold a readable access log" in result.stderr


def test_wrong_key_names_the_key_to_pass(logs: dict[str, Path], tmp_path: Path) -> None:
    # prepare: the bank's certificate instead of the government's
    other = tmp_path / "other.pem"
    other.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    # execute
    result = audit(
        "verify",
        logs["live"],
        "--public-key",
        other,
        "--checkpoint",
        logs["witness"],
        "--format",
        "json",
    )

    # assert
    assert result.returncode == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["kind"] == "key_mismatch"
    assert f"issued to '{NODE}'" in finding["detail"]


@pytest.mark.parametrize("command", ["verify", "prove", "search", "export", "consistency"])
def test_help_shows_no_rst_markup(command: str) -> None:
    result = audit(command, "--help")
    assert result.returncode == 0
    assert "``" not in result.stdout and ":class:" not in result.stdout
