"""PSI job settings: defaults, and every way a job file can be wrong."""

from __future__ import annotations

from typing import Any

import pytest

from node.jobs.exceptions import JobSpecError
from node.psi import PsiSpec, PsiSpecError, spec_from_job
from node.psi.spec import MAX_BATCH

PARTIES = ("bank", "gov", "third")


def test_defaults_lead_with_the_first_party_and_require_all() -> None:
    # execute
    spec = spec_from_job(PARTIES, None)
    # assert
    assert spec.leader == "bank"
    assert spec.followers == ("gov", "third") == spec.required
    assert spec.set_names == ("required",)
    assert not spec.cardinality_only and not spec.strict


def test_subsets_are_delivered_to_their_members_only() -> None:
    # execute
    spec = spec_from_job(
        PARTIES, {"leader": "gov", "require": ["bank"], "subsets": {"all3": ["bank", "third"]}}
    )
    # assert
    assert spec.followers == ("bank", "third")
    assert spec.sets_of("bank") == ("required", "all3")
    assert spec.sets_of("third") == ("all3",)


@pytest.mark.parametrize(
    "section",
    [
        {"colour": "red"},
        {"leader": "nobody"},
        {"require": ["nobody"]},
        {"require": "gov"},
        {"subsets": {"x": []}},
        {"subsets": {"a/b": ["gov"]}},
        {"subsets": ["gov"]},
        {"batch_size": MAX_BATCH + 1},
        {"batch_size": "big"},
        {"strict": "yes"},
        {"timeout_s": 0},
        {"id_format": "hex"},
        {"id_format": 3},
    ],
)
def test_malformed_sections_are_refused(section: dict[str, Any]) -> None:
    # execute / assert: the job file's one error; the key (or the party rule) is named
    with pytest.raises(JobSpecError, match=r"psi|require|subset"):
        spec_from_job(PARTIES, section)


def test_a_setting_of_the_wrong_kind_names_its_path_and_fix() -> None:
    with pytest.raises(JobSpecError) as err:
        spec_from_job(PARTIES, {"strict": "yes"})
    assert (
        str(err.value)
        == "job file psi.strict: must be true or false; write true or false (unquoted)"
    )


def test_a_job_needs_two_parties() -> None:
    # execute / assert
    with pytest.raises(PsiSpecError):
        spec_from_job(("bank",), {})
    with pytest.raises(PsiSpecError):
        PsiSpec(leader="bank", followers=("bank",))
