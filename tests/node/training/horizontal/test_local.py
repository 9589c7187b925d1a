"""Tests for local training (FedAvg and FedProx) and the models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from node.training.horizontal import BankData, TorchTrainer
from node.training.horizontal.exceptions import TrainerError
from node.training.horizontal.models import MLP, LogisticRegression, build_model
from node.training.horizontal.params import flatten, unflatten
from node.training.horizontal.spec import ModelSpec
from node.training.metrics import auc

from .conftest import small_spec


def test_local_training_learns_on_real_data(bank_data: dict[str, BankData]) -> None:
    # prepare
    data = bank_data["guest"]
    trainer = TorchTrainer(small_spec(local_epochs=3), data)
    start = trainer.get_parameters()
    # execute
    fit = trainer.fit(start, {"server_round": 1})
    scores, labels = trainer.scores(fit.parameters, "val")
    # assert
    assert fit.num_examples == data.y_train.size
    assert auc(labels, scores) > 0.62
    assert not np.allclose(flatten(fit.parameters), flatten(start))


def test_fedprox_stays_closer_to_the_global_model(bank_data: dict[str, BankData]) -> None:
    # prepare
    data = bank_data["host_1"]
    plain = TorchTrainer(small_spec(local_epochs=3), data)
    prox = TorchTrainer(small_spec(local_epochs=3, algorithm="fedprox", mu=5.0), data)
    start = plain.get_parameters()
    # execute
    drift_plain = flatten(plain.fit(start, {"server_round": 1}).parameters) - flatten(start)
    drift_prox = flatten(prox.fit(start, {"server_round": 1}).parameters) - flatten(start)
    # assert
    assert np.linalg.norm(drift_prox) < 0.8 * np.linalg.norm(drift_plain)


def test_fit_is_repeatable_per_round(bank_data: dict[str, BankData]) -> None:
    # prepare: two trainers, as after a restart
    data = bank_data["host_2"]
    first, second = TorchTrainer(small_spec(), data), TorchTrainer(small_spec(), data)
    start = first.get_parameters()
    # execute
    a = first.fit(start, {"server_round": 4}).parameters
    b = second.fit(start, {"server_round": 4}).parameters
    # assert
    np.testing.assert_array_equal(flatten(a), flatten(b))


def test_evaluate_reports_counts_not_scores(bank_data: dict[str, BankData]) -> None:
    trainer = TorchTrainer(small_spec(), bank_data["guest"])
    counts = trainer.evaluate(trainer.get_parameters(), "val", bins=50)
    assert counts is not None and counts.n == bank_data["guest"].y_val.size
    assert counts.pos.sum() + counts.neg.sum() == counts.n
    assert trainer.evaluate(trainer.get_parameters(), "test", 50) is not None
    assert (
        TorchTrainer(small_spec(), bank_data["host_1"]).evaluate(
            trainer.get_parameters(), "test", 50
        )
        is None
    )


def test_models_have_the_expected_shapes() -> None:
    lr = build_model(ModelSpec("lr"), 23)
    mlp = build_model(ModelSpec("mlp", (8, 4)), 23)
    assert isinstance(lr, LogisticRegression) and isinstance(mlp, MLP)
    assert lr(torch.zeros(5, 23)).shape == (5,)
    assert sum(p.numel() for p in mlp.parameters()) == 23 * 8 + 8 + 8 * 4 + 4 + 4 + 1


def test_build_model_refuses_unknown_kind_and_no_features() -> None:
    with pytest.raises(ValueError, match="unknown model kind"):
        build_model(ModelSpec("xgb"), 3)
    with pytest.raises(ValueError, match="n_features"):
        build_model(ModelSpec("lr"), 0)


def test_unflatten_refuses_wrong_size() -> None:
    with pytest.raises(TrainerError, match="same architecture"):
        unflatten(np.zeros(5), [(2, 2)])
