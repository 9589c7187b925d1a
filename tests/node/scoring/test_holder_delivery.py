"""A scoring holder whose answer cannot be delivered says so in one line of its log.

The relay refusing the envelope (the coordinator's rate limit), a bank the directory does not
know and a defect in the carrier each end with one log entry at the holder, a traceback only
for the defect, and nothing left in the worker pool's future or ending a thread uncaught. A
malformed request is refused at once to the bank's waiting caller when its id is readable, and
with an answer naming no request (and one log line) when it is not."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from node.models import ModelRegistry
from node.pki.files import load_identity_files
from node.scoring import wire
from node.scoring.answers import Answer
from node.scoring.caps import DailyCaps
from node.scoring.client import PartnerClient
from node.scoring.config import ScoringConfig
from node.scoring.holder import HolderService
from node.transport.relay_channel import EnvelopeRouter, Opened
from tests.node.scoring.delivery import (
    BANK,
    HOLDER,
    PARTIES,
    KeptFutures,
    NotConsulted,
    bank_sealer,
    holder_router,
    peer_directory,
    sent_by,
    settled,
    undelivered_line,
)

REQUEST = wire.encode({"id": "r-1", "model": "sme", "job": "j-1", "refs": ["a-1"], "firms": ["p"]})


def _holder(root: Path, send_sealed, pool: KeptFutures) -> HolderService:  # type: ignore[no-untyped-def]
    """A holder with no deployed model: a request is answered ``no_model`` before any data,
    policy, consent or cap is consulted."""
    return _holder_on(holder_router(root, send_sealed), root, pool)


def _holder_on(router: EnvelopeRouter, root: Path, pool: KeptFutures) -> HolderService:
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
    msg = Opened("gone-bank", wire.JOB_KEY, wire.SCORE, b"not json")
    assert sent_by(lambda send, pool: _holder(tmp_path, send, pool), msg, caplog) == []
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


def test_a_malformed_request_is_refused_to_the_waiting_caller_at_once(tmp_path: Path) -> None:
    # the bank's real client and router, joined to the holder's by the two routers' delivery
    # (the coordinator's relay only carries sealed bytes); a book over the item limit is
    # malformed, refused before any model, data, policy or consent is consulted
    bank_side: EnvelopeRouter
    with KeptFutures() as pool:
        holder_side = holder_router(tmp_path, lambda sealed: bank_side.deliver(sealed))
        holder_side.serve(wire.JOB_KEY, _holder_on(holder_side, tmp_path, pool).handle)
        bank_side = EnvelopeRouter(BANK, bank_sealer(tmp_path), holder_side.deliver)
        client = PartnerClient(bank_side, peer_directory(tmp_path, PARTIES).identity)
        bank_side.serve(wire.JOB_KEY, client.handle)
        firms = [f"p{i}" for i in range(wire.MAX_ITEMS + 1)]
        body = {"model": "sme", "job": "j-1", "refs": ["a-1"] * len(firms), "firms": firms}
        pending = client.submit(HOLDER, wire.SCORE, body, len(firms))
        gap = PartnerClient.wait(pending, time.monotonic() + 60)
        client.close()
        assert settled(pool) == [None]
    assert gap == "" and isinstance(pending.answer, Answer)
    assert pending.answer.error == f"malformed: firms must be a list of at most {wire.MAX_ITEMS}"


_FIRM_CODE = "91350100M000100Y43"


@pytest.mark.parametrize(
    ("request_id", "why"),
    [
        (7, "id must be a string"),
        ("r" * (wire.MAX_ID_CHARS + 1), "id must be a string"),
        ({"firm": _FIRM_CODE}, "id must be a string"),
        (f"r-1\n{_FIRM_CODE}", "id must be a string"),
        (None, "missing id"),
    ],
    ids=["a number", "too long", "an object", "a line break", "none"],
)
def test_a_request_whose_id_is_unreadable_is_answered_without_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, request_id: Any, why: str
) -> None:
    message = {"model": "sme", "job": "j-1", "refs": ["a-1"], "firms": [_FIRM_CODE]}
    if request_id is not None:
        message["id"] = request_id
    msg = Opened(BANK, wire.JOB_KEY, wire.SCORE, wire.encode(message))
    [sealed] = sent_by(lambda send, pool: _holder(tmp_path, send, pool), msg, caplog)
    payload = bank_sealer(tmp_path).open(sealed).payload
    answer = Answer.from_bytes(payload)
    assert answer.header["id"] == "" and answer.error.startswith(f"malformed: {why}")
    assert _FIRM_CODE.encode() not in payload
    [line] = caplog.records
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert _FIRM_CODE not in line.getMessage() and "\n" not in line.getMessage()


def test_a_request_nested_too_deep_is_answered_without_an_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # json's parser gives up on deep nesting with RecursionError, not a ValueError
    msg = Opened(BANK, wire.JOB_KEY, wire.RECORDS, b"[" * 200_000)
    [sealed] = sent_by(lambda send, pool: _holder(tmp_path, send, pool), msg, caplog)
    answer = wire.decode(bank_sealer(tmp_path).open(sealed).payload, ("id", "error"))
    assert answer["id"] == "" and answer["error"] == "malformed: not JSON"
    [line] = caplog.records
    assert line.levelno == logging.WARNING and line.exc_info is None
