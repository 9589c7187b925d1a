"""The error catalog: value-free parameters, mapped families, INTERNAL for the rest."""

from __future__ import annotations

import grpc
import pytest

from node.jobs.exceptions import JobSpecError
from node.pki.exceptions import UnknownIssuer
from node.policy.exceptions import ReleaseQueryError
from node.transport.directory import UnknownParty
from node.transport.errors import CATALOG, WITHHELD, ServiceError, classify, safe_param, scrub

CODE = "91350100M000100Y43"  # a valid unified social credit code


def test_names_pass_and_identifiers_are_withheld() -> None:
    assert safe_param("tax_paid_12m") == "tax_paid_12m"
    assert safe_param(12) == 12
    assert safe_param(CODE) == WITHHELD
    assert safe_param("a'; DROP") == WITHHELD  # not a plain name
    assert (
        scrub(f"job file: unknown job type '{CODE}'") == f"job file: unknown job type '{WITHHELD}'"
    )


def test_every_entry_renders_with_its_code_and_fix() -> None:
    for code, entry in CATALOG.items():
        text = entry.render({})  # missing parameters: the text is cut, never a KeyError
        assert f"(error {code}). Fix: " in text
        assert "{" not in text


def test_families_map_to_their_entries_and_the_rest_to_internal() -> None:
    assert classify(ReleaseQueryError("not a valid expression", "x")).code == "release.bad_filter"
    assert classify(UnknownIssuer("CN=x")).status is grpc.StatusCode.UNAUTHENTICATED
    spec = classify(JobSpecError("job file", f"names {CODE}"))
    assert spec.code == "job.invalid_spec" and CODE not in spec.public_text
    internal = classify(ValueError(f"could not convert string to float: '{CODE}'"))
    assert internal.code == "internal" and CODE not in internal.public_text


def test_unknown_code_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        ServiceError("no.such.code")


def test_an_unknown_party_is_named_with_the_fix_not_internal() -> None:
    error = classify(UnknownParty("holder-tax"))
    assert error.status is grpc.StatusCode.FAILED_PRECONDITION
    assert error.public_text.startswith(
        "party 'holder-tax' is not registered with the coordinator (error party.unknown). "
        "Fix: check its node id"
    )
    assert CODE not in classify(UnknownParty(CODE)).public_text  # a code typed as a name
