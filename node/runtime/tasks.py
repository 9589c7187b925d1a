"""Runs the node's part of each job the coordinator assigns, one thread per job attempt.

A newer attempt of a job supersedes an older one still running here (the coordinator
restarted, or a party dropped): the old attempt's channel is told the coordinator left, so its
protocol stops at the next receive, and the new attempt starts from the last checkpoint.
Errors reported back are sanitized: the exception's class and message, which by the
project's rule never carry data values, are logged locally in full and sent as the summary.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.jobs.context import DatasetSource, FieldGate, PartyContext
from node.jobs.exceptions import public_message
from node.jobs.spec import parse_job_file
from node.jobs.summaries import keep_summary
from node.jobtypes.registry import job_type
from node.runtime.job_hooks import NodeJobHooks
from node.telemetry import tracer
from node.telemetry.jobtrace import attempt_parent
from node.telemetry.metrics import record_progress
from node.transport.relay_channel import EnvelopeRouter

log = logging.getLogger("fedcredit.node.tasks")

# (job_id, attempt, kind, stage, step, total, metrics, error) -> keep going?
Reporter = Callable[[str, int, str, str, int, int, Mapping[str, Any], str], bool]


@dataclass(frozen=True)
class Assignment:
    job_id: str
    job_type: str
    spec_yaml: bytes
    attempt: int
    parties: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.job_id}#{self.attempt}"


class TaskRunner:
    """Starts, supersedes and reports the node's job attempts."""

    def __init__(
        self,
        node_id: str,
        router: EnvelopeRouter,
        datasets: DatasetSource,
        gate_for: Callable[[tuple[str, ...]], FieldGate],
        state_dir: Path,
        report: Reporter,
        record: Callable[[str, Mapping[str, object]], object],
        pool: Executor | None = None,
    ) -> None:
        self._node_id = node_id
        self._router = router
        self._datasets = datasets
        self._gate_for = gate_for
        self._checkpoints = state_dir / "checkpoints"
        self._workdir = state_dir / "jobs"
        self._report = report
        self._record = record
        self._pool = pool
        self._running: dict[str, tuple[Assignment, threading.Thread]] = {}
        self._lock = threading.Lock()

    def running_jobs(self) -> list[str]:
        with self._lock:
            return sorted(self._running)

    def assign(self, task: Assignment) -> None:
        """Start ``task``, superseding an older attempt of the same job."""
        with self._lock:
            current = self._running.get(task.job_id)
            if current is not None and current[0].attempt >= task.attempt:
                log.info("ignoring stale assignment %s", task.key)
                return
            if current is not None:
                self._router.party_left(
                    current[0].key, "coordinator", "superseded by a new attempt"
                )
            thread = threading.Thread(
                target=self._run, args=(task,), name=f"task-{task.key}", daemon=True
            )
            self._running[task.job_id] = (task, thread)
        self._router.channel(task.key)  # take envelopes that arrive before the role starts
        thread.start()

    def party_left(self, job_id: str, attempt: int, party: str, reason: str) -> None:
        self._router.party_left(f"{job_id}#{attempt}", party, reason)

    def join(self, timeout: float) -> None:
        with self._lock:
            threads = [t for _, t in self._running.values()]
        for thread in threads:
            thread.join(timeout)

    def _run(self, task: Assignment) -> None:
        def progress(stage: str, step: int, total: int, metrics: Mapping[str, float]) -> None:
            record_progress(task.job_type, stage)
            self._report(task.job_id, task.attempt, "progress", stage, step, total, metrics, "")

        hooks = NodeJobHooks(task.job_id, self._checkpoints, progress, self._record)
        try:
            job = parse_job_file(task.spec_yaml)
            ctx = PartyContext(
                party=self._node_id,
                job_id=task.job_id,
                attempt=task.attempt,
                parties=task.parties,
                spec=job.raw,
                channel=self._router.channel(task.key),
                hooks=hooks,
                datasets=self._datasets,
                gate=self._gate_for(task.parties),
                pool=self._pool,
                workdir=self._workdir,
            )
            log.info("starting %s job %s as %s", task.job_type, task.key, self._node_id)
            with tracer.start_as_current_span(
                "job.party",
                context=attempt_parent(task.job_id, task.attempt),
                attributes={
                    "fedcredit.job.id": task.job_id,
                    "fedcredit.job.type": task.job_type,
                    "fedcredit.job.attempt": task.attempt,
                    "fedcredit.party": self._node_id,
                },
            ):
                result = dict(job_type(task.job_type).run_party(ctx))
            json.dumps(result)  # results must be plain JSON summaries
        except Exception as exc:
            error = public_message(exc)
            log.warning("job %s failed here: %s", task.key, error)
            self._send(task, "failed", {}, error)
        else:
            log.info("job %s done here", task.key)
            # the node's own copy, kept before success is reported (a deployment right after
            # compares against it); a failure to keep it is logged there, never fails the job,
            # and the coordinator hears of the success whatever happens here
            try:
                keep_summary(self._workdir, task.job_id, result)
            finally:
                self._send(task, "succeeded", result, "")
        finally:
            with self._lock:
                current = self._running.get(task.job_id)
                if current is not None and current[0] is task:
                    del self._running[task.job_id]
            self._router.close_channel(task.key)

    def _send(self, task: Assignment, kind: str, payload: Mapping[str, Any], error: str) -> None:
        try:
            self._report(task.job_id, task.attempt, kind, "", 0, 0, payload, error)
        except Exception as exc:  # the coordinator is gone; it will reassign on return
            log.warning("could not report %s of %s: %s", kind, task.key, exc)
