"""Drives jobs from submission to a final state, and resumes them after a restart.

An *attempt* is one run of a job by all its parties. Each attempt has its own channel scope
(``"<job id>#<attempt>"``), so messages of an attempt cut short by a crash can never be
confused with the next one. A coordinator restart, a party that drops out, or a party that
fails all end the current attempt; after a restart, running jobs start a new attempt once
their parties are back, and protocols resume from their last checkpoint. A job that failed
because a party left is resumed the same way when that party comes back within the resume
window (``auto_resume_window_s``), or later by an operator (``fedcredit jobs resume``).

The coordinator's own checkpoints are deleted when a job ends: all of them when it succeeded or
was cancelled, its secrets (a job type's ``secret_checkpoints``) when it failed, so that no
private key outlives its job while a resumed attempt can still pick up the rest.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coordinator.jobs.exceptions import NotResumable, PartyRefused
from coordinator.state import CoordinatorStore, EventRecord, JobRecord, JobState
from node.jobs.exceptions import DuplicateJobId, JobSpecError, public_message
from node.jobs.hooks import JobHooks
from node.jobs.spec import JobFile, parse_job_file
from node.jobtypes.registry import job_type, known_job_types
from node.state import InvalidIdentifier, check_identifier
from node.telemetry import tracer
from node.telemetry.jobtrace import attempt_root
from node.transport.channel import PartyChannel
from node.transport.relay_channel import EnvelopeRouter

log = logging.getLogger("fedcredit.coordinator.jobs")

# How long an attempt waits for all its parties to be connected before failing.
PARTY_WAIT_S = 60.0
# How long after a job failed for a party's departure that party's return resumes it.
AUTO_RESUME_WINDOW_S = 600.0
AUTO = "coordinator (automatic resume)"


@dataclass(frozen=True)
class _Ending:
    """What an attempt came to, copied out of it once it is over."""

    cancelled: bool
    restart: bool
    results: dict[str, Mapping[str, Any]]
    failures: dict[str, str]
    departed: dict[str, float]  # party -> when (monotonic) its stream closed


@dataclass
class _Attempt:
    """One run of a job by all its parties.

    Each party's report stream, the coordinator role's thread, stream closures and operator
    calls change an attempt at the same time, so its state is private and every change goes
    through a method holding the attempt's own lock: a party that reported success is never
    also counted as lost, and the driving thread reads one consistent ``ending()``.
    """

    job_id: str
    attempt: int
    parties: tuple[str, ...]
    # Job types that tolerate a party's loss (horizontal training: the round completes with
    # quorum) keep going without it; when it comes back, the attempt restarts so that it
    # rejoins from the last checkpoint.
    tolerant: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    _results: dict[str, Mapping[str, Any]] = field(default_factory=dict, init=False)
    _failures: dict[str, str] = field(default_factory=dict, init=False)
    _lost: dict[str, str] = field(default_factory=dict, init=False)
    # Parties that disconnected (as opposed to failing), and when: their return can resume
    # the job.
    _departed: dict[str, float] = field(default_factory=dict, init=False)
    _cancelled: bool = field(default=False, init=False)
    _restart: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.job_id}#{self.attempt}"

    def succeed(self, party: str, payload: Mapping[str, Any]) -> None:
        with self._lock:
            self._results[party] = payload
            self._settle()

    def fail(self, party: str, reason: str) -> None:
        """Record ``party``'s failure; the first reason a party gives is kept."""
        with self._lock:
            self._failures.setdefault(party, reason)

    def depart(self, party: str, reason: str, *, before_assignment: bool = False) -> str:
        """``party``'s stream closed: ``"finished"`` (it had reported success, nothing is
        lost), ``"tolerated"`` (the attempt goes on without it) or ``"failed"``."""
        with self._lock:
            if party in self._results:
                return "finished"
            self._departed.setdefault(party, time.monotonic())
            if self.tolerant and not before_assignment:
                self._lost[party] = reason
                return "tolerated"
            self._failures.setdefault(party, reason)
            return "failed"

    def lost(self, party: str) -> bool:
        with self._lock:
            return party in self._lost

    def unfinished(self) -> list[str]:
        """Parties that have not reported success (the ones still to tell about a loss)."""
        with self._lock:
            return [p for p in self.parties if p not in self._results]

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True

    def ask_restart(self) -> bool:
        """Mark a live attempt for a restart; False if it is already over."""
        with self._lock:
            if self.done.is_set():
                return False
            self._restart = True
            return True

    def restarting(self) -> bool:
        with self._lock:
            return self._restart

    def settle(self) -> None:
        """End the attempt if every party has reported, been lost, or one has failed."""
        with self._lock:
            self._settle()

    def _settle(self) -> None:
        if self._failures or all(p in self._results or p in self._lost for p in self.parties):
            self.done.set()

    def ending(self) -> _Ending:
        with self._lock:
            return _Ending(
                cancelled=self._cancelled,
                restart=self._restart,
                results=dict(self._results),
                failures=dict(self._failures),
                departed=dict(self._departed),
            )


