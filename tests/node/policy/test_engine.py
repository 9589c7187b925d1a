"""Tests of node.policy.engine: deny by default, escalation attempts refused and recorded,
rule precedence, versions in every decision, atomic reload."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from node.policy import (
    DecisionLog,
    PolicyDenied,
    PolicyEngine,
    PolicyFileError,
    PurposeNotPermitted,
    RoleMismatch,
    RuleMissing,
    UnknownDataset,
    UnknownField,
    UnknownOrganization,
)

from .conftest import AUDITOR, BANK, COORDINATOR, GOV, MINIMAL, THIRD, Caller, write_policy

FEATURES = ["tax_paid_12m", "ss_headcount", "court_amount_24m"]


def test_training_features_reach_a_participant_unchanged(engine, gov_frame) -> None:
    # execute
    masked = engine.apply(BANK, "training", "government", gov_frame, fields=FEATURES)
    # assert
    pd.testing.assert_frame_equal(masked.frame, gov_frame[FEATURES])
    assert masked.version == engine.version
    assert [d.transform for d in masked.decisions] == ["keep"] * 3


def test_bank_asking_for_a_government_field_without_rule_is_refused(engine, decisions) -> None:
    # execute: the legal representative's id number has no scoring rule for a bank
    with pytest.raises(RuleMissing) as info:
        engine.authorize(BANK, "scoring", "government", ["tax_paid_12m", "legal_rep_id_number"])
    # assert: the refusal names the missing rule and the version, and is recorded
    error = info.value
    assert [m.field for m in error.missing] == ["legal_rep_id_number"]
    assert error.missing[0].purpose == "scoring" and error.missing[0].role == "bank"
    assert "legal_rep_id_number" in str(error) and error.version == engine.version
    last = decisions.snapshot()[-1]
    assert not last.allowed and last.code == "missing_rule" and last.version == engine.version


def test_one_role_asking_for_another_roles_purpose_is_refused(engine, decisions) -> None:
    # a third party may train and score, but releases are for banks
    with pytest.raises(PurposeNotPermitted, match="may not act for purpose 'release'"):
        engine.authorize(THIRD, "release", "government", ["industry_code"])
    # an auditor reads logs but never receives data
    with pytest.raises(PurposeNotPermitted):
        engine.authorize(AUDITOR, "training", "government", ["tax_paid_12m"])
    assert [d.code for d in decisions.snapshot()] == ["purpose_not_permitted"] * 2


def test_a_certificate_claiming_another_role_is_refused(engine) -> None:
    # bank-b is registered as a bank; a certificate of bank-b saying "government" is refused
    with pytest.raises(RoleMismatch):
        engine.authorize(Caller("bank-b", "n", "government"), "training", "government", FEATURES)


def test_release_by_an_unknown_organization_is_refused(engine, decisions) -> None:
    with pytest.raises(UnknownOrganization):
        engine.authorize(Caller("shadow-bank", "n", "bank"), "release", "government", ["uscc"])
    assert decisions.snapshot()[-1].organization == "shadow-bank"


def test_the_coordinator_receives_nothing(engine) -> None:
    with pytest.raises(PurposeNotPermitted):
        engine.authorize(COORDINATOR, "training", "government", FEATURES)


def test_unknown_dataset_field_and_non_data_purpose_are_refused(engine) -> None:
    with pytest.raises(UnknownDataset):
        engine.authorize(BANK, "training", "payroll", ["x"])
    with pytest.raises(UnknownField, match="'salary'"):
        engine.authorize(BANK, "training", "government", ["tax_paid_12m", "salary"])
    with pytest.raises(PurposeNotPermitted, match="does not move data"):
        engine.authorize(Caller("bank-a", "n", "operator"), "operate", "government", FEATURES)


def test_check_purpose_for_admin_rpcs(engine, decisions) -> None:
    # execute
    decision = engine.check_purpose(AUDITOR, "audit")
    # assert
    assert decision.allowed and decision.version == engine.version
    with pytest.raises(PurposeNotPermitted):
        engine.check_purpose(BANK, "operate")
    assert engine.check_purpose(Caller("gov-dc", "n", "operator"), "operate").allowed
    assert [d.allowed for d in decisions.snapshot()] == [True, False, True]


def test_denial_is_a_policy_denied_carrying_the_code(engine) -> None:
    with pytest.raises(PolicyDenied) as info:
        engine.authorize(GOV, "release", "government", ["uscc"])
    assert info.value.code == "purpose_not_permitted"


def test_explicit_drop_is_allowed_and_leaves_the_column_out(tmp_path: Path) -> None:
    # prepare
    text = MINIMAL.replace(
        "      - classes: [public]\n",
        "      - fields: [phone]\n        to: {roles: [bank]}\n        purposes: [release]\n"
        "        transform: drop\n      - classes: [public]\n",
    )
    engine = PolicyEngine.load(write_policy(tmp_path, text), os.urandom(32))
    frame = pd.DataFrame({"phone": ["13812345678"], "sector": ["C13"]})
    # execute
    masked = engine.apply(Caller("bank-a", "n", "bank"), "release", "firms", frame)
    # assert
    assert list(masked.frame.columns) == ["sector"]
    assert masked.decision.released == ("sector",)


def test_field_rules_beat_class_rules_and_organization_rules_beat_role_rules(
    tmp_path: Path,
) -> None:
    # prepare
    engine = PolicyEngine.load(write_policy(tmp_path, MINIMAL), os.urandom(32))
    frame = pd.DataFrame({"revenue": [1234.0, 56789.0]})
    # execute
    a = engine.apply(Caller("bank-a", "n", "bank"), "training", "firms", frame)
    b = engine.apply(Caller("bank-b", "n", "bank"), "training", "firms", frame)
    released = engine.apply(Caller("bank-a", "n", "bank"), "release", "firms", frame)
    # assert: bank-a gets the role rule (keep), bank-b its organization rule (bucket),
    # and for release the class rule (clip) applies
    assert a.frame["revenue"].tolist() == [1234.0, 56789.0]
    assert b.frame["revenue"].tolist() == [1000.0, 56000.0]
    assert released.frame["revenue"].tolist() == [500.0, 500.0]


def test_node_key_must_be_long_enough() -> None:
    with pytest.raises(ValueError, match="32"):
        PolicyEngine.load(Path(__file__).parents[3] / "policies", b"short")


def test_reload_is_atomic_for_an_in_flight_request(tmp_path: Path) -> None:
    # prepare: bank-a may train on revenue as it is; the new policy drops it
    path = write_policy(tmp_path, MINIMAL)
    stricter = MINIMAL.replace(
        "        purposes: [training]\n        transform: keep",
        "        purposes: [training]\n        transform: drop",
    )
    holder: dict[str, PolicyEngine] = {}
    reloads: list[tuple[str, str]] = []

    def reload_mid_request() -> np.random.Generator:
        # called by apply after the decision, before the columns are transformed
        path.write_text(stricter, encoding="utf-8")
        reloads.append(holder["engine"].reload())
        return np.random.default_rng()

    engine = PolicyEngine.load(path, os.urandom(32), rng_factory=reload_mid_request)
    holder["engine"] = engine
    old_version = engine.version
    frame = pd.DataFrame({"revenue": [1.0, 2.0]})
    # execute
    masked = engine.apply(Caller("bank-a", "n", "bank"), "training", "firms", frame)
    # assert: the request finished entirely on the old policy, the engine now runs the new one
    assert masked.version == old_version
    assert masked.frame["revenue"].tolist() == [1.0, 2.0]
    assert reloads == [(old_version, engine.version)] and engine.version != old_version
    assert holder["engine"].policy.datasets["firms"].rules[1].transform.name == "drop"


def test_failed_reload_keeps_the_running_policy(tmp_path: Path) -> None:
    # prepare
    folder = tmp_path / "p"
    shutil.copytree(Path(__file__).parents[3] / "policies", folder)
    engine = PolicyEngine.load(folder, os.urandom(32))
    before = engine.version
    (folder / "bank.yaml").write_text("fedcredit_policy: 1\nroles: [oops\n", encoding="utf-8")
    # execute / assert
    with pytest.raises(PolicyFileError):
        engine.reload()
    assert engine.version == before


def test_reload_without_a_source_is_refused(engine) -> None:
    bare = PolicyEngine(engine.policy, os.urandom(32))
    with pytest.raises(RuntimeError):
        bare.reload()


def test_decisions_are_plain_records(engine, decisions) -> None:
    # execute
    engine.authorize(BANK, "training", "government", FEATURES)
    # assert
    record = decisions.snapshot()[-1].to_dict()
    assert record["policy_version"] == engine.version
    assert record["organization"] == "bank-a" and record["purpose"] == "training"
    assert [f["field"] for f in record["fields"]] == FEATURES
    assert all(f["rule"].startswith("government.yaml:") for f in record["fields"])


def test_field_purposes_for_capabilities(engine) -> None:
    caps = engine.field_purposes("government")
    assert caps["tax_paid_12m"] == ("C2", ("release", "scoring", "training"))
    assert caps["legal_rep_id_number"] == ("C3", ("release",))


def test_decision_log_is_bounded() -> None:
    log = DecisionLog(maxlen=2)
    for i in range(3):
        log(i)  # type: ignore[arg-type]
    assert log.snapshot() == [1, 2]
