"""Tests for the horizontal job-file section."""

from __future__ import annotations

import pytest

from node.jobs.exceptions import JobSpecError
from node.training.horizontal.spec import parse_horizontal_spec

BANKS = ("a", "b", "c")


def test_defaults_are_safe_and_complete() -> None:
    # execute
    spec = parse_horizontal_spec(None, BANKS)
    # assert
    assert spec.banks == BANKS
    assert spec.key_holder == "a"
    assert spec.key_bits == 2048
    assert spec.encrypted
    assert spec.quorum == 2
    assert spec.model.kind == "lr"
    assert spec.algorithm == "fedavg" and spec.mu == 0.0


def test_full_section_is_parsed() -> None:
    # prepare
    section = {
        "model": {"kind": "mlp", "hidden": [8, 4]},
        "algorithm": "fedprox",
        "mu": 0.1,
        "rounds": 5,
        "local_epochs": 2,
        "batch_size": 32,
        "learning_rate": 0.1,
        "quorum": 3,
        "round_timeout_s": 30,
        "key_holder": "b",
    }
    # execute
    spec = parse_horizontal_spec(section, BANKS)
    # assert
    assert spec.model.hidden == (8, 4)
    assert (spec.algorithm, spec.mu, spec.rounds, spec.local_epochs) == ("fedprox", 0.1, 5, 2)
    assert (spec.batch_size, spec.learning_rate, spec.quorum) == (32, 0.1, 3)
    assert spec.round_timeout_s == 30.0 and spec.key_holder == "b"


def test_fedprox_gets_a_default_mu() -> None:
    assert parse_horizontal_spec({"algorithm": "fedprox"}, BANKS).mu == 0.01


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"roundz": 3}, "roundz"),
        ({"algorithm": "sgd"}, "algorithm"),
        ({"mu": 0.1}, "mu"),
        ({"algorithm": "fedprox", "mu": -1}, "mu"),
        ({"rounds": 0}, "rounds"),
        ({"rounds": "3"}, "rounds"),
        ({"rounds": True}, "rounds"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"quorum": 1}, "quorum"),
        ({"quorum": 4}, "quorum"),
        ({"key_holder": "z"}, "key_holder"),
        ({"key_bits": 1024}, "key_bits"),
        ({"encryption": "rot13"}, "encryption"),
        ({"model": {"kind": "xgb"}}, "model.kind"),
        ({"model": {"kind": "mlp", "hidden": []}}, "model.hidden"),
        ({"model": 3}, "model"),
        ({"frac_bits": 50}, "frac_bits"),
        ({"clip": -1}, "clip"),
        ({"clip": float("nan")}, "clip"),
        ({"model": {"kind": "mlp", "hidden": [8, True]}}, "model.hidden[1]"),
        ({"flower": {"client": "no_colon"}}, "flower.client"),
        ({"flower": {"client": "a:b", "run_config": {"k": [1]}}}, "flower.run_config"),
    ],
)
def test_bad_settings_are_refused_with_the_field_named(section: dict, field: str) -> None:
    with pytest.raises(JobSpecError) as info:
        parse_horizontal_spec(section, BANKS)
    assert info.value.key == f"horizontal.{field}"
    assert str(info.value).startswith(f"job file horizontal.{field}: ") and info.value.fix


def test_needs_two_distinct_banks() -> None:
    with pytest.raises(JobSpecError, match="two distinct banks"):
        parse_horizontal_spec(None, ("a",))


def test_section_must_be_a_mapping() -> None:
    with pytest.raises(JobSpecError, match="mapping"):
        parse_horizontal_spec(["rounds"], BANKS)  # type: ignore[arg-type]


def test_small_key_only_when_allowed() -> None:
    spec = parse_horizontal_spec({"key_bits": 1024}, BANKS, allow_small_key=True)
    assert spec.key_bits == 1024


def test_booleans_are_strict_as_in_every_other_job_type() -> None:
    # a YAML `yes`/`true` is not a number and a 1 is not a boolean, whatever the section
    with pytest.raises(JobSpecError, match="must be a number"):
        parse_horizontal_spec({"learning_rate": True}, BANKS)
    with pytest.raises(JobSpecError, match="must be text"):
        parse_horizontal_spec({"key_holder": True}, BANKS)


def test_a_model_name_alone_is_short_for_its_mapping() -> None:
    assert parse_horizontal_spec({"model": "mlp"}, BANKS).model.kind == "mlp"
