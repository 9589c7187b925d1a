"""What one party gets out of a PSI run: its rows in the shared order, and sizes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class PsiResult:
    """This party's view of the alignment.

    ``rows[i]`` is the position, in this party's dataset, of the firm at shared index ``i``:
    every party's ``rows`` have the same length and row ``i`` means the same firm everywhere.
    In cardinality-only mode ``rows`` is ``None`` and only the sizes are known.

    Attributes
    ----------
    party, role
        Who this is and whether it led (``"leader"``) or followed (``"follower"``).
    size
        Number of firms present at the leader and every required follower.
    rows
        Local row positions in the shared order (``None`` in cardinality-only mode).
    subsets, subset_sizes
        The same, per optional subset this party is a member of.
    set_sizes
        Valid-id counts this party learned: the leader learns every party's, a follower its
        own and the leader's.
    n_input, invalid_rows
        Ids given, and row positions of those that were not valid codes (left out).
    """

    party: str
    role: str
    cardinality_only: bool
    size: int
    rows: npt.NDArray[np.int64] | None
    subsets: Mapping[str, npt.NDArray[np.int64] | None] = field(default_factory=dict)
    subset_sizes: Mapping[str, int] = field(default_factory=dict)
    set_sizes: Mapping[str, int] = field(default_factory=dict)
    n_input: int = 0
    invalid_rows: tuple[int, ...] = ()

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary with counts only: safe for the coordinator and the access log."""
        return {
            "party": self.party,
            "role": self.role,
            "cardinality_only": self.cardinality_only,
            "intersection_size": self.size,
            "subset_sizes": dict(self.subset_sizes),
            "set_sizes": dict(self.set_sizes),
            "input": self.n_input,
            "invalid": len(self.invalid_rows),
        }
