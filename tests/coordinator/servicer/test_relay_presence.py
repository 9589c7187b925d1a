"""The relay tells its listeners of a node's comings and goings in the order they happened."""

from __future__ import annotations

import threading
import time

from coordinator.servicer.relay import Relay


def test_an_old_streams_end_reaches_listeners_before_the_nodes_return() -> None:
    """The old stream's end is noticed while the node reconnects. Listeners must hear
    offline, then online: the job runner resumes a job only on a return after the departure,
    so hearing them the other way round left a job failed with its party back online."""
    # prepare: a node's stream, and listeners that record what they heard (offline slowly)
    relay = Relay()
    heard: list[str] = []
    in_offline, let_go = threading.Event(), threading.Event()

    def offline(node_id: str) -> None:
        in_offline.set()
        let_go.wait(5)
        heard.append(f"offline {node_id}")

    relay.on_offline(offline)
    relay.on_online(lambda node_id: heard.append(f"online {node_id}"))
    old = relay.subscribe("bank")
    heard.clear()
    # execute: the old stream ends; while its listeners run, the node opens a new stream
    ending = threading.Thread(target=relay.unsubscribe, args=(old,))
    ending.start()
    assert in_offline.wait(5)
    returning = threading.Thread(target=relay.subscribe, args=("bank",))
    returning.start()
    time.sleep(0.2)  # room for the return to overtake the departure, as it did
    let_go.set()
    ending.join(5)
    returning.join(5)
    # assert
    assert heard == ["offline bank", "online bank"]
    assert relay.online("bank")
