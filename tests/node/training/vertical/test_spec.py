"""Tests for parsing the ``vertical`` job-file section and the policy check."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from node.jobs.exceptions import JobSpecError
from node.policy.exceptions import UnknownOrganization
from node.training.vertical import JobRefused, spec_from_job

from .conftest import allow_all, section


class NoTrainingRule(Exception):
    """Stands in for the policy engine's refusal."""


def test_parses_section_with_defaults() -> None:
    # execute
    spec = spec_from_job(section(three_party=True), allow_all)
    # assert
    assert spec.parties == ("bank", "gov", "third")
    assert spec.label_holder.label == "y"
    assert spec.model.batch_size == 100 and spec.model.early_stopping is not None
    assert spec.encryption.key_bits == 768 and spec.encryption.plaintext
    assert spec.scorecard is None and spec.woe_bins is None
    assert spec.preprocess == "robust" and spec.calibration == "platt"
    assert spec.test_fraction == 0.2 and spec.model.optimizer == "adam"
    assert spec.model.linearization == "moment_matched" and spec.model.tolerance == 0.01


def test_column_without_training_rule_refuses_the_job() -> None:
    # prepare: the government node has no training rule for x3
    asked: list[tuple[str, str, list[str], str]] = []

    def authorize(party: str, dataset: str, columns: list[str], purpose: str = "") -> None:
        asked.append((party, dataset, list(columns), purpose))
        if party == "gov" and "x3" in columns:
            raise NoTrainingRule("field 'x3' has no rule for purpose 'training'")

    # execute
    with pytest.raises(JobRefused) as info:
        spec_from_job(section(), authorize)
    # assert
    assert info.value.party == "gov" and info.value.dataset == "host"
    assert "x3" in info.value.reason
    assert ("bank", "guest", [f"x{i}" for i in range(13)] + ["y"], "training") in asked


def test_unregistered_organization_is_not_told_to_add_a_training_rule() -> None:
    # prepare: the government's policy does not register the bank's organization at all
    def authorize(party: str, dataset: str, columns: list[str], purpose: str = "") -> None:
        if party == "gov":
            raise UnknownOrganization(
                "organization 'bank-z' is not registered in this node's policy; the node "
                "operator must add 'bank-z: bank' under organizations: in it",
                "0" * 64,
            )

    # execute
    with pytest.raises(JobRefused) as info:
        spec_from_job(section(), authorize)
    # assert: the refusal names the real fix, and not a rule that would change nothing
    assert "add 'bank-z: bank' under organizations:" in str(info.value)
    assert "training' rule" not in str(info.value)


def _broken(path: list[str], value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(section())
    target: Any = raw
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        (["label_holder", "label"], KeyError, "vertical.label_holder.label"),
        (["label_holder", "features"], ["x0", "x0"], "vertical.label_holder.features"),
        (["label_holder", "features"], ["y"], "vertical.label_holder.label"),
        (["feature_holders"], [], "vertical.feature_holders"),
        (["model", "batch_size"], 100_000, "vertical.model.batch_size"),
        (["model", "batch_size"], 40, "vertical.model.batch_size"),
        (["model", "epochs"], 0, "vertical.model.epochs"),
        (["model", "learning_rate"], "fast", "vertical.model.learning_rate"),
        (["encryption", "allow_weak_key"], False, "vertical.encryption.key_bits"),
        (["encryption", "key_bits"], 256, "vertical.encryption.key_bits"),
        (["validation", "fraction"], 0.9, "vertical.validation.fraction"),
        (["validation", "test_fraction"], 0.45, "vertical.validation.test_fraction"),
        (["model", "optimizer"], "lbfgs", "vertical.model.optimizer"),
        (["model", "linearization"], "taylor", "vertical.model.linearization"),
        (["model", "tolerance"], 1.5, "vertical.model.tolerance"),
        (["preprocess"], "zscore", "vertical.preprocess"),
        (["calibration"], "isotonic", "vertical.calibration"),
        (["surprise"], 1, "vertical.surprise"),
        (
            ["scorecard"],
            {"base_points": 600, "base_odds": 50, "odds": "good_to_bad"},
            "vertical.scorecard.points_to_double_odds",
        ),
        (["encryption", "plaintext"], 1, "vertical.encryption.plaintext"),
        (["model", "early_stopping"], {"patience": 0}, "vertical.model.early_stopping.patience"),
        (["model", "batch_size"], "auto-ish", "vertical.model.batch_size"),
        (["label_holder", "party"], "coordinator", "vertical.label_holder.party"),
        (["timeout_s"], float("nan"), "vertical.timeout_s"),
    ],
)
def test_malformed_sections_are_refused(path: list[str], value: Any, key: str) -> None:
    # execute
    with pytest.raises(JobSpecError) as info:
        spec_from_job(_broken(path, value), allow_all)
    # assert: the message names the key's full path in the file, and a fix
    assert info.value.key == key
    assert str(info.value).startswith(f"job file {key}: ") and info.value.fix


def test_weak_key_with_flag_warns(caplog: pytest.LogCaptureFixture) -> None:
    # prepare
    caplog.set_level(logging.WARNING, logger="fedcredit.training.vertical")
    # execute
    spec_from_job(section(plaintext=False), allow_all)
    # assert
    assert any("768-bit" in r.getMessage() for r in caplog.records)


def test_scorecard_needs_every_scaling_key_and_parses() -> None:
    # prepare
    raw = section()
    raw["scorecard"] = {
        "base_points": 600,
        "base_odds": 50,
        "points_to_double_odds": 20,
        "odds": "good_to_bad",
    }
    # execute
    spec = spec_from_job(raw, allow_all)
    # assert
    assert spec.scorecard is not None and spec.scorecard.base_points == 600


def test_a_mistyped_key_is_named_with_the_one_it_resembles() -> None:
    # prepare
    raw = section()
    raw["model"]["early_stopping"] = {"patiense": 3}
    # execute
    with pytest.raises(JobSpecError) as info:
        spec_from_job(raw, allow_all)
    # assert
    assert str(info.value) == (
        "job file vertical.model.early_stopping.patiense: unknown key; did you mean "
        "'patience'? (allowed: min_delta, patience)"
    )


def test_early_stopping_can_be_switched_off_or_left_at_its_defaults() -> None:
    # prepare
    off, on = section(), section()
    off["model"]["early_stopping"] = False
    on["model"]["early_stopping"] = True
    # execute / assert
    assert spec_from_job(off, allow_all).model.early_stopping is None
    stopping = spec_from_job(on, allow_all).model.early_stopping
    assert stopping is not None and stopping.patience == 5
