"""The bank's desk saves first and sends second: a holder that leaves the directory in
between is reported ``offline`` beside the saved record, never an error after the save
(docs/authorization.md, item 4)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from node.audit.tokens import FirmTokenizer
from node.consent.record import Authorization, Evidence
from node.consent.store import ConsentStore
from node.data import uscc
from node.pki import PeerVerifier
from node.pki.roles import GOVERNMENT, THIRD_PARTY
from node.scoring.client import PartnerClient
from node.scoring.desk import ConsentDesk, Grant
from node.scoring.keys import Pseudonyms
from node.transport.directory import PeerDirectory, UnknownParty
from tests.node.scoring.delivery import NotConsulted, peer_directory

NOW = 1_800_000_000.0
DAY = 86_400.0
EVIDENCE = Evidence("ab" * 32, "branch-7", NOW - DAY)


class LeavingStore(ConsentStore):
    """The bank's store; right after it saves, the holder "tp" leaves the directory (the
    window between the desk's lookup of the holders and its send)."""

    def __init__(
        self, path: Path, leave: list[tuple[str, bytes]], directory: PeerDirectory
    ) -> None:
        super().__init__(path)
        self._listed = leave
        self._directory = directory

    def _leave(self) -> None:
        self._listed[:] = [(name, pem) for name, pem in self._listed if name != "tp"]
        self._directory.refresh()

    def add(self, records: Iterable[Authorization], now: float | None = None) -> list[str]:
        saved = super().add(records, now)
        self._leave()
        return saved

    def revoke(self, record_id: str, revocation_id: str, at: float | None = None) -> Authorization:
        saved = super().revoke(record_id, revocation_id, at)
        self._leave()
        return saved


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[ConsentDesk, ConsentStore, PeerDirectory]]:
    certs = tmp_path / "certs"
    peer_directory(tmp_path, {"gov": GOVERNMENT, "tp": THIRD_PARTY})  # issues the certificates
    listed = [(n, (certs / f"{n}.crt").read_bytes()) for n in ("gov", "tp")]
    directory = PeerDirectory(lambda: listed, PeerVerifier(certs))
    store = LeavingStore(tmp_path / "auth.sqlite", listed, directory)
    # nothing reaches the relay: the only holder named is the one that left
    client = PartnerClient(NotConsulted(), directory.identity)  # type: ignore[arg-type]

    def pseudonyms(holder: str) -> Pseudonyms:
        directory.identity(holder)  # the pair key needs the holder's certificate
        return Pseudonyms(b"p" * 32)

    desk = ConsentDesk(store, FirmTokenizer(b"k" * 32), client, pseudonyms)
    yield desk, store, directory
    client.close()
    store.close()


def test_a_holder_that_leaves_after_a_revocation_is_saved_is_offline(
    desk: tuple[ConsentDesk, ConsentStore, PeerDirectory],
) -> None:
    # prepare: a grant the bank holds
    consent, store, directory = desk
    token = FirmTokenizer(b"k" * 32).token(uscc.generate(random.Random(7)))
    grant = Authorization(
        "auth-0000000000000001", token, "bank-a", ("loan_approval",), NOW - DAY, NOW + DAY, EVIDENCE
    )
    ConsentStore.add(store, [grant])  # filed without anyone leaving
    # execute
    revocation, outcome = consent.revoke(grant.record_id, ["tp"])
    # assert: revoked here, and the holder's outcome said, not raised
    assert outcome == {"tp": "offline"}
    assert store.get(grant.record_id).revocation_id == revocation
    with pytest.raises(UnknownParty):
        directory.identity("tp")  # it did leave


def test_a_holder_that_leaves_after_a_grant_is_filed_is_offline(
    desk: tuple[ConsentDesk, ConsentStore, PeerDirectory],
) -> None:
    consent, store, _ = desk
    grant = Grant(
        uscc.generate(random.Random(8)),
        "bank-a",
        ("loan_approval",),
        NOW - DAY,
        NOW + DAY,
        EVIDENCE,
        holders=("tp",),
    )
    [record_id], outcome = consent.register([grant])
    assert outcome == {"tp": "offline"}
    assert store.get(record_id).revoked_at is None