class AttemptHooks(JobHooks):
    """Hooks for the coordinator's own role: progress to events, checkpoints to SQLite."""

    def __init__(self, runner: JobRunner, job_id: str) -> None:
        self._runner = runner
        self._job_id = job_id

    def progress(self, stage: str, step: int, total: int, metrics: Mapping[str, float]) -> None:
        self._runner.event(
            self._job_id,
            "progress",
            "coordinator",
            {"stage": stage, "step": step, "total": total, "metrics": dict(metrics)},
        )

    def record(self, action: str, details: Mapping[str, object]) -> None:
        self._runner.audit(action, {"job_id": self._job_id, **details})

    def save_checkpoint(self, name: str, data: bytes) -> None:
        self._runner.store.save_checkpoint(self._job_id, name, data)

    def load_checkpoint(self, name: str) -> bytes | None:
        return self._runner.store.load_checkpoint(self._job_id, name)


class JobRunner:
    """Owns every job's life cycle on the coordinator.

    Parameters
    ----------
    store
        Where jobs, events and coordinator checkpoints persist.
    assign
        Sends a task assignment to a party; raises if the party is offline.
    notify_left
        Tells a party that another party left an attempt (or that the attempt is over).
    router
        The coordinator's own envelope router: its party channels for each attempt.
    is_online
        Whether a node currently holds its stream open.
    audit
        Writes a protocol record (``JobHooks.record``) to the coordinator's access log.
    on_job_event
        Writes a job transition (job id, event, party or submitter) to the access log.
    on_attempt_end
        Called with the attempt key and job id when an attempt ends (relay accounting).
    party_problem
        Why a node may not be named in a new job (unknown, quarantined), or ``None``.
    auto_resume_window_s
        How long a job that failed because a party left waits for it to resume by itself.
    """

    def __init__(
        self,
        store: CoordinatorStore,
        assign: Callable[[str, JobRecord, int], None],
        notify_left: Callable[[str, str, int, str, str], None],
        router: EnvelopeRouter,
        is_online: Callable[[str], bool],
        audit: Callable[[str, Mapping[str, object]], object] = lambda action, details: None,
        party_wait_s: float = PARTY_WAIT_S,
        capabilities: Callable[[str], Mapping[str, Mapping[str, Sequence[str]]] | None] = (
            lambda party: None
        ),
        on_job_event: Callable[[str, str, str], object] = lambda job_id, event, party: None,
        on_attempt_end: Callable[[str, str], object] = lambda job_key, job_id: None,
        party_problem: Callable[[str], str | None] = lambda party: None,
        auto_resume_window_s: float = AUTO_RESUME_WINDOW_S,
    ) -> None:
        self.store = store
        self._assign = assign
        self._notify_left = notify_left
        self._router = router
        self._is_online = is_online
        self.audit = audit
        self._party_wait_s = party_wait_s
        self._capabilities = capabilities
        self._on_job_event = on_job_event
        self._on_attempt_end = on_attempt_end
        self._party_problem = party_problem
        self._auto_resume_window_s = auto_resume_window_s
        # job id -> (monotonic deadline, parties it waits for) of jobs a return resumes
        self._resumable: dict[str, tuple[float, frozenset[str]]] = {}
        # node id -> when (monotonic) it last (re)opened its stream (``party_online``)
        self._returned: dict[str, float] = {}
        self._attempts: dict[str, _Attempt] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # submission and resumption ---------------------------------------------------------

    def submit(self, spec_yaml: bytes, submitted_by: str, job_id: str = "") -> JobRecord:
        """Validate a job file, store the job and start its first attempt.

        Raises
        ------
        node.jobs.exceptions.JobSpecError
            The job file is malformed, of an unknown type, or invalid for its type.
        DuplicateJobId
            ``job_id`` is already taken.
        PartyRefused
            A named party is unknown to the coordinator or quarantined.
        """
        job = parse_job_file(spec_yaml, job_types=known_job_types())
        try:
            for party in job.parties:
                check_identifier("party name", party)
        except InvalidIdentifier as exc:
            raise JobSpecError(
                "job file", str(exc), key="parties", fix="name each party by its node id"
            ) from None
        for party in job.parties:
            problem = self._party_problem(party)
            if problem is not None:
                raise PartyRefused(party, problem)
        job_type(job.job_type).validate(job)  # every job type refuses with JobSpecError
        self._check_capabilities(job)
        job_id = job_id or f"{job.job_type}-{uuid.uuid4().hex[:10]}"
        if self.store.job(job_id) is not None:
            raise DuplicateJobId(job_id)
        now = time.time()
        record = JobRecord(
            job_id=job_id,
            job_type=job.job_type,
            spec_yaml=bytes(spec_yaml),
            parties=job.parties,
            state=JobState.PENDING,
            attempt=0,
            submitted_by=submitted_by,
            created_at=now,
            updated_at=now,
        )
        self.store.insert_job(record)
        self.event(job_id, "submitted", "", {"by": submitted_by, "parties": list(job.parties)})
        self._on_job_event(job_id, "submitted", submitted_by)
        self._start(record, job)
        return record

    def _check_capabilities(self, job: JobFile) -> None:
        """Refuse a job asking a party for a field its published policy rules out for the purpose.

        Nodes publish, per dataset field, the purposes some rule of their policy allows. A job
        that names a field no rule allows for its purpose would only fail once started; refusing
        it here says so before anything runs. (Passing this check is necessary, not sufficient:
        each node still checks its policy for every recipient when its part starts.)
        """
        for party, dataset, fields, purpose in job_type(job.job_type).uses(job):
            offered = self._capabilities(party)
            if offered is None:
                continue  # not registered yet: the node decides when it starts
            if dataset not in offered:
                raise JobSpecError(
                    "job file",
                    f"{party} serves no dataset {dataset!r}; it serves {sorted(offered)}",
                )
            refused = [f for f in fields if purpose not in offered[dataset].get(f, ())]
            if refused:
                raise JobSpecError(
                    "job file",
                    f"{party}'s policy has no {purpose} rule for {dataset} field(s) {refused}; "
                    f"ask {party} to add the rule(s) or leave the field(s) out",
                )

    def resume_unfinished(self) -> list[str]:
        """Start a new attempt of every job that was pending or running at the last stop."""
        resumed = []
        for record in self.store.jobs():
            if record.state in (JobState.PENDING, JobState.RUNNING):
                self.event(record.job_id, "resumed", "", {"after_attempt": record.attempt})
                self._start(record, parse_job_file(record.spec_yaml))
                resumed.append(record.job_id)
        return resumed

    def cancel(self, job_id: str, by: str) -> JobRecord:
        """Cancel a job on behalf of ``by`` (the caller's organization/node id).

        A failed job can be cancelled too: that ends its wait for a resume.

        Raises
        ------
        KeyError
            No such job.
        """
        reason = f"cancelled by {by}"
        with self._lock:
            attempt = self._attempts.get(job_id)
            self._resumable.pop(job_id, None)
        if attempt is not None:
            attempt.cancel()
            self._lose(attempt, by, reason)
            attempt.done.set()
        record = self.store.job(job_id)
        if record is None:
            raise KeyError(job_id)
        if not record.state.finished or record.state is JobState.FAILED:
            record = self.store.update_job(job_id, state=JobState.CANCELLED, error=reason)
            self.event(job_id, "cancelled", by, {"reason": reason})
            self._on_job_event(job_id, "cancelled", by)
            self.store.delete_checkpoints(job_id)
        return record

    def resume(self, job_id: str, by: str) -> JobRecord:
        """Start a new attempt of a failed job from the checkpoints its parties hold.

        Raises
        ------
        KeyError
            No such job.
        NotResumable
            The job did not fail (it is running, succeeded or was cancelled).
        """
        with self._lock:  # check and claim at once: two returns must not start two attempts
            record = self.store.job(job_id)
            if record is None:
                raise KeyError(job_id)
            current = self._attempts.get(job_id)
            running = current is not None and not current.done.is_set()
            if record.state is not JobState.FAILED or running:
                raise NotResumable(job_id, record.state.value)
            self._resumable.pop(job_id, None)
            record = self.store.update_job(job_id, state=JobState.PENDING, error="")
        self.event(job_id, "resumed", by, {"after_attempt": record.attempt})
        self._on_job_event(job_id, "resumed", by)
        log.info("job %s resumed by %s after attempt %d", job_id, by, record.attempt)
        self._start(record, parse_job_file(record.spec_yaml))
        return record

    def stop(self, timeout: float = 5.0) -> None:
        """Stop driving jobs (on shutdown); running jobs stay ``running`` to be resumed."""
        self._stopping.set()
        with self._lock:
            attempts = list(self._attempts.values())
        for attempt in attempts:
            attempt.done.set()
        self._router.fail_all("coordinator", "the coordinator is shutting down")
        for thread in self._threads:
            thread.join(timeout)

    # reports from parties ------------------------------------------------------------

    def report(
        self,
        party: str,
        job_id: str,
        attempt_no: int,
        kind: str,
        payload: Mapping[str, Any],
        error: str = "",
    ) -> bool:
        """Take a party's progress or final report; return False if the attempt is over."""
        with self._lock:
            attempt = self._attempts.get(job_id)
        if attempt is None or attempt.attempt != attempt_no or party not in attempt.parties:
            return False
        if kind == "progress":
            self.event(job_id, "progress", party, dict(payload))
        elif kind == "succeeded":
            attempt.succeed(party, payload)
            self.event(job_id, "party_done", party, {})
        elif kind == "failed":
            self._lose(attempt, party, error or "failed without a reason")
            self.event(job_id, "party_failed", party, {"error": error})
        attempt.settle()
        return not attempt.done.is_set() or kind != "progress"

    def party_offline(self, node_id: str) -> None:
        """A node's stream closed: every attempt it is in loses it.

        A tolerant attempt goes on without it (the protocol leaves it out of later rounds);
        any other attempt fails, naming the party.
        """
        reason = "disconnected from the coordinator"
        with self._lock:
            attempts = [a for a in self._attempts.values() if node_id in a.parties]
        for attempt in attempts:
            outcome = attempt.depart(node_id, reason)
            if outcome == "finished":
                continue
            self.event(attempt.job_id, "party_left", node_id, {"tolerated": attempt.tolerant})
            self._left(attempt, node_id, reason)
            if outcome == "tolerated":
                attempt.settle()
            else:
                attempt.done.set()

    def party_online(self, node_id: str) -> None:
        """A node (re)opened its stream: if a tolerant attempt lost it, restart that attempt.

        The new attempt resumes from the checkpoint all parties have, so the returning party
        rejoins at the next round instead of the job finishing without it.
        """
        with self._lock:
            self._returned[node_id] = time.monotonic()
        self._resume_waiting_for(node_id)
        with self._lock:
            attempts = [a for a in self._attempts.values() if a.lost(node_id)]
        for attempt in attempts:
            if not attempt.ask_restart():
                continue
            self.event(attempt.job_id, "party_rejoined", node_id, {"attempt": attempt.attempt})
            for party in (*attempt.parties, "coordinator"):
                self._router.party_left(attempt.key, party, f"{node_id} rejoined; restarting")
            attempt.done.set()

    def _resume_waiting_for(self, node_id: str) -> None:
        """Resume failed jobs that were waiting for ``node_id``, if all their parties are back."""
        now = time.monotonic()
        with self._lock:
            for job_id, (deadline, _) in list(self._resumable.items()):
                if deadline < now:
                    del self._resumable[job_id]
            due = [
                job_id
                for job_id, (_, waiting) in self._resumable.items()
                if node_id in waiting and all(self._is_online(p) for p in waiting)
            ]
        for job_id in due:
            try:
                self.resume(job_id, AUTO)
            except (KeyError, NotResumable):
                continue  # an operator resumed or cancelled it meanwhile

    def _lose(self, attempt: _Attempt, party: str, reason: str) -> None:
        """Record that ``party`` failed ``attempt`` and wake everyone waiting on it."""
        attempt.fail(party, reason)
        self._left(attempt, party, reason)

    def _left(self, attempt: _Attempt, party: str, reason: str) -> None:
        """Wake the relay's waits on ``party`` and tell the other unfinished parties."""
        self._router.party_left(attempt.key, party, reason)
        for other in attempt.unfinished():
            if other != party:
                try:
                    self._notify_left(other, attempt.job_id, attempt.attempt, party, reason)
                except Exception:  # the other party may be offline too
                    log.debug("could not tell %s that %s left", other, party)

    # events ----------------------------------------------------------------------------

    def event(self, job_id: str, kind: str, party: str, detail: Mapping[str, Any]) -> None:
        self.store.add_event(EventRecord(job_id, time.time(), kind, party, dict(detail)))

    # driving -------------------------------------------------------------------------

    def _start(self, record: JobRecord, job: JobFile) -> None:
        thread = threading.Thread(
            target=self._drive, args=(record, job), name=f"job-{record.job_id}", daemon=True
        )
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _wait_for_parties(self, parties: tuple[str, ...]) -> tuple[list[str], float]:
        """The parties still offline when the wait ended, and when (monotonic) they were
        last checked: a return stamped after that time counts as coming back."""
        deadline = time.monotonic() + self._party_wait_s
        while not self._stopping.is_set():
            checked = time.monotonic()
            missing = [p for p in parties if not self._is_online(p)]
            if not missing or time.monotonic() > deadline:
                return missing, checked
            time.sleep(0.1)
        return list(parties), time.monotonic()

    def _drive(self, record: JobRecord, job: JobFile) -> None:
        job_id = record.job_id
        missing, checked = self._wait_for_parties(job.parties)
        if self._stopping.is_set():
            return
        if missing:
            self._finish(job_id, JobState.FAILED, {}, f"parties not connected: {missing}")
            self._wait_for_return(job_id, dict.fromkeys(missing, checked))
            return
        tolerant = job_type(job.job_type).tolerates_party_loss
        attempt = _Attempt(job_id, record.attempt + 1, job.parties, tolerant=tolerant)
        with self._lock:
            current = self._attempts.get(job_id)
            if current is not None and not current.done.is_set():
                log.warning("job %s already has a live attempt; not starting another", job_id)
                return
            self._attempts[job_id] = attempt
        self.store.update_job(job_id, state=JobState.RUNNING, attempt=attempt.attempt)
        channel = self._router.channel(attempt.key)
        with attempt_root(job_id, attempt.attempt) as root:  # the job id is the trace root
            span = tracer.start_span(
                "job.attempt",
                context=root,
                attributes={
                    "fedcredit.job.id": job_id,
                    "fedcredit.job.type": job.job_type,
                    "fedcredit.job.attempt": attempt.attempt,
                    "fedcredit.job.parties": list(job.parties),
                },
            )
        try:
            for party in job.parties:
                try:
                    self._assign(party, self.store.job(job_id) or record, attempt.attempt)
                except Exception:  # went offline between the wait and the assignment
                    reason = "disconnected before its task was assigned"
                    attempt.depart(party, reason, before_assignment=True)
                    self._left(attempt, party, reason)
                    attempt.done.set()
                    break
                self.event(job_id, "assigned", party, {"attempt": attempt.attempt})
            outcome = (
                {} if attempt.done.is_set() else self._run_coordinator_role(attempt, channel, job)
            )
            attempt.done.wait()
            ending = attempt.ending()
            if self._stopping.is_set() and not ending.cancelled:
                return  # shutdown: the job stays running and is resumed at the next start
            if ending.restart:
                self.event(job_id, "restarting", "", {"after_attempt": attempt.attempt})
                self._start(self.store.job(job_id) or record, job)
                return
            self._conclude(job_id, ending, outcome)
            span.set_attribute("fedcredit.job.failed_parties", sorted(ending.failures))
        finally:
            span.end()
            with self._lock:
                if self._attempts.get(job_id) is attempt:
                    del self._attempts[job_id]
            self._router.close_channel(attempt.key)
            self._on_attempt_end(attempt.key, job_id)

    def _run_coordinator_role(
        self, attempt: _Attempt, channel: PartyChannel, job: JobFile
    ) -> dict[str, Any]:
        """Run the coordinator's part in this thread; a failure fails the attempt."""
        outcome: dict[str, Any] = {}
        try:
            outcome["result"] = dict(
                job_type(job.job_type).run_coordinator(
                    channel, AttemptHooks(self, attempt.job_id), job
                )
            )
        except Exception as exc:
            message = public_message(exc)
            log.warning("coordinator role of %s failed: %s", attempt.key, message)
            if not attempt.done.is_set() and not attempt.restarting():
                self._lose(attempt, "coordinator", message)
                attempt.done.set()
        return outcome

    def _conclude(self, job_id: str, ending: _Ending, outcome: Mapping[str, Any]) -> None:
        if ending.cancelled:
            return
        if ending.failures:
            party, reason = next(iter(ending.failures.items()))  # the first is the cause
            error = f"{party}: {reason}"
            self._finish(job_id, JobState.FAILED, {"failures": ending.failures}, error)
            if ending.departed:
                self._wait_for_return(job_id, ending.departed)
            return
        result = {"coordinator": outcome.get("result", {}), "parties": ending.results}
        self._finish(job_id, JobState.SUCCEEDED, result, "")

    def _wait_for_return(self, job_id: str, departed: Mapping[str, float]) -> None:
        """Let the return of the ``departed`` parties resume the failed job within the window.

        A party counts as back before the job ended only if it reopened its stream after it
        left. Being listed online is not enough: the node registry can still show a party
        whose stream just broke (a task that could not be handed over) as online, and
        resuming on that would fail the same way at once, attempt after attempt.
        """
        window = self._auto_resume_window_s
        parties = frozenset(departed)
        with self._lock:
            self._resumable[job_id] = (time.monotonic() + window, parties)
            returned = all(self._returned.get(p, -math.inf) >= at for p, at in departed.items())
        self.event(job_id, "resumable", "", {"waits_for": sorted(parties), "window_s": window})
        log.info(
            "job %s resumes by itself if %s come(s) back within %.0f s",
            job_id,
            ", ".join(sorted(parties)),
            window,
        )
        if returned and all(self._is_online(p) for p in parties):  # back before the end
            self._resume_waiting_for(next(iter(parties)))

    def _finish(self, job_id: str, state: JobState, result: Mapping[str, Any], error: str) -> None:
        record = self.store.job(job_id)
        secrets = job_type(record.job_type).secret_checkpoints if record else frozenset()
        self.store.delete_checkpoints(job_id, secrets if state is JobState.FAILED else None)
        self.store.update_job(job_id, state=state, result_json=json.dumps(result), error=error)
        self.event(job_id, state.value, "", {"error": error} if error else {})
        self._on_job_event(job_id, state.value, "")
        log.info("job %s %s%s", job_id, state.value, f": {error}" if error else "")
