"""A monitoring holder whose answer the relay refuses says so in one line of its log, and
nothing is left in the worker pool's future or ends a thread uncaught; a malformed request is
refused naming its id only when the id is one to echo."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from node.monitoring import wire as mwire
from node.monitoring.config import MonitoringConfig
from node.monitoring.holder import MonitorHolder
from node.pki.files import load_identity_files
from node.scoring import wire
from node.transport.relay_channel import Opened
from tests.node.scoring.delivery import (
    BANK,
    KeptFutures,
    NotConsulted,
    bank_sealer,
    holder_router,
    sent_by,
    settled,
    undelivered_line,
)

CHUNK = wire.encode(
    {"id": "c-1", "refresh": "f-1", "as_of": "2026-10", "model": "ew", "job": "j", "firms": []}
)


def _holder(root: Path, send_sealed, pool: KeptFutures) -> MonitorHolder:  # type: ignore[no-untyped-def]
    """A holder serving no panel: a chunk is answered ``not_monitoring`` at once."""
    router = holder_router(root, send_sealed)
    return MonitorHolder(
        me=load_identity_files(root / "certs", "government").identity,
        pair_key=NotConsulted(),
        identity_of=NotConsulted(),
        panel=NotConsulted(),
        config=MonitoringConfig(),
        reason_prefix="GOV",
        engine=NotConsulted(),
        registry=NotConsulted(),
        consent=NotConsulted(),
        sink=NotConsulted(),
        router=router,
        executor=pool,
        state_dir=root / "state",
    )


def test_the_answer_reaches_the_bank(tmp_path: Path) -> None:
    sent: list[bytes] = []
    with KeptFutures() as pool:
        _holder(tmp_path, sent.append, pool).handle(
            Opened(BANK, wire.JOB_KEY, mwire.MONITOR, CHUNK)
        )
    assert settled(pool) == [None]
    opened = bank_sealer(tmp_path).open(sent[0])
    assert opened.topic == mwire.MONITORED
    assert b'"id":"c-1"' in opened.payload and b"not_monitoring" in opened.payload


def test_a_refused_relay_is_one_log_line_and_nothing_escapes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = undelivered_line(
        lambda send_sealed, pool: _holder(tmp_path, send_sealed, pool),
        Opened(BANK, wire.JOB_KEY, mwire.MONITOR, CHUNK),
        caplog,
        monkeypatch,
    )
    assert line.getMessage() == (
        "answer 'monitored' to 'bank' not delivered: the coordinator refused an envelope "
        "(RESOURCE_EXHAUSTED): envelope rate exceeded"
    )


_FIRM_CODE = "91350100M000100Y43"


@pytest.mark.parametrize(
    ("payload", "answer_id", "error"),
    [
        (wire.encode({"id": "c-2", "firms": [_FIRM_CODE]}), "c-2", "malformed: missing refresh"),
        (
            wire.encode({**json.loads(CHUNK), "id": {"firm": _FIRM_CODE}}),
            "",
            "malformed: id must be a string",
        ),
        (b"[" * 200_000, "", "malformed: not JSON"),  # json gives up with RecursionError
    ],
    ids=["readable id", "id not a string", "nested too deep"],
)
def test_a_malformed_chunk_is_refused_naming_its_id_only_when_readable(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    payload: bytes,
    answer_id: str,
    error: str,
) -> None:
    msg = Opened(BANK, wire.JOB_KEY, mwire.MONITOR, payload)
    [sealed] = sent_by(lambda send, pool: _holder(tmp_path, send, pool), msg, caplog)
    answer = wire.decode(bank_sealer(tmp_path).open(sealed).payload, ("id", "error"))
    assert answer["id"] == answer_id and answer["error"].startswith(error)
    assert _FIRM_CODE not in answer["error"]
    [line] = caplog.records
    assert line.levelno == logging.WARNING and _FIRM_CODE not in line.getMessage()
