"""The written schemas describe the generated tables and classify the identity fields."""

from __future__ import annotations

from node.data.schema import Sensitivity
from node.data.synthetic import SyntheticConfig, build_federation
from node.data.synthetic.schemas import SNAPSHOT_SCHEMAS


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
    for column in ("uscc", "firm_name", "legal_rep_name", "legal_rep_phone"):
        assert gov.spec(column).sensitivity is Sensitivity.C2
    assert bank.label_column == "default_12m"
    assert SNAPSHOT_SCHEMAS["third_party"].label_column is None
