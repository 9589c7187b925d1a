"""Horizontal training as a job type: validate the job file, run a bank's or the coordinator's part.

Each bank names the dataset holding its loans, the label column and optionally the feature
columns (default: every column but the id and the label, in the dataset's order; all banks
must end with the same columns)::

    type: horizontal
    parties:
      bank_a: {dataset: sme_loans, label: default_12m}
      bank_b: {dataset: loans_2024, label: default_12m, test_dataset: loans_2025q1}
    horizontal: {model: {kind: lr}, rounds: 10, quorum: 2}

A bank may train its own Flower client instead of the built-in model::

    horizontal:
      flower: {client: "my_bank.client_app:app", run_config: {lr: 0.01}}

The fields a bank uses pass its policy engine for the purpose ``"training"`` first.

This module is what the coordinator needs (validation at submission, the aggregator's part)
and loads neither torch nor flwr; a bank's part, which trains, is ``party.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from node.jobs.exceptions import JobSpecError
from node.jobs.hooks import JobHooks
from node.jobs.spec import JobFile
from node.training.horizontal.aggregator import run_aggregator
from node.training.horizontal.spec import parse_horizontal_spec
from node.transport.channel import PartyChannel


def validate_horizontal_job(job: JobFile) -> None:
    """Refuse a malformed horizontal job file at submission.

    Raises
    ------
    JobSpecError
        The ``horizontal`` section is malformed or a party does not name dataset and label.
    """
    parse_horizontal_spec(job.raw.get("horizontal"), job.parties)
    for party in job.parties:
        party_settings(job.raw, party)


def run_horizontal_coordinator(
    channel: PartyChannel, hooks: JobHooks, job: JobFile
) -> dict[str, Any]:
    """The coordinator's part: aggregate ciphertexts (see ``run_aggregator``)."""
    spec = parse_horizontal_spec(job.raw.get("horizontal"), job.parties)
    return run_aggregator(channel, hooks, spec).summary()


def party_settings(raw: Mapping[str, Any], party: str) -> Mapping[str, Any]:
    """A party's entry in the job file, refused unless it names dataset and label."""
    settings = (raw.get("parties") or {}).get(party)
    if not isinstance(settings, Mapping) or not isinstance(settings.get("dataset"), str):
        raise JobSpecError(
            "job file", "must name its 'dataset'", key=f"parties.{party}", fix="add dataset: NAME"
        )
    if not isinstance(settings.get("label"), str):
        raise JobSpecError(
            "job file",
            "must name its 'label' column",
            key=f"parties.{party}",
            fix="add label: COLUMN",
        )
    features = settings.get("features")
    if features is not None and (
        not isinstance(features, list) or not all(isinstance(f, str) for f in features)
    ):
        raise JobSpecError(
            "job file",
            "'features' must be a list of column names",
            key=f"parties.{party}.features",
            fix="e.g. features: [tax_paid_12m, ss_headcount]",
        )
    return settings
