"""``PersistentReplayGuard``: the replay memory survives a restart, within the same bounds."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from node.crypto.envelope import Header
from node.crypto.exceptions import ReplayedEnvelope
from node.crypto.replay import DB_NAME, PersistentReplayGuard

T0 = 1_800_000_000.0


def _header(nonce: bytes, sender: str = "bank", at: float = T0) -> Header:
    return Header(sender, "gov", "job#1", "t", nonce, int(at * 1000), b"\x00" * 32)


def test_a_nonce_seen_before_a_restart_is_refused_after_it(tmp_path: Path) -> None:
    # prepare
    first = PersistentReplayGuard(tmp_path)
    first.check(_header(b"n" * 16), now=T0)
    first.close()

    # execute: a new process opens the same state folder
    second = PersistentReplayGuard(tmp_path)

    # assert
    with pytest.raises(ReplayedEnvelope, match="already received"):
        second.check(_header(b"n" * 16), now=T0 + 60)
    second.check(_header(b"m" * 16), now=T0 + 60)  # a fresh nonce still passes
    second.check(_header(b"n" * 16, sender="third"), now=T0 + 60)  # per sender
    assert oct((tmp_path / DB_NAME).stat().st_mode & 0o777) == "0o600"


def test_pairs_older_than_twice_the_window_are_forgotten(tmp_path: Path) -> None:
    # prepare
    guard = PersistentReplayGuard(tmp_path, window_s=10)
    guard.check(_header(b"a" * 16), now=T0)

    # execute: long after, the old pair is purged (its envelope fails the time check anyway)
    guard.check(_header(b"b" * 16, at=T0 + 100), now=T0 + 100)

    # assert
    assert guard.remembered == 1
    with pytest.raises(ReplayedEnvelope, match="outside the 10 s window"):
        guard.check(_header(b"a" * 16), now=T0 + 100)


def test_full_guard_refuses_rather_than_forgets(tmp_path: Path) -> None:
    guard = PersistentReplayGuard(tmp_path, max_entries=2)
    guard.check(_header(b"a" * 16), now=T0)
    guard.check(_header(b"b" * 16), now=T0)
    with pytest.raises(ReplayedEnvelope, match="cache full"):
        guard.check(_header(b"c" * 16), now=T0)
    with pytest.raises(ReplayedEnvelope, match="already received"):
        guard.check(_header(b"a" * 16), now=T0)


def test_concurrent_checks_of_one_nonce_accept_exactly_one(tmp_path: Path) -> None:
    # prepare: two guards on one file, as an old and a new process briefly overlap
    guards = [PersistentReplayGuard(tmp_path), PersistentReplayGuard(tmp_path)]
    nonces = [os.urandom(16) for _ in range(50)]
    accepted: list[bytes] = []
    lock = threading.Lock()

    def run(guard: PersistentReplayGuard) -> None:
        for nonce in nonces:
            try:
                guard.check(_header(nonce), now=T0)
            except ReplayedEnvelope:
                continue
            with lock:
                accepted.append(nonce)

    # execute
    threads = [threading.Thread(target=run, args=(g,)) for g in guards]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # assert
    assert sorted(accepted) == sorted(nonces)
