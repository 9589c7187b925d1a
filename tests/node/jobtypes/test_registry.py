"""Tests for the job-type registry, whose protocol code is named by module path.

A typo in a ``Deferred`` reference would only fail when a job of that type first runs, on
one side, possibly in production: these tests resolve every reference up front.
"""

from __future__ import annotations

import inspect

import pytest

from node.jobs.exceptions import JobSpecError
from node.jobtypes.registry import Deferred, JobType, job_type, known_job_types
from node.training.vertical.arbiter import KEY_CHECKPOINT

# the parameters each slot of a JobType is called with
SLOTS = {"validate": 1, "run_party": 1, "run_coordinator": 3, "uses": 1}


def deferred_slots(kind: JobType) -> dict[str, Deferred]:
    slots = {slot: getattr(kind, slot) for slot in SLOTS}
    return {slot: f for slot, f in slots.items() if isinstance(f, Deferred)}


@pytest.mark.parametrize("name", known_job_types())
def test_every_deferred_function_resolves_with_the_slots_parameters(name: str) -> None:
    for slot, deferred in deferred_slots(job_type(name)).items():
        function = deferred.resolve()
        assert len(inspect.signature(function).parameters) == SLOTS[slot], (name, slot)


def test_protocol_job_types_defer_their_code() -> None:
    for name in ("psi", "horizontal", "vertical_lr", "secureboost"):
        assert set(deferred_slots(job_type(name))) >= {"validate", "run_party", "run_coordinator"}


def test_a_deferred_call_imports_and_calls_the_named_function() -> None:
    assert Deferred("posixpath:join")("jobs", "a.yaml") == "jobs/a.yaml"
    with pytest.raises(AttributeError):
        Deferred("posixpath:no_such_function").resolve()
    with pytest.raises(TypeError, match="not a function"):
        Deferred("posixpath:sep").resolve()


def test_the_vertical_key_checkpoint_is_the_arbiters() -> None:
    """The registry spells the name out; the coordinator deletes it when a job ends."""
    assert job_type("vertical_lr").secret_checkpoints == frozenset({KEY_CHECKPOINT})


def test_an_unknown_job_type_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(JobSpecError, match="unknown job type 'survival'") as caught:
        job_type("survival")
    assert "horizontal" in str(caught.value)
