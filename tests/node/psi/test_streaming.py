"""Ordered background sends: order kept, failures handed back, abort stops quietly."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest

from node.psi import PsiPeerLeft
from node.psi.streaming import OrderedSender, PendingTasks, batch_count, batch_sizes, receive
from node.transport.memory import MemoryHub


def done(value: bytes) -> Future[bytes]:
    future: Future[bytes] = Future()
    future.set_result(value)
    return future


def test_results_are_delivered_in_submission_order() -> None:
    # prepare
    sent: list[bytes] = []
    late: Future[bytes] = Future()
    sender = OrderedSender("test")
    # execute: the first result arrives last, yet is delivered first
    sender.put(late, sent.append)
    sender.put(done(b"2"), sent.append)
    threading.Timer(0.05, late.set_result, args=(b"1",)).start()
    sender.join()
    # assert
    assert sent == [b"1", b"2"]


def test_failure_is_raised_by_join_and_later_items_are_dropped() -> None:
    # prepare
    sent: list[bytes] = []
    failed: Future[bytes] = Future()
    failed.set_exception(ValueError("worker failed"))
    sender = OrderedSender("test")
    sender.put(failed, sent.append)
    sender.put(done(b"2"), sent.append)
    # execute / assert
    with pytest.raises(ValueError, match="worker failed"):
        sender.join()
    assert sent == []


def test_gate_holds_deliveries_and_abort_releases_without_sending() -> None:
    # prepare
    sent: list[bytes] = []
    gate = threading.Event()
    sender = OrderedSender("test", gate)
    sender.put(done(b"1"), sent.append)
    # execute
    sender.abort()
    sender.join()
    # assert
    assert sent == []


def test_batches_cover_every_item() -> None:
    # execute / assert
    assert batch_count(0, 4) == 0 and batch_count(9, 4) == 3
    assert batch_sizes(9, 4) == [4, 4, 1]


def test_receive_names_a_silent_peer() -> None:
    # prepare
    hub = MemoryHub(timeout=0.05)
    # execute / assert
    with pytest.raises(PsiPeerLeft) as info:
        receive(hub.channel("bank"), "gov", "psi/b", 0.05, "exchange")
    assert (info.value.party, info.value.stage) == ("gov", "exchange")


def test_pending_tasks_forget_finished_ones_and_cancel_the_rest() -> None:
    # prepare
    tasks = PendingTasks()
    finished: Future[bytes] = Future()
    waiting: Future[bytes] = Future()
    tasks.track(finished)
    tasks.track(waiting)
    # execute
    finished.set_result(b"a large blinded batch")
    tasks.cancel_all()
    # assert: the finished result is no longer referenced; the other one is cancelled
    assert finished not in tasks._futures
    assert waiting.cancelled() and not finished.cancelled()
