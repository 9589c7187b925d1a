"""The federation's roles, as written in the OU of every certificate."""

from __future__ import annotations

from typing import Final

GOVERNMENT: Final = "government"
BANK: Final = "bank"
THIRD_PARTY: Final = "third_party"
COORDINATOR: Final = "coordinator"
AUDITOR: Final = "auditor"
OPERATOR: Final = "operator"
# A bank's loan systems and credit officers: they ask their own bank's node for decisions.
LOAN_OFFICER: Final = "loan_officer"

# Roles that run a node beside data and take part in jobs.
DATA_HOLDERS: Final = frozenset({GOVERNMENT, BANK, THIRD_PARTY})
ALL_ROLES: Final = frozenset({*DATA_HOLDERS, COORDINATOR, AUDITOR, OPERATOR, LOAN_OFFICER})
