"""Departures versus failures, and holding an attempt until the coordinator replaces it."""

from __future__ import annotations

import threading

import pytest

from node.training.secureboost.session import PartyLeft, Session
from node.training.vertical.exceptions import PartyFailed
from node.transport.memory import MemoryHub


def test_a_party_that_disappears_is_a_departure_passed_on_to_the_others() -> None:
    hub = MemoryHub("s1", timeout=5)
    bank = Session(hub.channel("bank"), ["bank", "gov", "third", "coordinator"], 5)
    third = Session(hub.channel("third"), ["bank", "gov", "third", "coordinator"], 5)
    hub.drop("gov")
    with pytest.raises(PartyLeft) as err:
        bank.recv("gov", "sb/x", "training")
    assert err.value.party == "gov"
    with pytest.raises(PartyLeft) as passed:  # third learns it from the bank's notice
        third.recv("bank", "sb/y", "training")
    assert passed.value.party == "gov"


def test_a_party_that_fails_is_a_failure_not_a_departure() -> None:
    hub = MemoryHub("s2", timeout=5)
    gov = Session(hub.channel("gov"), ["bank", "gov", "coordinator"], 5)
    bank = Session(hub.channel("bank"), ["bank", "gov", "coordinator"], 5)
    gov.abort("gov", left=False)
    with pytest.raises(PartyFailed) as err:
        bank.recv("gov", "sb/x", "training")
    assert not isinstance(err.value, PartyLeft) and err.value.party == "gov"


def test_held_attempt_ends_when_replaced_or_when_time_runs_out() -> None:
    hub = MemoryHub("s3", timeout=5)
    bank = Session(hub.channel("bank"), ["bank", "gov", "coordinator"], 5)
    gone = PartyLeft("gov", "training")
    with pytest.raises(PartyFailed, match=r"did not come back within 0\.2 s"):
        bank.await_rejoin(gone, 0.2)
    # the coordinator superseding the attempt looks like it leaving this attempt's channel
    threading.Timer(0.3, hub.drop, args=("coordinator",)).start()
    with pytest.raises(PartyFailed, match="superseded"):
        bank.await_rejoin(gone, 30)


def test_silence_beyond_the_timeout_fails_naming_the_sender() -> None:
    hub = MemoryHub("s4", timeout=5)
    bank = Session(hub.channel("bank"), ["bank", "gov"], 0.3)
    with pytest.raises(PartyFailed, match=r"no message for 0\.3 s") as err:
        bank.recv("gov", "sb/x", "training")
    assert err.value.party == "gov"
