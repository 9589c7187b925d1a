"""The job file header: a mistyped required key is named with the key it resembles."""

from __future__ import annotations

import pytest

from node.jobs.exceptions import JobSpecError
from node.jobs.spec import parse_job_file


def test_partys_typo_is_named_with_the_right_key() -> None:
    with pytest.raises(JobSpecError) as err:
        parse_job_file("type: psi\npartys:\n  bank: {}\n", "job.yaml")
    assert str(err.value) == (
        "job.yaml parties: is missing; 'partys' looks like a typo of 'parties'; "
        "rename partys to parties"
    )


def test_type_typo_is_named() -> None:
    with pytest.raises(JobSpecError, match="'typ' looks like a typo of 'type'"):
        parse_job_file("typ: psi\nparties: {bank: {}}\n")


def test_missing_key_without_a_close_one_has_no_guess() -> None:
    with pytest.raises(JobSpecError) as err:
        parse_job_file("type: psi\nsettings: {}\n")
    assert "typo" not in str(err.value)


def test_empty_parties_is_not_called_a_typo() -> None:
    with pytest.raises(JobSpecError) as err:
        parse_job_file("type: psi\nparties: {}\n")
    assert "typo" not in str(err.value)


def test_an_unregistered_type_is_refused_naming_the_registered_ones() -> None:
    with pytest.raises(JobSpecError) as err:
        parse_job_file("type: survival\nparties: {bank: {}, gov: {}}\n", job_types=["check", "psi"])
    assert str(err.value) == "job file type: unknown job type 'survival'; use one of: check, psi"


def test_any_type_passes_when_the_caller_looks_it_up_itself() -> None:
    job = parse_job_file("type: survival\nparties: {bank: {}, gov: {}}\nsurvival: {}\n")
    assert job.job_type == "survival" and job.parties == ("bank", "gov")
    assert job.raw["survival"] == {}


def test_the_coordinator_cannot_be_a_party() -> None:
    with pytest.raises(JobSpecError) as err:
        parse_job_file("type: psi\nparties: {bank: {}, coordinator: {}}\n")
    assert err.value.key == "parties.coordinator" and "reserved" in err.value.problem
