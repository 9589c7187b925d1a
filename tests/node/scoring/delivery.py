"""A holder's relay as in a node (its own keys, a peer directory of verified certificates,
real sealing), with the coordinator link's ``send_sealed`` given by the test, and a real
worker pool that keeps its futures so a test can see that nothing was left in one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import pytest

from node.pki import PeerVerifier, create_ca, issue_certificate
from node.pki.files import load_identity_files
from node.transport.directory import PeerDirectory
from node.transport.relay_channel import EnvelopeRouter, Opened, RelayRefused
from node.transport.sealing import DirectorySealer

HOLDER = "government"
BANK = "bank"


def peer_directory(root: Path, roles: Mapping[str, str]) -> PeerDirectory:
    """A node's peer directory listing ``roles`` (party -> role), each with a real
    certificate issued under ``root`` by a federation CA made on first use."""
    certs = root / "certs"
    if not (certs / "ca.crt").exists():
        create_ca(certs)
    for node, role in roles.items():
        if not (certs / f"{node}.crt").exists():
            issue_certificate(certs, node, role=role, organization=f"org-{node}")
    listed = [(n, (certs / f"{n}.crt").read_bytes()) for n in roles]
    return PeerDirectory(lambda: listed, PeerVerifier(certs))


PARTIES = {HOLDER: HOLDER, BANK: BANK}


def holder_router(root: Path, send_sealed: Callable[[bytes], None]) -> EnvelopeRouter:
    """The holder's router; the coordinator lists the holder and the bank only."""
    directory = peer_directory(root, PARTIES)
    sealer = DirectorySealer(load_identity_files(root / "certs", HOLDER), directory)
    return EnvelopeRouter(HOLDER, sealer, send_sealed)


class KeptFutures(ThreadPoolExecutor):
    """A real pool that keeps every future it hands out."""

    def __init__(self) -> None:
        super().__init__(2, thread_name_prefix="holder-test")
        self.futures: list[Future[Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        self.futures.append(future)
        return future


def settled(pool: KeptFutures) -> list[BaseException | None]:
    """Wait for every task and return what each future holds (``None``: nothing escaped)."""
    return [f.exception(timeout=30) for f in pool.futures]


def bank_sealer(root: Path) -> DirectorySealer:
    """The bank's sealer over the same certificates, to open what the holder sent."""
    directory = peer_directory(root, PARTIES)
    return DirectorySealer(load_identity_files(root / "certs", BANK), directory)


class NotConsulted:
    """Stands for a collaborator the request under test never reaches (a request refused
    before it); consulting it fails the test rather than answering anything."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} was consulted")


class Handler(Protocol):
    def handle(self, msg: Opened) -> None: ...


def refuse(sealed: bytes) -> None:
    """The link's ``send_sealed`` when the coordinator's envelope rate limit refuses."""
    raise RelayRefused("RESOURCE_EXHAUSTED", "envelope rate exceeded")


def sent_by(
    make: Callable[[Callable[[bytes], None], KeptFutures], Handler],
    msg: Opened,
    caplog: pytest.LogCaptureFixture,
) -> list[bytes]:
    """Have a holder handle ``msg`` with its log captured; check that nothing was left in a
    future and return the sealed envelopes it sent."""
    sent: list[bytes] = []
    with caplog.at_level(logging.INFO), KeptFutures() as pool:
        make(sent.append, pool).handle(msg)
        outcome = settled(pool)
    assert outcome == [None]
    return sent


def undelivered_line(
    make: Callable[[Callable[[bytes], None], KeptFutures], Handler],
    msg: Opened,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> logging.LogRecord:
    """Have a holder whose relay refuses every envelope handle ``msg``; check that nothing
    was left in a future or ended a thread, and return the one line saying so."""
    crashes: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", crashes.append)
    with caplog.at_level(logging.INFO), KeptFutures() as pool:
        make(refuse, pool).handle(msg)
        outcome = settled(pool)
    assert outcome == [None] and crashes == []
    [line] = [r for r in caplog.records if "not delivered" in r.getMessage()]
    assert line.levelno == logging.WARNING and line.exc_info is None
    return line
