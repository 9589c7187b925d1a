"""PSI as a job type: validate the job file, and run a node's or the coordinator's part.

The job file names, per party, the dataset whose id column is aligned (and optionally the id
field), and a ``psi`` section parsed by ``spec_from_job``::

    type: psi
    parties:
      bank: {dataset: applicants}
      gov: {dataset: tax_2024, id_field: uscc}
    psi:
      leader: bank
      cardinality_only: false

A node only uses a (dataset, id field) pair its node config declares for PSI
(``PsiPermits``) and its policy engine allows for the purpose ``"training"``. If a party cannot
read its input it still tells the others, so every party ends with a clear error instead of
waiting for a timeout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.jobs.context import PartyContext
from node.jobs.hooks import JobHooks
from node.jobs.spec import JobFile
from node.psi.coordinator import run_psi_coordinator
from node.psi.exceptions import PsiError, PsiPolicyError, PsiSpecError, UnknownDatasetError
from node.psi.follower import run_psi_follower
from node.psi.leader import run_psi_leader
from node.psi.policy import PsiPermits
from node.psi.protocol import TOPIC_HELLO, TOPIC_LEADER, notify_failure
from node.psi.result import PsiResult
from node.psi.source import chunks_of
from node.psi.spec import PsiSpec, spec_from_job
from node.transport.channel import PartyChannel

# Alignment is the first step of federated training, and the policy purposes are those that
# move data (training, scoring, release): the id field must be allowed for training to every
# other party. Its transform does not matter here, since only blinded points leave the node.
PURPOSE = "training"


def validate_psi_job(job: JobFile) -> None:
    """Refuse a malformed PSI job file at submission, before any party starts.

    Raises
    ------
    PsiSpecError
        The ``psi`` section is malformed, or a party does not name its dataset.
    """
    spec_from_job(job.parties, job.raw.get("psi"))
    for party in job.parties:
        _party_settings(job.raw, party)


def run_psi_party(ctx: PartyContext, permits: PsiPermits) -> PsiResult:
    """Run this node's part of a PSI job: read its id column, then lead or follow.

    Raises
    ------
    PsiSpecError
        The job file is malformed.
    UnknownDatasetError
        The job names a dataset this node does not have.
    PsiPolicyError
        The node config or policy does not allow that dataset and id field for PSI.
    PsiError
        Any error of ``run_psi_leader`` / ``run_psi_follower``.
    """
    spec = spec_from_job(ctx.parties, ctx.spec.get("psi"))
    dataset, id_field = _party_settings(ctx.spec, ctx.party)
    try:
        try:
            frame = ctx.datasets.frame(dataset)
        except KeyError:
            raise UnknownDatasetError(dataset) from None
        id_field = id_field or ctx.datasets.id_column(dataset)
        permits.check(dataset, id_field)
        try:
            ctx.gate.check(dataset, [id_field], PURPOSE)
        except Exception:
            raise PsiPolicyError(dataset, id_field) from None
        if id_field not in frame.columns:
            raise PsiSpecError(
                "job file",
                f"dataset {dataset!r} has no column {id_field!r}",
                key=f"parties.{ctx.party}.id_field",
                fix="name a column of the dataset, or declare its psi_id_field",
            )
        # Chunks of the column, validated one by one: no copy of it as a list of strings.
        ids = chunks_of(frame[id_field])
    except PsiError as exc:
        _announce(ctx.channel, spec, exc)
        raise
    role = run_psi_leader if ctx.party == spec.leader else run_psi_follower
    return role(ctx.channel, ctx.hooks, spec, ids, ctx.pool, dataset=dataset, id_field=id_field)


def run_psi_coordinator_job(channel: PartyChannel, hooks: JobHooks, job: JobFile) -> dict[str, Any]:
    """The coordinator's part: collect the counts (see ``run_psi_coordinator``)."""
    return run_psi_coordinator(channel, hooks, spec_from_job(job.parties, job.raw.get("psi")))


def _party_settings(raw: Mapping[str, Any], party: str) -> tuple[str, str]:
    settings = (raw.get("parties") or {}).get(party)
    if not isinstance(settings, Mapping) or not isinstance(settings.get("dataset"), str):
        raise PsiSpecError(
            "job file",
            "must name its 'dataset' for PSI",
            key=f"parties.{party}",
            fix="add dataset: NAME",
        )
    id_field = settings.get("id_field", "")
    if not isinstance(id_field, str):
        raise PsiSpecError(
            "job file", "must be a column name", key=f"parties.{party}.id_field", fix="e.g. uscc"
        )
    return settings["dataset"], id_field


def _announce(channel: PartyChannel, spec: PsiSpec, exc: BaseException) -> None:
    """Tell the other parties (status only) that this party cannot take part."""
    if channel.party == spec.leader:
        notify_failure(
            channel,
            list(spec.followers),
            [TOPIC_LEADER],
            leader=True,
            culprit=channel.party,
            exc=exc,
        )
    else:
        notify_failure(
            channel, [spec.leader], [TOPIC_HELLO], leader=False, culprit=channel.party, exc=exc
        )
