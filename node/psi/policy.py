"""Which dataset and id field a node allows for PSI, as declared in its node config.

A node operator declares, under ``psi`` in the node config, the (dataset, id field) pairs that
may be used to find common enterprises, for example::

    psi:
      - dataset: applicants
        id_field: uscc

A job naming anything else is refused before a single id is read, so a job file alone can
never turn an arbitrary column into a matching key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from node.psi.exceptions import PsiPolicyError, PsiSpecError


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


def permits_from_config(section: object) -> PsiPermits:
    """Parse the node config's ``psi`` section (a list of ``{dataset, id_field}`` mappings).

    A missing section (``None``) allows nothing: PSI is deny-by-default like every other use
    of a field.

    Raises
    ------
    PsiSpecError
        The section is not a list of mappings with string ``dataset`` and ``id_field``.
    """
    if section is None:
        return PsiPermits(frozenset())
    if isinstance(section, str) or not isinstance(section, Sequence):
        raise PsiSpecError("node config 'psi' must be a list of {dataset, id_field} entries")
    allowed: set[tuple[str, str]] = set()
    for i, entry in enumerate(section):
        if not isinstance(entry, Mapping):
            raise PsiSpecError(f"node config psi[{i}] must be a mapping")
        dataset, id_field = entry.get("dataset"), entry.get("id_field")
        if not isinstance(dataset, str) or not isinstance(id_field, str):
            raise PsiSpecError(f"node config psi[{i}] needs string 'dataset' and 'id_field'")
        allowed.add((dataset, id_field))
    return PsiPermits(frozenset(allowed))
