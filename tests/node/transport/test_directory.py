"""The peer directory finds a party that registered just after its last refresh.

Nodes start in any order: a bank whose directory was refreshed a moment before the
government registered must still find the government's certificate on its next lookup, not
fail it because the miss-refresh is rate-limited (the local federation's parallel start hit
this: the bank's first authorization call failed with an unknown party)."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.pki import PeerVerifier, create_ca, issue_certificate
from node.transport.directory import PeerDirectory, UnknownParty


@pytest.fixture
def cert_dir(tmp_path: Path) -> Path:
    where = tmp_path / "certs"
    create_ca(where)
    for node, role in (("bank", "bank"), ("government", "government")):
        issue_certificate(where, node, role=role, organization=f"org-{node}")
    return where


def test_a_party_registered_since_the_last_refresh_is_found(cert_dir: Path) -> None:
    # prepare: the coordinator's listing, as a real directory fetch returns it; the
    # government registers only after the bank's directory was first refreshed
    listed = [("bank", (cert_dir / "bank.crt").read_bytes())]
    fetches: list[int] = []

    def fetch() -> list[tuple[str, bytes]]:
        fetches.append(len(listed))
        return list(listed)

    directory = PeerDirectory(fetch, PeerVerifier(cert_dir))
    assert directory.identity("bank").node_id == "bank"
    listed.append(("government", (cert_dir / "government.crt").read_bytes()))
    # execute: looked up at once, within the refresh interval
    found = directory.identity("government")
    # assert: found at the next refresh, one refresh per miss
    assert found.node_id == "government"
    assert fetches == [1, 2]


def test_a_party_nobody_registered_is_unknown_after_one_refresh(cert_dir: Path) -> None:
    fetches: list[int] = []

    def fetch() -> list[tuple[str, bytes]]:
        fetches.append(1)
        return [("bank", (cert_dir / "bank.crt").read_bytes())]

    directory = PeerDirectory(fetch, PeerVerifier(cert_dir))
    with pytest.raises(UnknownParty, match="'nobody'"):
        directory.identity("nobody")
    assert len(fetches) == 1
