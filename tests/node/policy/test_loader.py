"""Tests of node.policy.loader: shipped policies validate; every schema error names file, line
and key; C3 fields cannot be given a weak transformation; versions are content hashes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from node.policy.exceptions import PolicyFileError
from node.policy.loader import load_policy
from node.policy.model import FieldClass, Purpose, Role

from .conftest import MINIMAL, POLICIES, write_policy


@pytest.mark.parametrize("name", ["government.yaml", "bank.yaml", "third_party.yaml"])
def test_shipped_policies_validate_alone(name: str) -> None:
    # execute
    policy = load_policy(POLICIES / name)
    # assert
    assert len(policy.version) == 64 and policy.datasets


def test_shipped_policies_validate_together_and_cover_the_synthetic_columns(federation) -> None:
    # prepare
    tables = federation.tables()
    # execute
    policy = load_policy(POLICIES)
    # assert: every column of every synthetic table is classified
    for name, ds in policy.datasets.items():
        if name.endswith("_ew"):
            continue  # early-warning tables: tests/node/monitoring/test_tables.py
        assert list(tables[name].columns) == list(ds.fields), name


def test_minimal_policy_loads(tmp_path: Path) -> None:
    # execute
    policy = load_policy(write_policy(tmp_path, MINIMAL))
    # assert
    assert policy.roles[Role.BANK] == {Purpose.TRAINING, Purpose.SCORING, Purpose.RELEASE}
    assert policy.organizations["bank-a"] == {Role.BANK}
    assert policy.datasets["firms"].fields["sector"].field_class is FieldClass.PUBLIC
    rule = policy.lookup("firms", "revenue", Purpose.TRAINING, Role.BANK, "bank-a")
    assert rule is not None and rule.transform.name == "keep"
    assert rule.source.startswith("policy.yaml:")


# (old text, new text, text on the line the error must name, key fragment, problem fragment)
MUTATIONS = [
    (
        "fedcredit_policy: 1",
        "fedcredit_policy: 2",
        "fedcredit_policy",
        "fedcredit_policy",
        "format version",
    ),
    ("roles:\n", "rolez:\n", "rolez", "rolez", "unknown key"),
    (
        "  bank: [training, scoring, release]",
        "  banker: [training]",
        "banker",
        "roles.banker",
        "unknown key",
    ),
    (
        "  government: [training]",
        "  government: [training, gossip]",
        "gossip",
        "roles.government[1]",
        "must be one of training, scoring",
    ),
    (
        "  bank-b: bank",
        "  bank-b: lender",
        "lender",
        "organizations.bank-b",
        "must be one of government, bank",
    ),
    (
        "      sector: public",
        "      sector: C4",
        "sector: C4",
        "datasets.firms.fields.sector.class",
        "must be one of C3, C2, C1, public",
    ),
    (
        "      sector: public",
        "      sector: {kind: string}",
        "sector:",
        "datasets.firms.fields.sector.class",
        "is missing",
    ),
    (
        "        purposes: [training, release]\n        transform: token",
        "        purposes: [training, release]\n        transform: keep",
        "transform: keep",
        "datasets.firms.rules[0].transform",
        "C3 field may not leave under 'keep'",
    ),
    (
        "      - fields: [uscc]",
        "      - fields: [uscc, nonexistent]",
        "nonexistent",
        "datasets.firms.rules[0].fields[1]",
        "'nonexistent' is not a field of this dataset",
    ),
    (
        "        to: {organizations: [bank-b]}",
        "        to: {organizations: [bank-z]}",
        "- fields: [revenue]\n        to: {org",
        "rules[2].to.organizations",
        "not registered",
    ),
    (
        "        transform: {type: bucket, width: 1000}",
        "        transform: {type: bucket, width: -5}",
        "width: -5",
        "rules[2].transform.width",
        "must be > 0",
    ),
    (
        "        transform: {type: bucket, width: 1000}",
        "        transform: {type: shred}",
        "shred",
        "rules[2].transform.type",
        "'shred' is not a known type",
    ),
    (
        "        transform: {type: bucket, width: 1000}",
        "        transform: {type: bucket, widht: 1}",
        "widht",
        "rules[2].transform.widht",
        "unknown key; did you mean 'width'?",
    ),
    (
        "        transform: {type: bucket, width: 1000}",
        "        transform: {type: mask, style: passport}",
        "passport",
        "rules[2].transform.style",
        "must be one of resident_id",
    ),
    (
        "        transform: {type: clip, upper: 500}",
        "        transform: {type: clip, upper: big}",
        "upper: big",
        "rules[3].transform.upper",
        "must be a number",
    ),
    (
        "        transform: {type: date_shift, max_days: 30}",
        "        transform: {type: noise, scale: 1}",
        "transform: {type: noise",
        "rules[4].transform",
        "does not apply to date field",
    ),
    (
        "      - classes: [public]\n        to: {roles: [bank]}",
        "      - classes: [public]\n        to: {roles: [government]}",
        "- classes: [public]",
        "rules[5].purposes",
        "may not act for 'release'",
    ),
    (
        "      - classes: [public]\n        to: {roles: [bank]}\n        purposes: [release]\n"
        "        transform: keep",
        "      - classes: [C3]\n        to: {roles: [bank]}\n        purposes: [release]\n"
        "        transform: keep  # C3",
        "keep  # C3",
        "rules[5].transform",
        "C3 field may not leave",
    ),
    (
        "      - fields: [revenue]\n        to: {roles: [bank]}",
        "      - fields: [revenue]\n        classes: [C2]\n        to: {roles: [bank]}",
        "- fields: [revenue]\n        classes",
        "datasets.firms.rules[1]",
        "exactly one of fields or classes",
    ),
    (
        "      - fields: [founded]",
        "      - classes: [C2]\n        to: {roles: [bank]}\n        purposes: [release]\n"
        "        transform: drop\n      - fields: [founded]",
        "- classes: [C2]\n        to: {roles: [bank]}\n        purposes: [release]\n"
        "        transform: drop",
        "datasets.firms.rules[4]",
        "overlaps rule at broken.yaml:",
    ),
    (
        "    id_field: uscc\n",
        "    id_field: firm\n",
        "id_field: firm",
        "datasets.firms.id_field",
        "not one of the fields",
    ),
    (
        "    id_field: uscc\n",
        "",
        "transform: {type: date_shift",
        "rules[4].transform",
        "date_shift needs the entity id",
    ),
    (
        "        transform: {type: date_shift, max_days: 30}",
        "        transform: {type: age_band, as_of: 2025-01-01}",
        "as_of",
        "rules[4].transform.as_of",
        "not allowed",
    ),
]


def _line_of(text: str, marker: str) -> int:
    return text[: text.index(marker)].count("\n") + 1


@pytest.mark.parametrize(("old", "new", "marker", "key", "problem"), MUTATIONS)
def test_schema_errors_name_file_line_and_key(
    tmp_path: Path, old: str, new: str, marker: str, key: str, problem: str
) -> None:
    # prepare
    assert old in MINIMAL
    path = write_policy(tmp_path, MINIMAL.replace(old, new, 1), name="broken.yaml")
    line = _line_of(path.read_text(encoding="utf-8"), marker)
    # execute
    with pytest.raises(PolicyFileError) as info:
        load_policy(path)
    # assert
    error = info.value
    assert error.path == path
    assert error.line == line, str(error)
    assert key in error.key, str(error)
    assert problem in str(error)
    assert f"broken.yaml:{line}" in str(error) and error.fix


def test_folder_merges_files_and_refuses_a_dataset_defined_twice(tmp_path: Path) -> None:
    # prepare
    write_policy(tmp_path, MINIMAL, "a.yaml")
    write_policy(tmp_path, MINIMAL, "b.yaml")
    # execute / assert
    with pytest.raises(PolicyFileError, match=r"also defined in a\.yaml") as info:
        load_policy(tmp_path)
    assert info.value.path.name == "b.yaml"


def test_folder_refuses_conflicting_role_grants(tmp_path: Path) -> None:
    # prepare
    write_policy(tmp_path, MINIMAL, "a.yaml")
    write_policy(
        tmp_path,
        "fedcredit_policy: 1\nroles:\n  bank: [training]\n",
        "b.yaml",
    )
    # execute / assert
    with pytest.raises(PolicyFileError, match=r"conflicts with a\.yaml:3") as info:
        load_policy(tmp_path)
    assert info.value.line == 3 and info.value.key == "roles.bank"


def test_missing_path_and_empty_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="no such file"):
        load_policy(tmp_path / "absent.yaml")
    with pytest.raises(PolicyFileError, match=r"no \.yaml policy files"):
        load_policy(tmp_path)


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    # prepare
    path = tmp_path / "latin.yaml"
    path.write_bytes("fedcredit_policy: 1\n# caf\xe9\n".encode("latin-1"))
    # execute / assert
    with pytest.raises(PolicyFileError, match="UTF-8"):
        load_policy(path)


def test_version_is_a_content_hash(tmp_path: Path) -> None:
    # prepare
    first = tmp_path / "one"
    second = tmp_path / "two"
    shutil.copytree(POLICIES, first)
    shutil.copytree(POLICIES, second)
    # execute
    same_a = load_policy(first).version
    same_b = load_policy(second).version
    (second / "bank.yaml").write_text(
        (second / "bank.yaml").read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8"
    )
    changed = load_policy(second).version
    # assert: same bytes anywhere give the same version; any byte changes it
    assert same_a == same_b
    assert changed != same_a
