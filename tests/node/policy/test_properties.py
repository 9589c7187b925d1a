"""The property that matters: under any policy that validates, no C3 value leaves unmasked.

Random policies are drawn over the government table: random classes for the identifying
fields, random rules over fields and classes with every transformation family and random
parameters, for random recipients and purposes. Those the loader accepts are applied for every
role and purpose; no C3 value may appear in any cell of any output.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pandas as pd
import pytest

from node.policy import PolicyEngine, PolicyFileError, TransformError
from node.policy.model import FieldClass, Purpose, Role

from .conftest import write_policy

IDENTIFYING = ["uscc", "firm_name", "legal_rep_name", "legal_rep_id_number", "legal_rep_phone"]
NUMERIC = ["tax_paid_12m", "ss_headcount", "court_amount_24m"]
OTHER = {"address_code": "C2", "registration_date": "C2", "industry_code": "public"}
KINDS = {"registration_date": "date", **{f: "numeric" for f in NUMERIC}}
ROLES = ["government", "bank", "third_party"]
PURPOSES = ["training", "scoring", "release"]


def _transform(rng: random.Random) -> str:
    if rng.random() < 0.5:  # half the draws from the C3-safe families, so many policies validate
        return rng.choice(
            [
                "drop",
                "hash",
                "token",
                f"{{type: token, length: {rng.randint(16, 64)}}}",
                f"{{type: mask, keep_first: {rng.randint(0, 32)}, "
                f"keep_last: {rng.randint(0, 32)}}}",
                f"{{type: mask, keep_first: {rng.randint(0, 3)}}}",
                "{type: mask, style: "
                + rng.choice(["resident_id", "mobile", "bank_card", "person_name", "uscc"])
                + "}",
            ]
        )
    choices = [
        "keep",
        "drop",
        "hash",
        "token",
        f"{{type: hash, length: {rng.randint(16, 64)}}}",
        f"{{type: mask, keep_first: {rng.randint(0, 32)}, keep_last: {rng.randint(0, 32)}}}",
        "{type: mask, style: "
        + rng.choice(["resident_id", "mobile", "bank_card", "person_name", "uscc"])
        + "}",
        f"{{type: bucket, width: {rng.choice([1, 10, 1000])}}}",
        "{type: clip, upper: 100}",
        f"{{type: noise, scale: {rng.choice([0.001, 1, 100])}}}",
        "{type: region_prefix, level: city}",
        "{type: date_truncate, unit: year}",
        f"{{type: date_shift, max_days: {rng.randint(1, 40)}}}",
        "{type: age_band, as_of: '2025-01-01'}",
    ]
    return rng.choice(choices)


def _random_policy(rng: random.Random) -> tuple[str, dict[str, str]]:
    classes = {f: rng.choice(["C3", "C3", "C2", "C1"]) for f in IDENTIFYING}
    classes |= {f: "C2" for f in NUMERIC} | OTHER
    lines = [
        "fedcredit_policy: 1",
        "roles: {government: [training, scoring, release], bank: [training, scoring, release], "
        "third_party: [training, scoring, release]}",
        "organizations: {org-g: government, org-b: bank, org-t: third_party}",
        "datasets:",
        "  government:",
        "    id_field: uscc",
        "    fields:",
        *(f"      {f}: {{class: {c}, kind: {KINDS.get(f, 'string')}}}" for f, c in classes.items()),
        "    rules:",
    ]
    for _ in range(rng.randint(1, 8)):
        if rng.random() < 0.5:
            target = "fields: [" + ", ".join(rng.sample(list(classes), rng.randint(1, 3))) + "]"
        else:
            target = "classes: [" + ", ".join(rng.sample(["C3", "C2", "C1", "public"], 1)) + "]"
        who = (
            "{roles: [" + rng.choice(ROLES) + "]}"
            if rng.random() < 0.7
            else "{organizations: [" + rng.choice(["org-g", "org-b", "org-t"]) + "]}"
        )
        lines += [
            f"      - {target}",
            f"        to: {who}",
            f"        purposes: [{rng.choice(PURPOSES)}]",
            f"        transform: {_transform(rng)}",
        ]
    return "\n".join(lines) + "\n", classes


@pytest.mark.slow
def test_no_c3_value_leaves_unmasked_under_any_valid_policy(tmp_path: Path, gov_frame) -> None:
    # prepare
    rng = random.Random(20240607)
    frame = gov_frame.head(150)
    key = os.urandom(32)
    orgs = {"government": "org-g", "bank": "org-b", "third_party": "org-t"}
    valid = with_c3_rules = 0
    # execute
    for i in range(250):
        text, classes = _random_policy(rng)
        path = write_policy(tmp_path, text, name=f"p{i}.yaml")
        try:
            engine = PolicyEngine.load(path, key)
        except PolicyFileError:
            continue
        valid += 1
        c3 = [f for f, c in classes.items() if c == "C3"]
        raw = {str(v) for f in c3 for v in frame[f].dropna() if str(v)}
        for role in ROLES:
            for purpose in PURPOSES:
                try:
                    outcome, out = engine.preview(role, purpose, "government", frame, orgs[role])
                except TransformError:
                    continue  # a class rule meeting a column of the wrong kind: refused
                leaving = [f for f in c3 if f in out.columns]
                with_c3_rules += bool(leaving)
                # assert: no raw C3 value in any cell of the output, whatever the column
                for column in out.columns:
                    cells = {str(v) for v in out[column].dropna()}
                    assert not cells & raw, (path.name, role, purpose, column, outcome[column])
    # the draw really exercised the property
    assert valid >= 60 and with_c3_rules >= 60, (valid, with_c3_rules)
    print(f"valid policies {valid}, outputs carrying a C3 column {with_c3_rules}")


@pytest.mark.parametrize(
    "transform",
    [
        "keep",
        "{type: bucket, width: 1}",
        "{type: noise, scale: 1}",
        "{type: clip, upper: 1}",
        "{type: date_shift, max_days: 1}",
        "{type: date_truncate}",
        "{type: region_prefix}",
        "{type: age_band}",
    ],
)
def test_every_weak_transformation_is_refused_for_c3(tmp_path: Path, transform: str) -> None:
    # prepare
    text = (
        "fedcredit_policy: 1\nroles: {bank: [release]}\ndatasets:\n  d:\n    id_field: x\n"
        "    fields: {x: C3}\n    rules:\n      - fields: [x]\n        to: {roles: [bank]}\n"
        f"        purposes: [release]\n        transform: {transform}\n"
    )
    # execute / assert
    with pytest.raises(PolicyFileError, match="C3 field may not leave"):
        PolicyEngine.load(write_policy(tmp_path, text), os.urandom(32))


def test_enums_cover_the_issue() -> None:
    assert {c.value for c in FieldClass} == {"C3", "C2", "C1", "public"}
    assert {r.value for r in Role} == {
        "government", "bank", "third_party", "coordinator", "auditor", "operator",
    }  # fmt: skip
    assert {"training", "scoring", "release"} <= {p.value for p in Purpose}


def test_default_policies_never_release_c3_raw(engine, federation) -> None:
    # every shipped dataset, every role, every purpose: C3 columns never carry raw values
    for name, table in federation.tables().items():
        ds = engine.policy.datasets[name]
        c3 = [f for f, d in ds.fields.items() if d.field_class is FieldClass.C3]
        raw = {str(v) for f in c3 for v in table[f].dropna()}
        for role in Role:
            for purpose in ("training", "scoring", "release"):
                _, out = engine.preview(role.value, purpose, name, table.head(200), "bank-a")
                for column in out.columns:
                    assert not {str(v) for v in out[column].dropna()} & raw, (name, role, column)


def test_frame_fixture_has_real_identifiers(gov_frame: pd.DataFrame) -> None:
    # guards the tests above against passing on an empty or null frame
    assert gov_frame["legal_rep_id_number"].str.len().eq(18).all()
    assert gov_frame["uscc"].notna().all() and len(gov_frame) > 100
