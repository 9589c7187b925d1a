"""Tests for bounded waits and abort propagation."""

from __future__ import annotations

import pytest

from node.training.vertical import PartyFailed, wire
from node.training.vertical.session import ABORT, Session
from node.transport.memory import MemoryHub


def test_silent_sender_times_out_naming_it() -> None:
    # prepare
    hub = MemoryHub("s")
    session = Session(hub.channel("bank"), ["bank", "gov", "coordinator"], timeout_s=0.3)
    # execute
    with pytest.raises(PartyFailed) as info:
        session.recv("gov", "vlr/e1/b0/u", "training")
    # assert
    assert info.value.party == "gov" and info.value.stage == "training"
    told = [m for m in hub.captured if m.topic == ABORT]
    assert {m.recipient for m in told} == {"coordinator"}


def test_abort_from_a_peer_names_the_failed_party() -> None:
    # prepare
    hub = MemoryHub("s")
    hub.channel("coordinator").send("bank", ABORT, wire.encode_json({"failed": "third"}))
    session = Session(hub.channel("bank"), ["bank", "gov", "third", "coordinator"], 5)
    # execute
    with pytest.raises(PartyFailed) as info:
        session.recv("gov", "vlr/e1/b0/u", "training")
    # assert
    assert info.value.party == "third"


def test_sending_to_a_departed_party_fails_naming_it() -> None:
    # prepare
    hub = MemoryHub("s")
    hub.drop("bank")
    session = Session(hub.channel("bank"), ["bank", "gov"], 5)
    # execute
    with pytest.raises(PartyFailed) as info:
        session.send("gov", "vlr/x", b"", "training")
    # assert
    assert info.value.party == "bank"
