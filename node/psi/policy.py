"""Which dataset and id field a node allows for PSI, as declared in its node config.

A node operator names, per dataset, the one id field that may be used to find common
enterprises (``psi_id_field`` in the node config; docs/operations.md)::

    datasets:
      applicants: {path: ..., schema: ..., psi_id_field: uscc}

A job naming anything else is refused before a single id is read, so a job file alone can
never turn an arbitrary column into a matching key."""

from __future__ import annotations

from dataclasses import dataclass

from node.psi.exceptions import PsiPolicyError


@dataclass(frozen=True)
class PsiPermits:
    """The (dataset, id field) pairs this node allows as PSI input."""

    allowed: frozenset[tuple[str, str]]

    def check(self, dataset: str, id_field: str) -> None:
        """Allow the pair or refuse it.

        Raises
        ------
        PsiPolicyError
            The pair is not declared in the node config.
        """
        if (dataset, id_field) not in self.allowed:
            raise PsiPolicyError(dataset, id_field)
