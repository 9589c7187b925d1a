"""PSI permits from the node config: deny by default, refuse malformed sections."""

from __future__ import annotations

import pytest

from node.psi import PsiPolicyError, PsiSpecError, permits_from_config


def test_declared_pairs_are_allowed_and_others_refused() -> None:
    # prepare
    permits = permits_from_config([{"dataset": "applicants", "id_field": "uscc"}])
    # execute
    permits.check("applicants", "uscc")
    # assert
    with pytest.raises(PsiPolicyError) as info:
        permits.check("applicants", "phone")
    assert info.value.id_field == "phone"


def test_no_section_allows_nothing() -> None:
    # execute / assert
    with pytest.raises(PsiPolicyError):
        permits_from_config(None).check("applicants", "uscc")


@pytest.mark.parametrize("section", ["applicants", [{"dataset": "a"}], ["a"]])
def test_malformed_section_is_refused(section: object) -> None:
    # execute / assert
    with pytest.raises(PsiSpecError):
        permits_from_config(section)
