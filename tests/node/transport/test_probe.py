"""A node's echo of a diagnostic ping: sealed back to the prober, and an echo that cannot be
delivered is one line of the node's log (as for the holders' answers), not the failure's
own text and not a future nobody reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.transport.probe import PING_TOPIC, PONG_TOPIC, PROBE_JOB, EchoService
from node.transport.relay_channel import Opened
from tests.node.scoring.delivery import (
    BANK,
    HOLDER,
    KeptFutures,
    bank_sealer,
    holder_router,
    settled,
    undelivered_line,
)

PING = Opened(BANK, PROBE_JOB, PING_TOPIC, b"\x00random ping bytes")


def test_a_ping_is_echoed_to_its_sender(tmp_path: Path) -> None:
    sent: list[bytes] = []
    with KeptFutures() as pool:
        EchoService(holder_router(tmp_path, sent.append), executor=pool).handle(PING)
        assert settled(pool) == [None]
    [echo] = sent
    opened = bank_sealer(tmp_path).open(echo)
    assert (opened.sender, opened.topic, opened.payload) == (HOLDER, PONG_TOPIC, PING.payload)


def test_an_echo_the_relay_refuses_is_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = undelivered_line(
        lambda send_sealed, pool: EchoService(holder_router(tmp_path, send_sealed), executor=pool),
        PING,
        caplog,
        monkeypatch,
    )
    assert line.getMessage() == (
        "answer 'diagnose/pong' to 'bank' not delivered: the coordinator refused an envelope "
        "(RESOURCE_EXHAUSTED): envelope rate exceeded"
    )
