"""Tests for the job-type registry, whose protocol code is named by module path.

A typo in a ``Deferred`` reference would only fail when a job of that type first runs, on
one side, possibly in production: these tests resolve every reference up front.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from node.jobs.exceptions import JobCodeUnavailable, JobSpecError, public_message
from node.jobtypes.registry import (
    CoordinatorRunner,
    Deferred,
    FieldUses,
    JobType,
    PartyRunner,
    Validator,
    job_type,
    known_job_types,
)
from node.training.vertical.arbiter import KEY_CHECKPOINT
from node.transport.errors import classify

# the type each slot of a JobType is declared with: Callable[[parameters...], return]
SLOTS = {
    "validate": Validator,
    "run_party": PartyRunner,
    "run_coordinator": CoordinatorRunner,
    "uses": FieldUses,
}


def deferred_slots(kind: JobType) -> dict[str, Deferred]:
    slots = {slot: getattr(kind, slot) for slot in SLOTS}
    return {slot: f for slot, f in slots.items() if isinstance(f, Deferred)}


def returns_within(actual: Any, declared: Any) -> bool:
    """Whether a function returning ``actual`` fits a slot declared to return ``declared``:
    the same type, or a dict where the slot takes a Mapping of the same key and value types."""
    if actual == (type(None) if declared is None else declared):
        return True
    return (
        typing.get_origin(declared) is Mapping
        and typing.get_origin(actual) is dict
        and typing.get_args(actual) == typing.get_args(declared)
    )


@pytest.mark.parametrize("name", known_job_types())
def test_every_deferred_function_resolves_with_the_slots_types(name: str) -> None:
    for slot, deferred in deferred_slots(job_type(name)).items():
        hints = typing.get_type_hints(deferred.resolve())
        returned = hints.pop("return")
        parameters, declared = typing.get_args(SLOTS[slot])
        assert list(hints.values()) == parameters, (name, slot, hints)
        assert returns_within(returned, declared), (name, slot, returned)


def test_a_function_of_other_types_is_told_apart() -> None:
    """The check above can fail: a result that is a list is no Mapping, nor a str key."""
    declared = typing.get_args(PartyRunner)[1]
    assert returns_within(dict[str, Any], declared)
    assert not returns_within(list[str], declared)
    assert not returns_within(dict[int, Any], declared)
    assert returns_within(type(None), typing.get_args(Validator)[1])


def test_protocol_job_types_defer_their_code() -> None:
    for name in ("psi", "horizontal", "vertical_lr", "secureboost"):
        assert set(deferred_slots(job_type(name))) >= {"validate", "run_party", "run_coordinator"}


def test_a_deferred_call_imports_and_calls_the_named_function() -> None:
    assert Deferred("posixpath:join")("jobs", "a.yaml") == "jobs/a.yaml"
    with pytest.raises(TypeError, match="not a function"):
        Deferred("posixpath:sep").resolve()


def test_a_module_this_node_cannot_import_names_itself_and_the_fix(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.ERROR, logger="fedcredit.jobtypes"),
        pytest.raises(JobCodeUnavailable) as caught,
    ):
        Deferred("node.training.not_installed:run").resolve()

    # one line naming the module that failed, the missing one and the fix
    message = str(caught.value)
    assert message == (
        "cannot load node.training.not_installed here (no module named "
        "node.training.not_installed); reinstall fedcredit with its dependencies "
        "(pip install -e .)"
    )
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)
    # shown as it is outside the process: module names are not data
    assert public_message(caught.value) == f"JobCodeUnavailable: {message}"
    # the original traceback stays in this node's log
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None


def test_the_coordinator_answers_code_it_cannot_load_from_the_catalog() -> None:
    """A submission whose validation cannot be imported: not ``internal``, the module named."""
    with pytest.raises(JobCodeUnavailable) as caught:
        Deferred("node.training.not_installed:validate").resolve()

    error = classify(caught.value)

    assert error.code == "job.code_unavailable"
    # the module, and one remedy: the catalog's, aimed at whoever can act on it
    assert error.public_text == (
        "the coordinator cannot run this job type: cannot load node.training.not_installed "
        "(error job.code_unavailable). Fix: the coordinator's operator reinstalls fedcredit "
        "with its dependencies"
    )


def test_a_command_without_logging_prints_no_traceback() -> None:
    """A one-shot command (``fedcredit diagnose``) answers in its own line; a daemon, whose
    logging is set up, gets the traceback in its log."""
    code = (
        "from node.jobtypes.registry import Deferred\n"
        "try:\n    Deferred('node.training.not_installed:run').resolve()\n"
        "except Exception as exc:\n    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.startswith("cannot load node.training.not_installed here")
    assert done.stderr == ""


def test_a_dependency_missing_below_the_module_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The protocol's module is there; a library it imports is not (a broken torch)."""
    (tmp_path / "protocol_needing_a_library.py").write_text("import library_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises(JobCodeUnavailable) as caught:
        Deferred("protocol_needing_a_library:run").resolve()

    assert str(caught.value).startswith(
        "cannot load protocol_needing_a_library here (no module named library_not_installed)"
    )


@pytest.mark.parametrize(
    ("source", "named"),
    [
        # a name the module lacks: Python's text quotes the module's absolute file
        ("from os import no_such_name\n", "an import from os failed"),
        # a file the module opens at import: the OSError quotes its absolute path
        ("open({path!r}).read()\n", "cannot open missing-library.so"),
        # a shared library the loader cannot open: its text is the library's full path
        ("import ctypes\nctypes.CDLL({path!r})\n", "a library failed to load (OSError)"),
    ],
    ids=["cannot-import-name", "os-error-with-file", "shared-library"],
)
def test_a_failed_load_names_no_path_outside_this_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, named: str
) -> None:
    """The loader's own text carries the coordinator's install paths; a submitter sees the
    module only, with the catalog's one remedy, and a job report names the failure by name."""
    library = tmp_path / "lib" / "missing-library.so"
    (tmp_path / "protocol_with_a_bad_load.py").write_text(source.format(path=str(library)))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "protocol_with_a_bad_load", raising=False)

    with pytest.raises(JobCodeUnavailable) as caught:
        Deferred("protocol_with_a_bad_load:run").resolve()

    assert "/" in str(caught.value.__cause__)  # the loader's own text quotes a path
    report = public_message(caught.value)
    assert f"cannot load protocol_with_a_bad_load here ({named});" in report
    assert "/" not in report
    answer = classify(caught.value).public_text
    assert answer.startswith(
        "the coordinator cannot run this job type: cannot load protocol_with_a_bad_load"
    )
    assert "/" not in answer and str(tmp_path) not in answer
    # one remedy, the catalog's, aimed at the coordinator's operator
    assert "pip install" not in answer and "operator reinstalls" in answer


def test_a_function_the_module_lacks_is_named() -> None:
    with pytest.raises(JobCodeUnavailable, match="posixpath:no_such_function names no function"):
        Deferred("posixpath:no_such_function").resolve()


@pytest.mark.parametrize("ref", ["posixpath", "posixpath:", ":join", "posixpath:not a name"])
def test_a_reference_not_of_the_module_function_form_is_refused(ref: str) -> None:
    with pytest.raises(ValueError, match=r"'package\.module:function'"):
        Deferred(ref)


def test_the_vertical_key_checkpoint_is_the_arbiters() -> None:
    """The registry spells the name out; the coordinator deletes it when a job ends."""
    assert job_type("vertical_lr").secret_checkpoints == frozenset({KEY_CHECKPOINT})


def test_an_unknown_job_type_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(JobSpecError, match="unknown job type 'survival'") as caught:
        job_type("survival")
    assert "horizontal" in str(caught.value)
