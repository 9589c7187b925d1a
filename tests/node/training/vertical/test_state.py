"""Tests for the optimizer, the stopping rule and the checkpoint formats of each role."""

from __future__ import annotations

import numpy as np
import pytest

from node.training.vertical import DataMismatch
from node.training.vertical.linearization import Linearization
from node.training.vertical.optimizer import Optimizer, OptimizerState, relative_change
from node.training.vertical.spec import EarlyStopping, ModelSpec
from node.training.vertical.state import ArbiterState, PartyState
from node.training.vertical.stopping import StopState, decide


def test_sgd_step_skips_l2_on_intercept() -> None:
    # prepare
    state = OptimizerState.start(np.array([1.0, 1.0]))
    # execute
    Optimizer("sgd", 0.5, 0.1, intercept=True).step(state, np.array([0.5, 0.0]), epoch=1)
    # assert
    assert state.weights.tolist() == [1.0 - 0.5 * (0.5 + 0.1), 1.0]


def test_adam_steps_are_scale_free_and_averaged_over_the_epoch() -> None:
    # prepare: the same direction at gradient scales a million apart
    small, large = (OptimizerState.start(np.zeros(2)) for _ in range(2))
    adam = Optimizer("adam", 0.05, 0.0, intercept=False)
    # execute
    for state, scale in ((small, 1e-3), (large, 1e3)):
        state.begin_epoch()
        for _ in range(3):
            adam.step(state, scale * np.array([1.0, -2.0]), epoch=4)
    # assert: same steps (lr / sqrt(epoch) per coordinate), and the epoch reports the mean
    np.testing.assert_allclose(small.weights, large.weights, rtol=1e-4)
    np.testing.assert_allclose(small.weights, [-0.075, 0.075], rtol=1e-4)
    np.testing.assert_allclose(adam.epoch_weights(small), [-0.05, 0.05], rtol=1e-4)
    assert relative_change([0.1, 0.3], [2.0, 1.0]) == pytest.approx(0.15)


def test_stopping_rule_keeps_the_latest_epoch_within_noise_and_ends_on_time() -> None:
    # prepare
    model = ModelSpec(epochs=6, tolerance=0.01, early_stopping=EarlyStopping(2, 0.0))
    se = 0.02
    # execute / assert: epoch 2 is within one standard error of the best, so it is kept;
    # epochs 3 and 4 fall clearly below and end the run (patience 2)
    state = StopState()
    aucs = (0.7, 0.69, 0.6, 0.6)
    assert [decide(model, state, e, auc, se, 0.5) for e, auc in enumerate(aucs, 1)] == [
        False,
        False,
        False,
        True,
    ]
    assert state.stopped == "early_stopping" and state.best_epoch == 2
    assert state.best_auc == 0.7
    converged = StopState()
    assert not decide(model, converged, 1, 0.7, se, 0.0)  # epoch 1 is never judged converged
    assert decide(model, converged, 2, 0.71, se, 0.001) and converged.stopped == "converged"
    budget = StopState()
    assert [decide(model, budget, e, 0.5 + e / 10, se, 1.0) for e in range(1, 7)][-1]
    assert budget.stopped == "max_epochs" and budget.best_epoch == 6
    strict = StopState()  # a minimum improvement larger than the noise counts every epoch
    assert not decide(ModelSpec(early_stopping=EarlyStopping(1, 0.5)), strict, 1, 0.7, se, 1.0)
    assert decide(ModelSpec(early_stopping=EarlyStopping(1, 0.5)), strict, 2, 0.8, se, 1.0)


def test_party_checkpoint_round_trip_and_refusals() -> None:
    # prepare
    state = PartyState.start(np.array([0.25, -1.5]))
    state.epoch, state.best_epoch = 3, 2
    state.history.append({"epoch": 1.0, "auc": 0.7})
    state.linearization = Linearization.fit(np.linspace(-3, 1, 40), np.linspace(-1, 1, 40))
    blob = state.to_bytes()
    # execute
    back = PartyState.from_bytes("bank", blob, 2)
    # assert
    assert back.epoch == 3 and back.best_epoch == 2 and back.history == state.history
    assert back.optimizer.weights.tolist() == [0.25, -1.5]
    np.testing.assert_array_equal(back.linearization.means, state.linearization.means)
    for bad, width in ((b"\x09" + blob[1:], 2), (blob[:-3], 2), (blob, 3)):
        with pytest.raises(DataMismatch):
            PartyState.from_bytes("bank", bad, width)


def test_arbiter_checkpoint_round_trip() -> None:
    # prepare
    state = ArbiterState(best_auc=0.71, best_epoch=4, wait=1, stopped="converged", epoch=6)
    # execute
    back = ArbiterState.from_bytes(state.to_bytes())
    # assert
    assert back == state
    with pytest.raises(DataMismatch):
        ArbiterState.from_bytes(b"\x02{}")
