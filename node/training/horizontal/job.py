"""Horizontal training as a job type: validate the job file, run a bank's or the coordinator's part.

Each bank names the dataset holding its loans, the label column and optionally the feature
columns (default: every column but the id and the label, in the dataset's order; all banks
must end with the same columns)::

    type: horizontal
    parties:
      bank_a: {dataset: sme_loans, label: default_12m}
      bank_b: {dataset: loans_2024, label: default_12m, test_dataset: loans_2025q1}
    horizontal: {model: {kind: lr}, rounds: 10, quorum: 2}

The fields a bank uses pass its policy engine for the purpose ``"training"`` first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from node.jobs.context import PartyContext
from node.jobs.hooks import JobHooks
from node.jobs.spec import JobFile
from node.training.horizontal.aggregator import run_aggregator
from node.training.horizontal.bank import run_bank
from node.training.horizontal.data import split_bank_data
from node.training.horizontal.exceptions import JobSpecError
from node.training.horizontal.local import TorchTrainer
from node.training.horizontal.spec import parse_horizontal_spec
from node.transport.channel import PartyChannel

PURPOSE = "training"


def validate_horizontal_job(job: JobFile) -> None:
    """Refuse a malformed horizontal job file at submission.

    Raises
    ------
    JobSpecError
        The ``horizontal`` section is malformed or a party does not name dataset and label.
    """
    parse_horizontal_spec(job.raw.get("horizontal"), job.parties)
    for party in job.parties:
        _party_settings(job.raw, party)


def run_horizontal_party(ctx: PartyContext) -> dict[str, Any]:
    """Run this node's bank role on its dataset; return the JSON-able summary.

    Raises
    ------
    JobSpecError
        The job file is malformed or names a column the dataset lacks.
    KeyError
        The dataset is unknown to this node.
    Exception
        Whatever the node's policy engine raises when the fields may not be used.
    """
    spec = parse_horizontal_spec(ctx.spec.get("horizontal"), ctx.parties)
    settings = _party_settings(ctx.spec, ctx.party)
    frame = ctx.datasets.frame(settings["dataset"])
    id_column = ctx.datasets.id_column(settings["dataset"])
    label = settings["label"]
    features = settings.get("features") or [c for c in frame.columns if c not in (id_column, label)]
    missing = [c for c in [label, *features] if c not in frame.columns]
    if missing:
        raise JobSpecError(f"parties.{ctx.party}", f"dataset lacks columns {missing}")
    ctx.gate.check(settings["dataset"], [label, *features], PURPOSE)
    x = frame[features].to_numpy(dtype=np.float32)
    y = frame[label].to_numpy().astype(np.float32)
    test = None
    if settings.get("test_dataset"):
        test_frame = ctx.datasets.frame(settings["test_dataset"])
        ctx.gate.check(settings["test_dataset"], [label, *features], PURPOSE)
        test = (
            test_frame[features].to_numpy(dtype=np.float32),
            test_frame[label].to_numpy().astype(np.float32),
        )
    data = split_bank_data(x, y, float(settings.get("validation_fraction", 0.2)), spec.seed, test)
    trainer = TorchTrainer(spec, data, seed=spec.seed + spec.banks.index(ctx.party))
    return run_bank(ctx.channel, ctx.hooks, spec, trainer, ctx.pool).summary()


def run_horizontal_coordinator(
    channel: PartyChannel, hooks: JobHooks, job: JobFile
) -> dict[str, Any]:
    """The coordinator's part: aggregate ciphertexts (see ``run_aggregator``)."""
    spec = parse_horizontal_spec(job.raw.get("horizontal"), job.parties)
    return run_aggregator(channel, hooks, spec).summary()


def _party_settings(raw: Mapping[str, Any], party: str) -> Mapping[str, Any]:
    settings = (raw.get("parties") or {}).get(party)
    if not isinstance(settings, Mapping) or not isinstance(settings.get("dataset"), str):
        raise JobSpecError(f"parties.{party}", "must name its 'dataset'")
    if not isinstance(settings.get("label"), str):
        raise JobSpecError(f"parties.{party}", "must name its 'label' column")
    features = settings.get("features")
    if features is not None and (
        not isinstance(features, list) or not all(isinstance(f, str) for f in features)
    ):
        raise JobSpecError(f"parties.{party}", "'features' must be a list of column names")
    return settings
