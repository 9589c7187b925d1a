"""The job runner's bookkeeping, with the relay replaced by in-process recorders."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.jobs import JobRunner
from coordinator.jobs.exceptions import PartyRefused
from coordinator.jobs.runner import _Attempt
from coordinator.state import CoordinatorStore, JobRecord, JobState
from coordinator.state.sealing import SecretBox
from node.jobs.exceptions import JobSpecError
from tests.relay_fixtures import silent_router

JOB = b"type: check\nparties:\n  a: {}\n  b: {}\n"


_STARTED: list[JobRunner] = []


@pytest.fixture(autouse=True)
def _stop_runners() -> Iterator[None]:
    """Stop every runner a test started: a runner left behind keeps driving its jobs (and
    logging) on its threads for the rest of the session."""
    yield
    while _STARTED:
        _STARTED.pop().stop()


def _runner(tmp_path: Path, online: set[str], assign) -> JobRunner:  # type: ignore[no-untyped-def]
    router = silent_router("coordinator")
    runner = JobRunner(
        CoordinatorStore(tmp_path / "c.sqlite", SecretBox(bytes(range(32)))),
        assign=assign,
        notify_left=lambda *args: None,
        router=router,
        is_online=lambda p: p in online,
        party_wait_s=0.5,
    )
    _STARTED.append(runner)
    return runner


def _wait_finished(runner: JobRunner, job_id: str) -> JobRecord:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        record = runner.store.job(job_id)
        if record and record.state.finished:
            return record
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_party_never_connected_fails_the_job_naming_it(tmp_path: Path) -> None:
    runner = _runner(tmp_path, {"a"}, lambda party, job, attempt: None)
    record = runner.submit(JOB, "ops")
    finished = _wait_finished(runner, record.job_id)
    assert finished.state is JobState.FAILED
    assert "['b']" in finished.error


def test_party_lost_during_assignment_fails_the_job_instead_of_hanging(tmp_path: Path) -> None:
    def assign(party: str, job: JobRecord, attempt: int) -> None:
        if party == "b":
            raise ConnectionError("offline")

    runner = _runner(tmp_path, {"a", "b"}, assign)
    record = runner.submit(JOB, "ops")
    finished = _wait_finished(runner, record.job_id)
    assert finished.state is JobState.FAILED
    assert finished.error.startswith("b: disconnected before its task was assigned")


def test_a_party_listed_online_but_unreachable_is_waited_for_not_resumed_at_once(
    tmp_path: Path,
) -> None:
    """The registry still lists "b" online while its task cannot be handed over. Resuming
    on that failed the same way at once, thousands of attempts a minute, until the registry
    caught up; the job must wait for "b" to reopen its stream."""
    reachable = threading.Event()

    def assign(party: str, job: JobRecord, attempt: int) -> None:
        if party == "b" and not reachable.is_set():
            raise ConnectionError("offline")

    runner = _runner(tmp_path, {"a", "b"}, assign)
    record = runner.submit(JOB, "ops/ops")
    assert _wait_finished(runner, record.job_id).state is JobState.FAILED
    time.sleep(0.5)  # room for the resumes the old code started at once
    assert runner.store.job(record.job_id).attempt == 1
    # "b" reopens its stream: the job resumes by itself
    reachable.set()
    runner.party_online("b")
    _wait_attempt(runner, record.job_id, 2)
    kinds = [(e.kind, e.party) for _, e in runner.store.events(record.job_id)]
    assert kinds.count(("resumed", "coordinator (automatic resume)")) == 1
    runner.cancel(record.job_id, "ops/ops")


def test_first_failure_is_reported_as_the_cause(tmp_path: Path) -> None:
    runner = _runner(tmp_path, {"a", "b"}, lambda party, job, attempt: None)
    record = runner.submit(JOB, "ops")
    deadline = time.monotonic() + 10
    while runner.store.job(record.job_id).attempt == 0 and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.05)
    # "b" fails first; "a" (alphabetically earlier) fails after, because "b" left
    runner.report("b", record.job_id, 1, "failed", {}, "DataMismatch: column x missing")
    runner.report("a", record.job_id, 1, "failed", {}, "PartyUnavailable: b left")
    finished = _wait_finished(runner, record.job_id)
    assert finished.error == "b: DataMismatch: column x missing"


def _wait_attempt(runner: JobRunner, job_id: str, attempt: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        record = runner.store.job(job_id)
        if record and record.attempt >= attempt and record.state is JobState.RUNNING:
            return
        time.sleep(0.05)
    raise AssertionError(f"attempt {attempt} never started")


@pytest.mark.slow  # two attempts, each ended by the relay's 2 s receive deadline: ~5 s
def test_a_party_that_comes_back_in_time_resumes_the_failed_job(tmp_path: Path) -> None:
    # prepare: a running attempt that loses "a" (the coordinator's role is waiting on it)
    online = {"a", "b"}
    runner = _runner(tmp_path, online, lambda party, job, attempt: None)
    record = runner.submit(JOB, "ops/ops")
    _wait_attempt(runner, record.job_id, 1)
    online.discard("a")
    runner.party_offline("a")
    assert _wait_finished(runner, record.job_id).state is JobState.FAILED
    # execute: "a" comes back
    online.add("a")
    runner.party_online("a")
    # assert: a second attempt runs, started by the automatic resume
    _wait_attempt(runner, record.job_id, 2)
    kinds = [(e.kind, e.party) for _, e in runner.store.events(record.job_id)]
    assert ("resumed", "coordinator (automatic resume)") in kinds
    runner.cancel(record.job_id, "ops/ops")
    runner.stop()


def test_a_party_that_finished_before_disconnecting_is_not_counted_as_lost() -> None:
    # prepare: "a" reported its result; then its stream closes
    attempt = _Attempt("j", 1, ("a", "b"))
    attempt.succeed("a", {"reached": ["b"]})
    # execute
    left = attempt.depart("a", "disconnected from the coordinator")
    attempt.succeed("b", {"reached": ["a"]})
    # assert: nothing was lost, the attempt is over and holds both results
    assert left == "finished"
    assert attempt.done.is_set()
    ending = attempt.ending()
    assert ending.failures == {} and ending.departed == {}
    assert ending.results == {"a": {"reached": ["b"]}, "b": {"reached": ["a"]}}


def test_a_failed_party_ends_the_attempt_and_a_tolerant_one_waits_for_the_rest() -> None:
    strict = _Attempt("j", 1, ("a", "b"))
    assert strict.depart("a", "gone") == "failed"
    assert strict.ending().failures == {"a": "gone"}
    tolerant = _Attempt("j", 1, ("a", "b"), tolerant=True)
    assert tolerant.depart("a", "gone") == "tolerated"
    tolerant.settle()
    assert not tolerant.done.is_set()
    tolerant.succeed("b", {})
    assert tolerant.done.is_set() and tolerant.ending().failures == {}


def test_cancel_names_the_caller_and_deletes_the_checkpoints(tmp_path: Path) -> None:
    runner = _runner(tmp_path, {"a", "b"}, lambda party, job, attempt: None)
    record = runner.submit(JOB, "bank-a/bank")
    _wait_attempt(runner, record.job_id, 1)
    runner.store.save_checkpoint(record.job_id, "latest", b"1")
    cancelled = runner.cancel(record.job_id, "bank-a/bank")
    assert cancelled.state is JobState.CANCELLED
    assert cancelled.error == "cancelled by bank-a/bank"
    assert runner.store.load_checkpoint(record.job_id, "latest") is None
    runner.stop()


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (
            b"type: psi\nparties:\n  a: {dataset: d}\n  b: {dataset: d}\npsi: {batch_size: -1}\n",
            "job file psi.batch_size: must be >= 1; e.g. 32768",
        ),
        (
            b"type: horizontal\nparties:\n  a: {}\n  b: {}\nhorizontal: {rounds: zero}\n",
            "job file horizontal.rounds: must be an integer; e.g. 40",
        ),
        (
            b"type: vertical_lr\nparties:\n  a: {}\n  b: {}\nvertical: {epochs: 3}\n",
            "job file vertical.label_holder: is missing",
        ),
    ],
)
def test_a_job_types_spec_error_is_the_one_job_spec_error(
    tmp_path: Path, job: bytes, message: str
) -> None:
    runner = _runner(tmp_path, set(), lambda party, job, attempt: None)
    with pytest.raises(JobSpecError) as err:
        runner.submit(job, "ops/ops")
    # every job type's section is refused with the one error: file, key path, problem, fix
    assert str(err.value).startswith(message)
    assert runner.store.jobs() == []


def test_unknown_or_quarantined_parties_are_refused_at_submission(tmp_path: Path) -> None:
    router = silent_router("coordinator")
    runner = JobRunner(
        CoordinatorStore(tmp_path / "c.sqlite", SecretBox(bytes(range(32)))),
        assign=lambda *args: None,
        notify_left=lambda *args: None,
        router=router,
        is_online=lambda p: True,
        party_problem=lambda p: "quarantined" if p == "b" else None,
    )
    with pytest.raises(PartyRefused, match="party b: quarantined"):
        runner.submit(JOB, "ops/ops")
    assert runner.store.jobs() == []
