"""The written schemas describe the generated tables and classify the identity fields."""

from __future__ import annotations

from pathlib import Path

import yaml

from node.data.schema import Sensitivity
from node.data.synthetic import SyntheticConfig, build_federation
from node.data.synthetic.schemas import ALL_SCHEMAS, SNAPSHOT_SCHEMAS

POLICIES = Path(__file__).resolve().parents[4] / "policies"


def test_schemas_cover_exactly_the_generated_columns() -> None:
    federation = build_federation(SyntheticConfig(n_firms=200, seed=2))
    tables = federation.tables()
    for name, schema in SNAPSHOT_SCHEMAS.items():
        assert schema.columns == tuple(tables[name].columns), name
        assert schema.id_column == "uscc" and schema.id_is_uscc


def test_identity_fields_carry_the_highest_classes() -> None:
    gov, bank = SNAPSHOT_SCHEMAS["government"], SNAPSHOT_SCHEMAS["bank"]
    assert gov.spec("legal_rep_id_number").sensitivity is Sensitivity.C3
    assert bank.spec("account_no").sensitivity is Sensitivity.C3
    for column in ("uscc", "legal_rep_name", "legal_rep_phone"):
        assert gov.spec(column).sensitivity is Sensitivity.C3
    assert bank.spec("contact_phone").sensitivity is Sensitivity.C3
    assert bank.label_column == "default_12m"
    assert SNAPSHOT_SCHEMAS["third_party"].label_column is None


def test_classes_match_the_default_policies() -> None:
    # prepare: every dataset the default policies classify, by name
    classified: dict[str, dict[str, str]] = {}
    for policy_file in sorted(POLICIES.glob("*.yaml")):
        policy = yaml.safe_load(policy_file.read_text(encoding="utf-8"))
        for name, dataset in (policy.get("datasets") or {}).items():
            classified[name] = {c: str(f["class"]) for c, f in dataset["fields"].items()}

    # execute: compare with the classes the generator writes into its schema files
    mismatches = [
        (name, spec.name, spec.sensitivity.value, classified[name].get(spec.name))
        for name, schema in ALL_SCHEMAS.items()
        if name in classified
        for spec in schema.fields
        if classified[name].get(spec.name) != spec.sensitivity.value
    ]

    # assert: the three snapshot tables are classified, and identically
    assert {"government", "bank", "third_party"} <= set(classified)
    assert mismatches == []
