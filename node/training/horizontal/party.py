"""A bank's part of a horizontal job: its policy-checked columns, its trainer, its kept model.

The trainer is the built-in torch model or the job's Flower client, so this module loads
torch and flwr; the job type's registry names it apart from ``job.py`` so that only a node
running a horizontal job pays for them.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from node.jobs.context import PartyContext
from node.jobs.exceptions import JobSpecError
from node.training.horizontal.bank import BankResult, report_failure, run_bank
from node.training.horizontal.data import prepare_bank_data
from node.training.horizontal.flower_adapter import FlowerTrainer, client_context, load_reference
from node.training.horizontal.job import party_settings
from node.training.horizontal.local import TorchTrainer
from node.training.horizontal.spec import FlowerSpec, HorizontalSpec, parse_horizontal_spec
from node.training.horizontal.trainer import LocalTrainer
from node.training.preprocess import Transform

PURPOSE = "training"


def run_horizontal_party(ctx: PartyContext) -> dict[str, Any]:
    """Run this node's bank role on its dataset; return the JSON-able summary.

    Raises
    ------
    JobSpecError
        The job file is malformed or names a column the dataset lacks.
    KeyError
        The dataset is unknown to this node.
    TrainerError
        The job names a Flower client this node does not allow, or it fails.
    Exception
        Whatever the node's policy engine raises when the fields may not be used.
    """
    spec = parse_horizontal_spec(ctx.spec.get("horizontal"), ctx.parties)
    settings = party_settings(ctx.spec, ctx.party)
    frame = ctx.datasets.frame(settings["dataset"])
    id_column = ctx.datasets.id_column(settings["dataset"])
    label = settings["label"]
    features = settings.get("features") or [c for c in frame.columns if c not in (id_column, label)]
    missing = [c for c in [label, *features] if c not in frame.columns]
    if missing:
        raise JobSpecError(
            "job file",
            f"the dataset lacks columns {missing}",
            key=f"parties.{ctx.party}",
            fix="name columns the dataset has (label, features)",
        )
    ctx.gate.check(settings["dataset"], [label, *features], PURPOSE)
    test_frame = None
    if settings.get("test_dataset"):
        test_frame = ctx.datasets.frame(settings["test_dataset"])
        ctx.gate.check(settings["test_dataset"], [label, *features], PURPOSE)
    fraction = float(settings.get("validation_fraction", 0.2))
    index = spec.banks.index(ctx.party)
    trainer: LocalTrainer
    transform = None
    try:
        if spec.flower is not None:
            trainer = _flower_trainer(
                ctx, spec.flower, frame, test_frame, features, label, fraction
            )
        else:
            data, transform = prepare_bank_data(
                frame, list(features), label, fraction, spec.seed, spec.preprocess, test_frame
            )
            trainer = TorchTrainer(spec, data, seed=spec.seed + index)
    except Exception as exc:
        # the others would otherwise wait for this bank until the round deadline
        report_failure(ctx.channel, 0, f"setup raised {type(exc).__name__}")
        raise
    result = run_bank(ctx.channel, ctx.hooks, spec, trainer, ctx.pool)
    if ctx.workdir is not None and transform is not None:
        _keep_model(ctx, spec, result, transform)
    return result.summary()


def _flower_trainer(
    ctx: PartyContext,
    flower: FlowerSpec,
    frame: pd.DataFrame,
    test_frame: pd.DataFrame | None,
    features: list[str],
    label: str,
    fraction: float,
) -> FlowerTrainer:
    """The job's Flower client, given this bank's policy-checked columns as CSV files.

    Flower clients load their own data; the node hands them only the columns its policy
    allowed for training (written 0600 under the node's job folder), through the context's
    ``node_config``: ``data-path``, ``test-path`` (empty without a test set), ``label``,
    ``features`` (comma-separated) and ``validation-fraction``.
    """
    folder = (ctx.workdir or Path(tempfile.mkdtemp(prefix="fedcredit-flower-"))) / "flower"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in (("data", frame), ("test", test_frame)):
        if table is None:
            paths[name] = ""
            continue
        path = folder / f"{ctx.job_id}-{ctx.party}-{name}.csv"
        path.touch(mode=0o600)
        table[[*features, label]].to_csv(path, index=False)
        paths[name] = str(path)
    context = client_context(
        ctx.parties.index(ctx.party),
        len(ctx.parties),
        {
            "data-path": paths["data"],
            "test-path": paths["test"],
            "label": label,
            "features": ",".join(features),
            "validation-fraction": fraction,
        },
        flower.run_config,
    )
    client = load_reference(flower.client)
    initial = load_reference(flower.initial)() if flower.initial else None
    scorer = None
    if flower.scorer:
        score = load_reference(flower.scorer)
        scorer = lambda params, split: score(params, split, context)  # noqa: E731
    return FlowerTrainer(client, initial, scorer, context)


def _keep_model(
    ctx: PartyContext, spec: HorizontalSpec, result: BankResult, transform: Transform
) -> None:
    """The bank's copy of the kept global model with its own preparation and the calibration."""
    assert ctx.workdir is not None
    path = ctx.workdir / "models" / f"{ctx.job_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    part = {
        "format": "fedcredit.horizontal.model/1",
        "job_id": ctx.job_id,
        "party": ctx.party,
        "model": {"kind": spec.model.kind, "hidden": list(spec.model.hidden)},
        "kept_round": result.kept_round,
        "parameters": [np.asarray(p).tolist() for p in result.parameters],
        "transform": transform.to_dict(),
        "calibration": result.calibration.to_dict(),
    }
    path.write_text(json.dumps(part))
