"""The bank's request client: answers are matched, silence is bounded, offline is a gap, and a
name no party holds is refused before a dispatcher starts for it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import grpc
import numpy as np
import pytest

from node.pki.roles import GOVERNMENT, THIRD_PARTY
from node.scoring import wire
from node.scoring.answers import Answer
from node.scoring.client import PartnerClient, Pending
from node.transport.channel import PartyUnavailable
from node.transport.directory import UnknownParty
from node.transport.relay_channel import Opened, RelayRefused
from tests.node.scoring.delivery import peer_directory

Resolve = Callable[[str], object]


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Resolve:
    """The lookup of a real peer directory listing the parties of these tests."""
    root = tmp_path_factory.mktemp("pki")
    return peer_directory(root, {"gov": GOVERNMENT, "tp": THIRD_PARTY}).identity


class Router:
    """Records what the client sends; answers nothing unless told (a silent holder)."""

    def __init__(
        self, offline: set[str] | None = None, failing: dict[str, Exception] | None = None
    ) -> None:
        self.sent: list[tuple[str, str, dict[str, object]]] = []
        self.offline = offline or set()
        self.failing = failing or {}  # recipient -> what sending to it raises
        self.lock = threading.Lock()

    def send(self, job_key: str, recipient: str, topic: str, payload: bytes) -> None:
        if recipient in self.offline:
            raise PartyUnavailable(recipient, "not connected")
        if recipient in self.failing:
            raise self.failing[recipient]
        with self.lock:
            self.sent.append((recipient, topic, wire.decode(payload, ("id",))))


def _score(client: PartnerClient, holder: str, firms: list[str]):  # type: ignore[no-untyped-def]
    body = {"model": "m", "job": "j", "refs": [f"r{f}" for f in firms], "firms": firms}
    return client.submit(holder, wire.SCORE, body, len(firms))


def _wait_sent(router: Router, n: int) -> None:
    deadline = time.monotonic() + 10
    while len(router.sent) < n and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(router.sent) >= n


def test_an_answer_is_split_back_to_each_caller_in_its_envelope(directory: Resolve) -> None:
    # prepare: two callers; whatever went out together is answered together
    router = Router()
    client = PartnerClient(router, directory)  # type: ignore[arg-type]
    first = _score(client, "gov", ["a", "b"])
    second = _score(client, "gov", ["c"])
    _wait_sent(router, 1)
    time.sleep(0.05)
    # execute: answer every message sent, firm by firm
    for _, _, message in list(router.sent):
        firms = message["firms"]
        assert isinstance(firms, list)
        n = len(firms)
        answer = Answer(
            {"id": message["id"], "error": "", "version": "m@1", "kind": "logistic",
             "details": [], "flag_codes": [], "categories": []},
            {"status": np.zeros(n, np.uint8), "detail": np.full(n, -1, np.int16),
             "flags": np.zeros((n, 0), np.bool_), "score": np.array([float(ord(f)) for f in firms]),
             "reason_codes": np.zeros((n, 0), np.int16), "reason_values": np.zeros((n, 0))},
        )  # fmt: skip
        client.handle(Opened("gov", wire.JOB_KEY, wire.SCORED, answer.to_bytes()))
    # assert
    assert PartnerClient.wait(first, time.monotonic() + 5) == ""
    assert PartnerClient.wait(second, time.monotonic() + 5) == ""
    assert first.answer.arrays["score"].tolist() == [97.0, 98.0]
    assert second.answer.arrays["score"].tolist() == [99.0]
    assert client.waiting() == 0
    client.close()


def test_entries_of_answers_that_never_come_are_dropped_by_age_and_by_count(
    directory: Resolve,
) -> None:
    # prepare: a silent holder and a clock we move
    now = [1000.0]
    router = Router()
    client = PartnerClient(router, directory, wait_s=30.0, max_waiting=50, clock=lambda: now[0])  # type: ignore[arg-type]
    stale = _score(client, "gov", ["a"])
    _wait_sent(router, 1)
    assert client.waiting() == 1
    # execute: time passes beyond the wait, then a flood of unanswered requests
    now[0] += 31.0
    assert client.waiting() == 0
    assert stale.done.is_set() and stale.failure == "deadline"
    for i in range(200):  # one job each: requests for different jobs never share a message
        body = {"model": "m", "job": f"j{i}", "refs": [f"r{i}"], "firms": [f"x{i}"]}
        client.submit("gov", wire.SCORE, body, 1)
    _wait_sent(router, 201)
    # assert: never more than the bound, however many were sent
    assert client.waiting() <= 50
    # a late answer to a dropped entry is ignored
    late = Answer.failed(str(router.sent[0][2]["id"]), "too late")
    client.handle(Opened("gov", wire.JOB_KEY, wire.SCORED, late.to_bytes()))
    client.close()


def test_an_offline_holder_is_a_gap_at_once(directory: Resolve) -> None:
    client = PartnerClient(Router(offline={"gov"}), directory)  # type: ignore[arg-type]
    pending = _score(client, "gov", ["a"])
    assert PartnerClient.wait(pending, time.monotonic() + 5) == "offline"
    assert client.waiting() == 0
    client.close()


class DirectoryDown(grpc.RpcError):
    """What a directory refresh raises when the coordinator does not answer."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE


def _dispatchers() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("score-"))


