"""End to end: leader, followers and coordinator over a MemoryHub, checked against sets."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest

from node.compute import worker_pool
from node.jobs.hooks import MemoryHooks
from node.psi import (
    DuplicateIdsError,
    EmptySetError,
    InvalidIdsError,
    MalformedMessage,
    PsiAborted,
    PsiError,
    PsiPeerLeft,
    PsiResult,
    PsiSpec,
    run_psi_follower,
)
from node.psi.hashing import hash_to_u
from node.psi.wire import Kind, Status, decode_start, encode_points, encode_start
from node.transport.channel import PartyChannel
from node.transport.memory import MemoryHub

from .harness import JOIN_S, make_codes, run_job

# Small batches so that even a few hundred ids stream over several messages.
BATCH = 64


def spec(**kwargs: object) -> PsiSpec:
    settings: dict[str, object] = {
        "leader": "bank",
        "followers": ("gov",),
        "batch_size": BATCH,
        "timeout_s": 10.0,
        "run_timeout_s": 20.0,
    }
    settings.update(kwargs)
    return PsiSpec(**settings)  # type: ignore[arg-type]


def ids_at(result: PsiResult, ids: list[str], name: str = "required") -> list[str]:
    rows = result.rows if name == "required" else result.subsets[name]
    assert rows is not None
    return [ids[i].strip().upper() for i in rows]


def two_sets(n_bank: int, n_gov: int, common: int) -> tuple[list[str], list[str]]:
    pool = make_codes(n_bank + n_gov - common, seed=n_bank * 7 + n_gov + common)
    bank = pool[:n_bank]
    gov = pool[:common] + pool[n_bank:]
    return bank, gov


@pytest.mark.parametrize(
    ("n_bank", "n_gov", "common"),
    [(300, 200, 90), (150, 500, 0), (200, 200, 200), (1, 130, 1)],
    ids=["partial", "empty-overlap", "full-overlap", "single"],
)
def test_intersection_matches_reference_and_order_is_shared(
    n_bank: int, n_gov: int, common: int
) -> None:
    # prepare
    bank, gov = two_sets(n_bank, n_gov, common)
    expected = set(bank) & set(gov)
    # execute
    run = run_job(spec(), {"bank": bank, "gov": gov})
    # assert
    leader, follower = run.outcome["bank"], run.outcome["gov"]
    assert isinstance(leader, PsiResult) and isinstance(follower, PsiResult)
    assert set(ids_at(leader, bank)) == expected
    assert ids_at(leader, bank) == ids_at(follower, gov)
    assert leader.size == follower.size == common
    assert leader.set_sizes == {"bank": n_bank, "gov": n_gov}
    assert run.outcome["coordinator"]["intersection_size"] == common


def test_shared_order_is_not_the_leaders_row_order() -> None:
    # prepare
    bank, gov = two_sets(300, 300, 300)
    # execute
    run = run_job(spec(), {"bank": bank, "gov": gov})
    # assert: a fresh random order, so row i reveals nothing about any party's file order
    rows = run.outcome["bank"].rows
    assert list(rows) != sorted(rows)


def test_three_parties_required_and_optional_subsets() -> None:
    # prepare
    pool = make_codes(900, seed=3)
    bank = pool[:400]
    gov = pool[100:300] + pool[400:600]
    third = pool[200:350] + pool[600:700]
    psi_spec = spec(followers=("gov", "third"), subsets={"bank_gov": ("gov",)})
    # execute
    run = run_job(psi_spec, {"bank": bank, "gov": gov, "third": third})
    # assert
    leader, g, t = run.outcome["bank"], run.outcome["gov"], run.outcome["third"]
    assert set(ids_at(leader, bank)) == set(bank) & set(gov) & set(third)
    assert ids_at(leader, bank) == ids_at(g, gov) == ids_at(t, third)
    assert set(ids_at(leader, bank, "bank_gov")) == set(bank) & set(gov)
    assert ids_at(leader, bank, "bank_gov") == ids_at(g, gov, "bank_gov")
    assert "bank_gov" not in t.subsets  # not a member: never told
    assert run.outcome["coordinator"]["subset_sizes"] == {"bank_gov": 200}


def test_cardinality_only_reveals_sizes_and_no_rows() -> None:
    # prepare
    pool = make_codes(600, seed=4)
    bank, gov, third = pool[:300], pool[100:400], pool[150:250] + pool[400:600]
    psi_spec = spec(followers=("gov", "third"), cardinality_only=True)
    # execute
    run = run_job(psi_spec, {"bank": bank, "gov": gov, "third": third})
    # assert
    for party in ("bank", "gov", "third"):
        result = run.outcome[party]
        assert result.size == 100
        assert result.rows is None
    assert not any(c.topic == "psi/leader" and c.payload[1] == 6 for c in run.hub.captured)


def test_ids_are_normalised_and_invalid_rows_reported_by_position() -> None:
    # prepare
    bank, gov = two_sets(100, 100, 40)
    messy = [f"  {code.lower()} " for code in bank]
    messy[5] = "not a code"
    messy[17] = None  # type: ignore[call-overload]
    # execute
    run = run_job(spec(), {"bank": messy, "gov": gov})
    # assert
    leader = run.outcome["bank"]
    assert leader.invalid_rows == (5, 17)
    assert set(ids_at(leader, messy)) == (set(bank) - {bank[5], bank[17]}) & set(gov)
    assert run.outcome["coordinator"]["parties"]["bank"] == {
        "input": 100,
        "invalid": 2,
        "valid": 98,
    }


def test_coordinator_sees_only_counts_and_no_id_or_hash_crosses_the_wire() -> None:
    # prepare
    bank, gov = two_sets(200, 200, 80)
    # execute
    run = run_job(spec(), {"bank": bank, "gov": gov})
    # assert: the coordinator got one JSON summary of counts per party, nothing else
    to_coord = [c for c in run.hub.captured if c.recipient == "coordinator"]
    assert {c.topic for c in to_coord} == {"psi/summary"}
    assert sorted(c.sender for c in to_coord) == ["bank", "gov"]
    for c in to_coord:
        summary = json.loads(c.payload[2:])
        assert set(summary) <= {
            "party",
            "role",
            "cardinality_only",
            "intersection_size",
            "subset_sizes",
            "set_sizes",
            "input",
            "invalid",
        }
        assert len(c.payload) < 400
    # assert: no raw id, no unsalted hash, and no salted-but-unblinded point anywhere
    start = next(c.payload for c in run.hub.captured if c.topic == "psi/leader")
    salt = decode_start(start, "bank", "psi/leader")[2]
    traffic = b"".join(c.payload for c in run.hub.captured)
    for code in bank + gov:
        digest = hashlib.sha256(code.encode()).digest()
        assert code.encode() not in traffic
        assert digest not in traffic and digest.hex().encode() not in traffic
        assert hash_to_u(salt, code) not in traffic
    # assert: the access log records sizes, never ids
    logged = repr(run.hooks["bank"].records) + repr(run.hooks["gov"].records)
    assert "psi_run" in logged and not any(code in logged for code in bank + gov)


def test_every_message_stays_under_the_size_bound() -> None:
    # prepare
    bank, gov = two_sets(300, 300, 100)
    # execute
    run = run_job(spec(), {"bank": bank, "gov": gov})
    # assert: 300 points at 64 per batch need 5 messages per stream, each at most 64 points
    b_stream = [c for c in run.hub.captured if c.topic == "psi/b"]
    assert len(b_stream) == 5
    assert max(len(c.payload) for c in run.hub.captured) <= 10 + BATCH * 32


def test_runs_with_real_worker_processes() -> None:
    # prepare
    bank, gov = two_sets(500, 700, 250)
    # execute
    with worker_pool(2) as pool:
        run = run_job(spec(batch_size=128), {"bank": bank, "gov": gov}, pool=pool)
    # assert
    assert ids_at(run.outcome["bank"], bank) == ids_at(run.outcome["gov"], gov)
    assert set(ids_at(run.outcome["bank"], bank)) == set(bank) & set(gov)


def test_empty_set_ends_every_party_with_a_named_error() -> None:
    # prepare
    bank, _ = two_sets(50, 50, 10)
    third = make_codes(30, seed=9)
    psi_spec = spec(followers=("gov", "third"))
    # execute
    run = run_job(psi_spec, {"bank": bank, "gov": ["junk", ""], "third": third})
    # assert
    assert isinstance(run.outcome["gov"], EmptySetError)
    for party in ("bank", "third", "coordinator"):
        assert isinstance(run.outcome[party], PsiAborted)
        assert run.outcome[party].party == "gov"


def test_leader_with_duplicates_stops_followers() -> None:
    # prepare
    bank, gov = two_sets(50, 50, 10)
    bank[20] = bank[3].lower()
    # execute
    run = run_job(spec(), {"bank": bank, "gov": gov})
    # assert
    assert isinstance(run.outcome["bank"], DuplicateIdsError)
    assert run.outcome["bank"].positions == (20,)
    assert isinstance(run.outcome["gov"], PsiAborted)
    assert isinstance(run.outcome["coordinator"], PsiAborted)


def test_strict_job_refuses_invalid_ids() -> None:
    # prepare
    bank, gov = two_sets(50, 50, 10)
    gov[7] = "91" + "0" * 16
    # execute
    run = run_job(spec(strict=True), {"bank": bank, "gov": gov})
    # assert
    assert isinstance(run.outcome["gov"], InvalidIdsError)
    assert run.outcome["gov"].positions == (7,)
    assert gov[7] not in str(run.outcome["gov"])
    assert isinstance(run.outcome["bank"], PsiAborted)


class DropAfter(PartyChannel):
    """A channel whose party leaves the job after sending ``n`` messages on ``topic``."""

    def __init__(self, inner: PartyChannel, drop: object, topic: str, n: int) -> None:
        super().__init__(inner.party, inner.job_id)
        self.inner, self.drop, self.topic, self.left = inner, drop, topic, n

    def send(self, recipient: str, topic: str, payload: bytes) -> None:
        if topic == self.topic:
            if self.left == 0:
                self.drop(self.party)  # type: ignore[operator]
            self.left -= 1
        self.inner.send(recipient, topic, payload)

    def recv(self, sender: str, topic: str, timeout: float | None = None) -> bytes:
        return self.inner.recv(sender, topic, timeout)


@pytest.mark.parametrize(("who", "topic"), [("gov", "psi/b"), ("bank", "psi/leader")])
def test_party_dropped_mid_run_ends_the_job_cleanly(who: str, topic: str) -> None:
    # prepare
    bank, gov = two_sets(400, 400, 100)
    third = make_codes(100, seed=11)
    psi_spec = spec(followers=("gov", "third"))

    def wrap(party: str, channel: PartyChannel) -> PartyChannel:
        hub = channel._hub  # type: ignore[attr-defined]
        return DropAfter(channel, hub.drop, topic, 2) if party == who else channel

    # execute
    run = run_job(psi_spec, {"bank": bank, "gov": gov, "third": third}, wrap=wrap)
    # assert: nobody produced a result, everybody names the party that left
    assert not any(isinstance(v, PsiResult) for v in run.outcome.values())
    assert isinstance(run.outcome[who], PsiError)  # it is gone; it only has to stop
    others = [p for p in ("bank", "gov", "third", "coordinator") if p != who]
    for party in others:
        error = run.outcome[party]
        assert isinstance(error, PsiPeerLeft | PsiAborted), (party, error)
        assert error.party == who


def test_cardinality_only_when_the_follower_is_larger() -> None:
    # prepare: the leader strips its own scalar here (the other branch of the comparison)
    bank, gov = two_sets(100, 300, 60)
    # execute
    run = run_job(spec(cardinality_only=True), {"bank": bank, "gov": gov})
    # assert
    assert run.outcome["bank"].size == run.outcome["gov"].size == 60
    assert run.outcome["bank"].rows is None


def test_each_run_is_recorded_with_sizes_even_when_it_fails() -> None:
    # prepare
    bank, gov = two_sets(60, 80, 20)
    # execute
    ok = run_job(spec(), {"bank": bank, "gov": gov})
    failed = run_job(spec(), {"bank": bank, "gov": []})
    # assert
    action, details = ok.hooks["gov"].records[-1]
    assert action == "psi_run" and details["status"] == "succeeded"
    assert details["intersection_size"] == 20 and details["set_sizes"] == {"gov": 80, "bank": 60}
    action, details = failed.hooks["bank"].records[-1]
    assert (action, details["status"], details["error"]) == ("psi_run", "failed", "PsiAborted")


def test_follower_refuses_a_malformed_batch_and_tells_the_leader() -> None:
    # prepare: play the leader by hand, announcing 3 ids but sending a batch of 2
    hub = MemoryHub("job-psi-test", timeout=10.0)
    leader = hub.channel("bank")
    gov = make_codes(10, seed=12)
    outcome: dict[str, object] = {}

    def follower() -> None:
        try:
            outcome["gov"] = run_psi_follower(hub.channel("gov"), MemoryHooks(), spec(), gov)
        except Exception as exc:
            outcome["gov"] = exc

    thread = threading.Thread(target=follower, daemon=True)
    thread.start()
    # execute
    leader.recv("gov", "psi/hello", 10.0)
    leader.send("gov", "psi/leader", encode_start(Status.OK, 3, bytes(32)))
    leader.send("gov", "psi/leader", encode_points(0, 1, bytes(range(64))))
    thread.join(JOIN_S)
    # assert
    error = outcome["gov"]
    assert isinstance(error, MalformedMessage) and error.sender == "bank"
    notices = [c.payload for c in hub.captured if c.sender == "gov" and c.topic == "psi/ab"]
    assert notices and notices[-1][1:3] == bytes([Kind.HELLO, Status.FAILED])
