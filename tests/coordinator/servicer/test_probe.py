"""The probe board hands an echo only to the probe that waits for it, from the right peer."""

from __future__ import annotations

import threading

from coordinator.servicer.probe import ProbeBoard


def test_an_echo_reaches_the_waiting_probe() -> None:
    board = ProbeBoard()
    with board.expect("bank", "government") as wait:
        # execute: the peer answers from another thread, as the relay's Send does
        threading.Thread(target=board.offer, args=("government", "bank", b"echo")).start()
        # assert
        assert wait(5.0) == b"echo"


def test_an_echo_from_another_party_or_too_late_is_dropped() -> None:
    board = ProbeBoard()
    with board.expect("bank", "government") as wait:
        assert not board.offer("third_party", "bank", b"forged")
        assert wait(0.01) is None
    # after the probe gave up nobody waits: the echo goes nowhere (never down a stream)
    assert not board.offer("government", "bank", b"late")


def test_a_second_probe_of_the_same_node_waits_its_turn() -> None:
    board = ProbeBoard()
    entered = threading.Event()

    def second() -> None:
        with board.expect("bank", "third_party"):
            entered.set()

    with board.expect("bank", "government"):
        worker = threading.Thread(target=second)
        worker.start()
        assert not entered.wait(0.2)
    worker.join(5)
    assert entered.is_set()