def test_a_name_no_party_holds_is_refused_before_a_dispatcher_starts(directory: Resolve) -> None:
    # prepare
    router = Router()
    client = PartnerClient(router, directory)  # type: ignore[arg-type]
    # execute
    with pytest.raises(UnknownParty, match="'govenrment'"):
        client.check(["gov", "govenrment"])
    with pytest.raises(UnknownParty, match="'govenrment'"):
        _score(client, "govenrment", ["a"])
    # assert: no thread and no queue for the bogus name, nothing sent
    assert "score-govenrment" not in _dispatchers()
    assert router.sent == []
    client.close()


@pytest.mark.parametrize(
    "failure",
    [
        RelayRefused("RESOURCE_EXHAUSTED", "envelope rate exceeded"),
        UnknownParty("tp"),  # it left the directory after its first request
        DirectoryDown(),
    ],
    ids=["refused", "left", "directory-down"],
)
def test_a_failed_delivery_is_one_line_and_an_offline_gap(
    failure: Exception, caplog: pytest.LogCaptureFixture, directory: Resolve
) -> None:
    # prepare: "tp" is a party; sending to it fails the way delivery can fail
    router = Router(failing={"tp": failure})
    client = PartnerClient(router, directory)  # type: ignore[arg-type]
    # execute
    with caplog.at_level(logging.INFO, logger="fedcredit.scoring.client"):
        first = _score(client, "tp", ["a"])
        gap = PartnerClient.wait(first, time.monotonic() + 5)
        del router.failing["tp"]  # the holder is back: its dispatcher still serves it
        _score(client, "tp", ["b"])
        _wait_sent(router, 1)
    # assert: a gap at once, one log line without a traceback, nothing left waiting for it
    assert gap == "offline"
    said = [r for r in caplog.records if r.name == "fedcredit.scoring.client"]
    assert all(r.exc_info is None for r in said), said
    failed = [r.getMessage() for r in said if "not sent" in r.getMessage()]
    assert len(failed) == 1 and "\n" not in failed[0] and "to tp" in failed[0], failed
    assert router.sent[0][0] == "tp"
    client.close()


def test_a_defect_in_sending_fails_its_callers_at_once_and_the_next_request_is_sent(
    caplog: pytest.LogCaptureFixture, directory: Resolve
) -> None:
    # prepare: sending to "tp" hits a defect (not a delivery failure); its traceback is kept
    router = Router(failing={"tp": TypeError("a defect")})
    client = PartnerClient(router, directory)  # type: ignore[arg-type]
    # execute
    with caplog.at_level(logging.ERROR, logger="fedcredit.scoring.client"):
        first = _score(client, "tp", ["a"])
        gap = PartnerClient.wait(first, time.monotonic() + 5)
        del router.failing["tp"]
        _score(client, "tp", ["b"])
        _wait_sent(router, 1)
    # assert: the defect surfaced in the log with its traceback (not swallowed as "offline"
    # only), its caller did not wait for the deadline, and a new dispatcher sent the next one
    assert gap == "offline"
    [crash] = [r for r in caplog.records if "stopped on a defect" in r.getMessage()]
    assert crash.getMessage() == "dispatcher for holder tp stopped on a defect"
    assert crash.exc_info is not None and crash.exc_info[0] is TypeError
    assert router.sent[0][0] == "tp"
    assert client.waiting() == 1  # "b" only: the defective envelope's entry was dropped
    client.close()


class GatedRouter(Router):
    """Holds the first send until released, so what callers queue meanwhile goes out as one
    batch; sending a score request of a job in ``defective`` raises a defect."""

    def __init__(self, defective: set[str]) -> None:
        super().__init__()
        self.defective = defective
        self.release = threading.Event()
        self.held = threading.Event()

    def send(self, job_key: str, recipient: str, topic: str, payload: bytes) -> None:
        if not self.held.is_set():
            self.held.set()
            assert self.release.wait(10)
        if wire.decode(payload, ("id",)).get("job") in self.defective:
            raise TypeError("a defect")
        super().send(job_key, recipient, topic, payload)


def _job(client: PartnerClient, job: str) -> Pending:
    body = {"model": "m", "job": job, "refs": [f"r-{job}"], "firms": [f"f-{job}"]}
    return client.submit("gov", wire.SCORE, body, 1)


def test_a_defect_partway_through_a_batch_fails_only_what_was_not_sent(
    caplog: pytest.LogCaptureFixture, directory: Resolve
) -> None:
    # prepare: one batch of three envelopes (one per job); the second one's send is a defect
    now = [1000.0]
    router = GatedRouter(defective={"j2"})
    client = PartnerClient(router, directory, wait_s=30.0, clock=lambda: now[0])  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="fedcredit.scoring.client"):
        held = _job(client, "j0")
        assert router.held.wait(10)
        sent, defective, unsent = _job(client, "j1"), _job(client, "j2"), _job(client, "j3")
        # execute
        router.release.set()
        assert PartnerClient.wait(defective, time.monotonic() + 5) == "offline"
        assert PartnerClient.wait(unsent, time.monotonic() + 5) == "offline"
    # assert: the envelope that went out still waits for its answer, and gets it
    assert [m["job"] for _, _, m in router.sent] == ["j0", "j1"]
    assert not sent.done.is_set()
    assert client.waiting() == 2  # j0 and j1; the defective envelope's entry is gone
    answer = Answer.failed(str(router.sent[1][2]["id"]), "model not deployed")
    client.handle(Opened("gov", wire.JOB_KEY, wire.SCORED, answer.to_bytes()))
    assert PartnerClient.wait(sent, time.monotonic() + 5) == ""
    assert sent.answer.error == "model not deployed"
    # the expiry later drops only what is still unanswered: the defective one stays "offline"
    now[0] += 31.0
    assert client.waiting() == 0
    assert (held.failure, sent.failure, defective.failure) == ("deadline", "", "offline")
    client.close()
