"""The ``secureboost`` section: defaults, refusals with the key and the fix, policy checks."""

from __future__ import annotations

from typing import Any

import pytest

from node.jobs.exceptions import JobSpecError
from node.jobs.spec import parse_job_file
from node.jobtypes.registry import job_type
from node.training.secureboost import spec_from_job
from node.training.secureboost.job import secureboost_field_uses, validate_secureboost_job
from node.training.vertical.exceptions import JobRefused

from .conftest import allow_all, section


def test_defaults_are_those_documented() -> None:
    raw = section()
    del raw["model"], raw["encryption"], raw["split"]
    raw["encryption"] = {"key_bits": 2048}
    spec = spec_from_job(raw, allow_all)
    model = spec.model
    assert (model.trees, model.max_depth, model.learning_rate, model.bins) == (100, 5, 0.1, 32)
    assert (model.l2, model.min_child_weight, model.subsample, model.colsample) == (
        1.0,
        1.0,
        0.8,
        0.8,
    )
    assert model.early_stopping is not None and model.early_stopping.patience == 10
    assert spec.split.test_fraction == 0.2 and spec.encryption.gh_frac_bits == 20
    assert spec.parties == ("bank", "gov")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"model": {"max_depth": 11}}, "secureboost.model.max_depth"),
        ({"model": {"trees": 3, "bank_only_trees": 3}}, "secureboost.model.bank_only_trees"),
        ({"model": {"subsample": 0}}, "secureboost.model.subsample"),
        ({"model": {"depth": 3}}, "secureboost.model.depth"),
        ({"model": {"trees": "ten"}}, "secureboost.model.trees"),
        ({"encryption": {"key_bits": 1024}}, "secureboost.encryption.key_bits"),
        ({"split": {"test_fraction": 0.4, "validation_fraction": 0.3}}, "secureboost.split"),
        ({"timeout_s": 0}, "secureboost.timeout_s"),
        ({"encryption": {"plaintext": "yes"}}, "secureboost.encryption.plaintext"),
        ({"feature_holders": []}, "secureboost.feature_holders"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(change: dict[str, Any], key: str) -> None:
    raw = {**section(), **change}
    with pytest.raises(JobSpecError) as err:
        spec_from_job(raw, allow_all)
    assert err.value.key == key
    assert str(err.value).startswith(f"job file {key}: ")


def test_a_party_listed_twice_or_the_coordinator_as_holder_is_refused() -> None:
    raw = section()
    raw["feature_holders"] = [dict(raw["feature_holders"][0], party="bank")]
    with pytest.raises(JobSpecError, match="listed twice"):
        spec_from_job(raw, allow_all)
    raw["feature_holders"] = [dict(raw["feature_holders"][0], party="coordinator")]
    with pytest.raises(JobSpecError, match="coordinator holds no data"):
        spec_from_job(raw, allow_all)


def test_policy_refusal_refuses_the_job_naming_party_and_dataset() -> None:
    def refuse_gov(party: str, dataset: str, columns: list[str], purpose: str = "") -> None:
        if party == "gov":
            raise PermissionError("no training rule for x3")

    with pytest.raises(JobRefused) as err:
        spec_from_job(section(), refuse_gov)
    assert (err.value.party, err.value.dataset) == ("gov", "host")


def test_job_file_validates_at_submission_and_lists_field_uses() -> None:
    text = "type: secureboost\nparties: {bank: {}, gov: {}}\n"
    job = parse_job_file(text.encode())
    raw = {**job.raw, "secureboost": section()}
    job = type(job)(job.job_type, job.parties, raw)
    validate_secureboost_job(job)
    uses = secureboost_field_uses(job)
    assert uses[0][0] == "bank" and "y" in uses[0][2]
    assert job_type("secureboost").tolerates_party_loss
    wrong = type(job)(job.job_type, ("bank", "other"), raw)
    with pytest.raises(JobSpecError, match="lists"):
        validate_secureboost_job(wrong)
