"""PSI permits: only the declared (dataset, id field) pairs may be aligned."""

from __future__ import annotations

import pytest

from node.psi import PsiPermits, PsiPolicyError


def test_declared_pairs_are_allowed_and_others_refused() -> None:
    # prepare
    permits = PsiPermits(frozenset({("applicants", "uscc")}))
    # execute
    permits.check("applicants", "uscc")
    # assert
    with pytest.raises(PsiPolicyError) as info:
        permits.check("applicants", "phone")
    assert info.value.id_field == "phone"


def test_no_declaration_allows_nothing() -> None:
    with pytest.raises(PsiPolicyError):
        PsiPermits(frozenset()).check("applicants", "uscc")
