"""Vertical training as a job type: align the parties' rows with PSI, then train.

A vertical job file lists its parties (for the coordinator) and a ``vertical`` section (see
docs/protocols/vertical-lr.md); an optional ``psi`` section tunes the alignment (``id_format:
text`` for datasets not keyed by unified social credit codes). Both stages share the job's
channel under different topics (``psi/...``, then ``vlr/...``), so the rows every party trains
on are exactly the PSI intersection, in the one order PSI delivered::

    type: vertical_lr
    parties: {bank: {}, government: {}, third_party: {}}
    psi: {id_format: uscc}
    vertical:
      label_holder:
        {party: bank, dataset: bank, id_column: uscc, label: default_12m, features: [...]}
      feature_holders:
        - {party: government, dataset: government, id_column: uscc, features: [...]}

Each node checks its own columns against its own policy before any row is read; the label is
checked for the label holder itself (it never leaves the bank), the features for every other
party of the job (what they receive is derived from them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from node.consent.gate import training_frame
from node.jobs.context import PartyContext
from node.jobs.exceptions import JobSpecError
from node.jobs.hooks import JobHooks
from node.jobs.spec import JobFile
from node.jobs.summaries import row_unit
from node.psi import PsiSpec, run_psi_coordinator
from node.psi import spec_from_job as psi_spec_from_job
from node.state import confined
from node.training.alignment import aligned_rows
from node.training.vertical.arbiter import run_arbiter
from node.training.vertical.baseline import bank_only_metrics
from node.training.vertical.feature_holder import run_feature_holder
from node.training.vertical.label_holder import run_label_holder
from node.training.vertical.model import PartyModel
from node.training.vertical.results import FeatureHolderResult, LabelHolderResult
from node.training.vertical.spec import VerticalSpec, spec_from_job
from node.transport.channel import PartyChannel

PURPOSE = "training"


def _no_check(party: str, dataset: str, columns: Sequence[str], purpose: str = PURPOSE) -> None:
    """At submission the coordinator cannot see nodes' policies; each node checks its own."""


def _specs(job_raw: Any, parties: Sequence[str], authorize: Any) -> tuple[VerticalSpec, PsiSpec]:
    section = dict(job_raw.get("vertical") or {})
    if "preprocess" in job_raw:  # the job-level key of earlier job files
        if "preprocess" in section:
            raise JobSpecError(
                "job file", "is given twice", key="preprocess", fix="keep only vertical.preprocess"
            )
        section["preprocess"] = job_raw["preprocess"]
    spec = spec_from_job(section, authorize)
    if sorted(spec.parties) != sorted(parties):
        raise JobSpecError(
            "job file",
            f"lists {sorted(parties)} but the vertical section names {sorted(spec.parties)}",
            key="parties",
            fix="list exactly the label holder and the feature holders under parties",
        )
    psi_section = dict(job_raw.get("psi") or {})
    psi_section["leader"] = spec.label_holder.party  # the label holder aligns with everyone
    return spec, psi_spec_from_job(list(spec.parties), psi_section)


def validate_vertical_job(job: JobFile) -> None:
    """Refuse a malformed vertical job file at submission.

    Raises
    ------
    JobSpecError, node.psi.PsiSpecError
        The ``vertical`` or ``psi`` section is malformed, or the parties do not match.
    """
    _specs(job.raw, job.parties, _no_check)


def vertical_field_uses(job: JobFile) -> list[tuple[str, str, tuple[str, ...], str]]:
    """The columns each party is asked to train on (label included), for submission checks."""
    spec, _ = _specs(job.raw, job.parties, _no_check)
    uses = []
    for holder in (spec.label_holder, *spec.feature_holders):
        columns = (*holder.features, *((holder.label,) if holder.label else ()))
        uses.append((holder.party, holder.dataset, columns, PURPOSE))
    return uses


def run_vertical_party(ctx: PartyContext) -> dict[str, Any]:
    """Check policy, align with PSI, train this party's part, keep the model part locally."""

    def authorize(party: str, dataset: str, columns: Sequence[str], purpose: str = PURPOSE) -> None:
        if party != ctx.party:
            return
        label = spec_label if party == label_party else None
        features = [c for c in columns if c != label]
        ctx.gate.check(dataset, features, purpose)
        if label is not None:
            ctx.gate.check_own(dataset, [label], purpose)

    raw_vertical = ctx.spec.get("vertical") or {}
    label_party = str((raw_vertical.get("label_holder") or {}).get("party", ""))
    spec_label = str((raw_vertical.get("label_holder") or {}).get("label", ""))
    spec, psi = _specs(ctx.spec, ctx.parties, authorize)
    mine = spec.holder(ctx.party)
    frame = ctx.datasets.frame(mine.dataset)
    frame, basis = training_frame(ctx, frame, mine.id_column, spec.label_holder.party)
    order = aligned_rows(ctx, frame, mine.id_column, mine.dataset, psi)
    # each holder fits its preparation on its own training rows once the split is known
    rows: pd.DataFrame = frame.iloc[order].reset_index(drop=True)
    result: LabelHolderResult | FeatureHolderResult
    extra: dict[str, Any] = {}
    if ctx.party == spec.label_holder.party:
        result = run_label_holder(ctx.channel, ctx.hooks, spec, rows, ctx.pool)
        # the yardstick: the bank alone, same rows, split and schedule, computed here
        extra["bank_only"] = bank_only_metrics(spec, rows)
    else:
        result = run_feature_holder(ctx.channel, ctx.hooks, spec, rows, ctx.pool)
    if ctx.workdir is not None:
        _keep_model(ctx, result.model)
    if basis is not None:
        extra["training_basis"] = basis
    return {
        "aligned_rows": len(order),
        "row_unit": row_unit(mine.id_column),
        **result.summary(),
        **extra,
    }


def _keep_model(ctx: PartyContext, model: PartyModel) -> None:
    """This party's part of the model stays on this node (weights never leave it).

    The file is the self-contained model part (``PartyModel.to_dict``, format in
    docs/protocols/vertical-lr.md) plus the job id, so this node can score alone later.
    """
    assert ctx.workdir is not None
    path = confined(ctx.workdir, "models", f"{ctx.job_id}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**model.to_dict(), "job_id": ctx.job_id}))


def run_vertical_coordinator(
    channel: PartyChannel, hooks: JobHooks, job: JobFile
) -> dict[str, Any]:
    """The coordinator's part: count the alignment, then hold the Paillier key."""
    spec, psi = _specs(job.raw, job.parties, _no_check)
    alignment = run_psi_coordinator(channel, hooks, psi)
    return {"alignment": alignment, **run_arbiter(channel, hooks, spec).summary()}
