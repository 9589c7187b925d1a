"""Written federations load through the node's own loader with the written schemas."""

from __future__ import annotations

import pytest

from node.data.loader import load_dataset
from node.data.synthetic import SyntheticConfig, build_federation, generate_federation
from node.data.synthetic.writer import write_federation


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_written_tables_pass_validation(tmp_path, fmt) -> None:
    # execute
    files = generate_federation(tmp_path / fmt, n_firms=400, seed=3, fmt=fmt)

    # assert: every table written, every snapshot accepted by the loader with its schema
    assert set(files.tables) == {
        "government", "bank", "third_party", "government_monthly", "bank_monthly",
        "third_party_monthly", "bank_defaults",
    }  # fmt: skip
    assert all(p.is_file() and p.suffix == f".{fmt}" for p in files.tables.values())
    assert files.schemas["bank"].name == "bank.schema.yaml"
    assert set(files.schemas) == set(files.tables)
    for name in files.tables:
        ds = load_dataset(files.tables[name], files.schemas[name])
        assert len(ds) > 0 and ds.name == name
    bank = load_dataset(files.bank, files.schemas["bank"])
    assert bank.schema.label_column == "default_12m"
    assert set(bank.frame["default_12m"].unique()) <= {0, 1}


def test_csv_and_parquet_hold_the_same_data(tmp_path) -> None:
    # prepare
    csv = generate_federation(tmp_path / "c", n_firms=300, seed=5, fmt="csv")
    pq = generate_federation(tmp_path / "p", n_firms=300, seed=5, fmt="parquet")
    # execute
    a = load_dataset(csv.government, csv.schemas["government"]).frame
    b = load_dataset(pq.government, pq.schemas["government"]).frame
    # assert
    assert a.equals(b)


def test_unknown_format(tmp_path) -> None:
    # prepare
    federation = build_federation(SyntheticConfig(n_firms=50))
    # execute / assert: refused before anything is generated or written
    with pytest.raises(ValueError):
        generate_federation(tmp_path / "g", n_firms=50, fmt="xlsx")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        write_federation(federation, tmp_path / "w", "json")  # type: ignore[arg-type]
    assert not (tmp_path / "g").exists() and not (tmp_path / "w").exists()
