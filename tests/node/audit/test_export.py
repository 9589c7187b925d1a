"""Portable exports: complete and selective, verifiable offline with only the public key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit.entry import Action
from node.audit.exceptions import ExportFormatError, InvalidCheckpoint, TamperDetected
from node.audit.export import verify_export, write_export
from node.audit.log import AccessLog
from node.audit.reader import LogReader
from node.audit.search import SearchQuery

from .conftest import make_entry


@pytest.fixture
def logdir(tmp_path: Path, signing_key: Ed25519PrivateKey) -> Path:
    """A log of 30 entries, every fifth a release, with a checkpoint at 30."""
    with AccessLog.open(tmp_path / "log", signing_key, "bank-a") as log:
        log.append_many(
            [make_entry(i, action=Action.RELEASE if i % 5 == 0 else Action.READ) for i in range(30)]
        )
        log.checkpoint()
    return tmp_path / "log"


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def _write(path: Path, lines: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_complete_export_verifies_offline(
    logdir: Path, tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    # prepare
    out = tmp_path / "all.jsonl"
    with LogReader.open(logdir) as reader:
        summary = write_export(reader, out)

    # execute
    report = verify_export(out, signing_key.public_key())

    # assert
    assert summary.complete and summary.count == 30
    assert report.summary == summary
    assert [e.seq for _, e in report.entries] == list(range(30))


def test_selective_export_carries_proofs(
    logdir: Path, tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    # prepare
    out = tmp_path / "releases.jsonl"
    with LogReader.open(logdir) as reader:
        summary = write_export(reader, out, query=SearchQuery(action=Action.RELEASE))

    # execute
    report = verify_export(out, signing_key.public_key())

    # assert
    assert not summary.complete and summary.count == 6
    assert [i for i, _ in report.entries] == [0, 5, 10, 15, 20, 25]
    assert all(len(x["proof"]) == 5 for x in _lines(out)[1:])  # type: ignore[arg-type]


@pytest.mark.parametrize("selective", [False, True])
def test_edited_exported_entry_is_detected(
    logdir: Path, tmp_path: Path, signing_key: Ed25519PrivateKey, selective: bool
) -> None:
    # prepare
    out = tmp_path / "x.jsonl"
    query = SearchQuery(action=Action.RELEASE) if selective else None
    with LogReader.open(logdir) as reader:
        write_export(reader, out, query=query)
    lines = _lines(out)
    lines[2]["entry"] = str(lines[2]["entry"]).replace("allowed", "refused")
    _write(out, lines)

    # execute
    with pytest.raises(TamperDetected) as err:
        verify_export(out, signing_key.public_key())

    # assert
    assert err.value.findings[0].kind in ("edited", "root_mismatch")


def test_dropped_entry_in_complete_export_is_detected(
    logdir: Path, tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    # prepare
    out = tmp_path / "x.jsonl"
    with LogReader.open(logdir) as reader:
        write_export(reader, out)
    lines = _lines(out)
    del lines[5]
    _write(out, lines)

    # execute
    with pytest.raises(TamperDetected) as err:
        verify_export(out, signing_key.public_key())

    # assert
    assert ("out_of_place", 4) in [(f.kind, f.position) for f in err.value.findings]


def test_export_under_another_key_fails(logdir: Path, tmp_path: Path) -> None:
    # prepare
    out = tmp_path / "x.jsonl"
    with LogReader.open(logdir) as reader:
        write_export(reader, out)

    # execute / assert
    with pytest.raises(TamperDetected):
        verify_export(out, Ed25519PrivateKey.generate().public_key())


def test_not_an_export_is_refused(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    out = tmp_path / "x.jsonl"
    out.write_text('{"format": "something-else"}\n')

    # execute / assert
    with pytest.raises(ExportFormatError):
        verify_export(out, signing_key.public_key())


def test_export_needs_a_checkpoint(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    # prepare
    with AccessLog.open(tmp_path / "log", signing_key, "bank-a") as log:
        log.append(make_entry())

    # execute / assert
    with LogReader.open(tmp_path / "log") as reader, pytest.raises(InvalidCheckpoint):
        write_export(reader, tmp_path / "x.jsonl")
