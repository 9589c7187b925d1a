"""A node's part of a PSI job: the alignment its configuration permits, kept for later jobs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.jobs.context import PartyContext
from node.psi import PsiPermits, run_psi_party, write_alignment
from node.state import confined


def run_psi_job_party(ctx: PartyContext) -> Mapping[str, Any]:
    """Align, keep the local row order for later jobs, and report counts only."""
    result = run_psi_party(ctx, _psi_permits(ctx))
    if ctx.workdir is not None and result.rows is not None:
        write_alignment(result, confined(ctx.workdir, "alignments", f"{ctx.job_id}.json"))
    return result.summary()


def _psi_permits(ctx: PartyContext) -> PsiPermits:
    """The (dataset, id field) pairs this node's config declares for alignment."""
    pairs = {(n, f) for n in ctx.datasets.names() if (f := ctx.datasets.psi_id_field(n))}
    return PsiPermits(frozenset(pairs))
