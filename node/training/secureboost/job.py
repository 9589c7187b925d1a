"""SecureBoost as a job type: align the parties' rows with PSI, then grow the trees.

A job file lists its parties (for the coordinator) and a ``secureboost`` section (see
``spec.py`` and docs/protocols/secureboost.md); an optional ``psi`` section tunes the alignment
(``id_format: text`` for datasets not keyed by unified social credit codes)::

    type: secureboost
    parties: {bank: {}, government: {}}
    psi: {id_format: uscc}
    secureboost:
      label_holder:
        {party: bank, dataset: bank, id_column: uscc, label: default_12m, features: [...]}
      feature_holders:
        - {party: government, dataset: government, id_column: uscc, features: [...]}

Each node checks its own columns against its own policy before any row is read: the features
for every other party of the job, the label for the label holder itself (it never leaves the
bank). Each party keeps its model part on its node (``models/<job id>.json``). The job type
tolerates a party's loss: the attempt is held (see ``session.py``) and the coordinator starts
a new one, resuming from the last tree, when the party reconnects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from node.consent.gate import training_frame
from node.jobs.context import PartyContext
from node.jobs.exceptions import JobSpecError
from node.jobs.hooks import JobHooks, MemoryHooks
from node.jobs.spec import JobFile
from node.jobs.summaries import row_unit
from node.psi import PsiSpec, run_psi_coordinator
from node.psi import spec_from_job as psi_spec_from_job
from node.state import confined
from node.training.alignment import aligned_rows
from node.training.secureboost.guest import run_guest
from node.training.secureboost.host import run_host
from node.training.secureboost.model import save_guest_model, save_part
from node.training.secureboost.spec import SecureBoostSpec, spec_from_job
from node.transport.channel import PartyChannel
from node.transport.memory import MemoryHub

PURPOSE = "training"


def _no_check(party: str, dataset: str, columns: Sequence[str], purpose: str = PURPOSE) -> None:
    """At submission the coordinator cannot see nodes' policies; each node checks its own."""


def _specs(raw: Any, parties: Sequence[str], authorize: Any) -> tuple[SecureBoostSpec, PsiSpec]:
    spec = spec_from_job(raw.get("secureboost") or {}, authorize)
    if sorted(spec.parties) != sorted(parties):
        raise JobSpecError(
            "job file",
            f"lists {sorted(parties)} but the secureboost section names {sorted(spec.parties)}",
            key="parties",
            fix="list exactly the label holder and the feature holders under parties",
        )
    psi_section = dict(raw.get("psi") or {})
    psi_section["leader"] = spec.label_holder.party  # the label holder aligns with everyone
    return spec, psi_spec_from_job(list(spec.parties), psi_section)


def validate_secureboost_job(job: JobFile) -> None:
    """Refuse a malformed SecureBoost job file at submission.

    Raises
    ------
    JobSpecError, node.psi.PsiSpecError
        The ``secureboost`` or ``psi`` section is malformed, or the parties do not match.
    """
    _specs(job.raw, job.parties, _no_check)


def secureboost_field_uses(job: JobFile) -> list[tuple[str, str, tuple[str, ...], str]]:
    """The columns each party is asked to train on (label included), for submission checks."""
    spec, _ = _specs(job.raw, job.parties, _no_check)
    return [
        (h.party, h.dataset, (*h.features, *((h.label,) if h.label else ())), PURPOSE)
        for h in (spec.label_holder, *spec.feature_holders)
    ]


def bank_alone(spec: SecureBoostSpec, rows: pd.DataFrame) -> dict[str, float]:
    """The yardstick: the same boosting on the label holder's columns only, same rows and split.

    It is the label holder's role with no feature holders and the plaintext scheme, run here
    in-process; nothing is sent anywhere.
    """
    alone = replace(
        spec,
        feature_holders=(),
        encryption=replace(spec.encryption, plaintext=True),
    )
    channel = MemoryHub("bank-alone").channel(spec.label_holder.party)
    result = run_guest(channel, MemoryHooks(), alone, rows)
    return {**result.metrics, "trees": float(len(result.ensemble.trees))}


def run_secureboost_party(ctx: PartyContext) -> dict[str, Any]:
    """Check policy, align with PSI, train this party's part, keep the model part locally."""
    raw = ctx.spec.get("secureboost") or {}
    label_holder = raw.get("label_holder") or {}
    label = str(label_holder.get("label", "")) if ctx.party == label_holder.get("party") else ""

    def authorize(party: str, dataset: str, columns: Sequence[str], purpose: str = PURPOSE) -> None:
        if party != ctx.party:
            return
        ctx.gate.check(dataset, [c for c in columns if c != label], purpose)
        if label:
            ctx.gate.check_own(dataset, [label], purpose)

    spec, psi = _specs(ctx.spec, ctx.parties, authorize)
    mine = spec.holder(ctx.party)
    frame = ctx.datasets.frame(mine.dataset)
    frame, basis = training_frame(ctx, frame, mine.id_column, spec.label_holder.party)
    recorded = {"training_basis": basis} if basis is not None else {}
    order = aligned_rows(ctx, frame, mine.id_column, mine.dataset, psi)
    rows = frame.iloc[order].reset_index(drop=True)
    aligned = {"aligned_rows": len(order), "row_unit": row_unit(mine.id_column)}
    models = confined(ctx.workdir, "models", f"{ctx.job_id}.json") if ctx.workdir else None
    if ctx.party == spec.label_holder.party:
        guest = run_guest(ctx.channel, ctx.hooks, spec, rows, ctx.pool)
        if models is not None:
            save_guest_model(models, guest.ensemble, guest.part, ctx.job_id)
        extra = {"bank_only": bank_alone(spec, rows), **recorded}
        return {**aligned, **guest.summary(), **extra}
    host = run_host(ctx.channel, ctx.hooks, spec, rows, ctx.pool)
    if models is not None:
        save_part(models, host.part, ctx.job_id)
    return {**aligned, **host.summary(), **recorded}


def run_secureboost_coordinator(
    channel: PartyChannel, hooks: JobHooks, job: JobFile
) -> dict[str, Any]:
    """The coordinator's part: count the alignment. It holds no key and sees no model."""
    _, psi = _specs(job.raw, job.parties, _no_check)
    return {"alignment": run_psi_coordinator(channel, hooks, psi)}
