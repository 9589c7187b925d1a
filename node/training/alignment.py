"""Align a vertical job's parties by PSI and put the common rows in one order everywhere.

Every vertical model type (logistic regression, boosted trees) starts the same way: the label
holder leads a PSI run with every feature holder, and each party keeps the intersection rows
of its dataset. PSI shuffles its shared order afresh on every run; training needs the order to
be the same across attempts too, or a job resumed after a restart would draw another
validation split from its checkpoint. Every party holds the same ids for these firms, so
sorting by them gives one order everywhere and reveals nothing beyond the intersection itself.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from node.jobs.context import PartyContext
from node.psi import PsiSpec, run_psi_follower, run_psi_leader
from node.psi.workers import validate_chunk


def aligned_rows(
    ctx: PartyContext, frame: pd.DataFrame, id_column: str, dataset: str, psi: PsiSpec
) -> npt.NDArray[np.int64]:
    """Run this party's side of PSI and return its intersection rows in the canonical order.

    Raises
    ------
    node.psi.PsiError
        Any failure of the PSI run (a party left, invalid ids, a policy refusal).
    """
    align = run_psi_leader if ctx.party == psi.leader else run_psi_follower
    result = align(
        ctx.channel,
        ctx.hooks,
        psi,
        frame[id_column].tolist(),
        ctx.pool,
        dataset=dataset,
        id_field=id_column,
    )
    assert result.rows is not None  # a vertical job never runs PSI cardinality-only
    codes, _ = validate_chunk(frame[id_column].iloc[result.rows].tolist(), psi.id_format)
    return result.rows[np.argsort(np.asarray(codes), kind="stable")]
