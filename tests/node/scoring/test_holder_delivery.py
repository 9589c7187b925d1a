"""A scoring holder whose answer cannot be delivered says so in one line of its log.

The relay refusing the envelope (the coordinator's rate limit), a bank the directory does not
know and a defect in the carrier each end with one log entry at the holder, a traceback only
for the defect, and nothing left in the worker pool's future or ending a thread uncaught."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from node.models import ModelRegistry
from node.pki.files import load_identity_files
from node.scoring import wire
from node.scoring.caps import DailyCaps
from node.scoring.config import ScoringConfig
from node.scoring.holder import HolderService
from node.transport.relay_channel import Opened
from tests.node.scoring.delivery import (
    BANK,
    KeptFutures,
    NotConsulted,
    bank_sealer,
    holder_router,
    settled,
    undelivered_line,
)

REQUEST = wire.encode({"id": "r-1", "model": "sme", "job": "j-1", "refs": ["a-1"], "firms": ["p"]})


def _holder(root: Path, send_sealed, pool: KeptFutures) -> HolderService:  # type: ignore[no-untyped-def]
    """A holder with no deployed model: a request is answered ``no_model`` before any data,
    policy, consent or cap is consulted."""
    router = holder_router(root, send_sealed)
    bank = load_identity_files(root / "certs", BANK).identity
    return HolderService(
        me=load_identity_files(root / "certs", "government").identity,
        pair_key=NotConsulted(),
        identity_of=lambda party: bank if party == BANK else NotConsulted(),
        datasets=NotConsulted(),
        engine=NotConsulted(),
        registry=ModelRegistry(root / "state"),
        consent=NotConsulted(),
        index_of=NotConsulted(),
        caps=DailyCaps(root / "caps.sqlite", 100, 10),
        config=ScoringConfig(),
        sink=NotConsulted(),
        router=router,
        executor=pool,
    )


def _undelivered(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "not delivered" in r.getMessage()]


def test_the_answer_reaches_the_bank(tmp_path: Path) -> None:
    sent: list[bytes] = []
    with KeptFutures() as pool:
        _holder(tmp_path, sent.append, pool).handle(Opened(BANK, wire.JOB_KEY, wire.SCORE, REQUEST))
    assert settled(pool) == [None]
    opened = bank_sealer(tmp_path).open(sent[0])
    assert (opened.sender, opened.topic) == ("government", wire.SCORED)
    assert b'"id":"r-1"' in opened.payload and b"no_model" in opened.payload


def test_a_refused_relay_is_one_log_line_and_nothing_escapes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = undelivered_line(
        lambda send_sealed, pool: _holder(tmp_path, send_sealed, pool),
        Opened(BANK, wire.JOB_KEY, wire.SCORE, REQUEST),
        caplog,
        monkeypatch,
    )
    assert line.getMessage() == (
        "answer 'scored' to 'bank' not delivered: the coordinator refused an envelope "
        "(RESOURCE_EXHAUSTED): envelope rate exceeded"
    )


def test_a_sender_the_directory_does_not_know_is_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # the request opened (the sender's certificate was valid then) but sealing the answer
    # finds no certificate for it any more, even after a refresh of the directory
    sent: list[bytes] = []
    with caplog.at_level(logging.INFO), KeptFutures() as pool:
        _holder(tmp_path, sent.append, pool).handle(
            Opened("gone-bank", wire.JOB_KEY, wire.SCORE, b"not json")
        )
        outcome = settled(pool)
    assert outcome == [None] and sent == []
    [line] = _undelivered(caplog)
    assert line.exc_info is None
    assert "'gone-bank' not delivered: no valid certificate for party 'gone-bank'" in (
        line.getMessage()
    )


def test_a_defect_in_delivery_keeps_its_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(sealed: bytes) -> None:
        raise TypeError("a carrier defect")

    with caplog.at_level(logging.INFO), KeptFutures() as pool:
        _holder(tmp_path, broken, pool).handle(Opened(BANK, wire.JOB_KEY, wire.SCORE, REQUEST))
        outcome = settled(pool)
    assert outcome == [None]
    [line] = _undelivered(caplog)
    assert line.levelno == logging.ERROR and line.exc_info is not None
    assert line.exc_info[0] is TypeError
