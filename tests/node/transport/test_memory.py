"""The in-memory hub keeps the PartyChannel contract."""

from __future__ import annotations

import threading

import pytest

from node.transport import ChannelTimeout, PartyUnavailable
from node.transport.memory import MemoryHub


def test_messages_arrive_in_order_per_sender_and_topic() -> None:
    hub = MemoryHub()
    a, b = hub.channel("a"), hub.channel("b")
    for i in range(5):
        a.send("b", "t", bytes([i]))
    a.send("b", "other", b"x")
    assert [b.recv("a", "t", 1) for _ in range(5)] == [bytes([i]) for i in range(5)]
    assert b.recv("a", "other", 1) == b"x"
    assert hub.captured[0].recipient == "b" and len(hub.captured) == 6


def test_timeout_names_sender_and_topic() -> None:
    hub = MemoryHub()
    with pytest.raises(ChannelTimeout) as err:
        hub.channel("b").recv("a", "t", timeout=0.05)
    assert err.value.sender == "a" and err.value.topic == "t"


def test_drop_wakes_a_waiting_receiver_and_stops_sends() -> None:
    hub = MemoryHub()
    b = hub.channel("b")
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            b.recv("a", "t", timeout=10)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=wait)
    thread.start()
    hub.drop("a")
    thread.join(5)
    assert not thread.is_alive()
    assert isinstance(errors[0], PartyUnavailable) and errors[0].party == "a"
    with pytest.raises(PartyUnavailable):
        hub.channel("a").send("b", "t", b"late")


def test_message_sent_before_drop_is_still_delivered() -> None:
    hub = MemoryHub()
    hub.channel("a").send("b", "t", b"early")
    hub.drop("a")
    assert hub.channel("b").recv("a", "t", 1) == b"early"
