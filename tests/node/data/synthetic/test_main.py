"""The module entry point writes a federation and rejects bad arguments."""

from __future__ import annotations

import pytest

from node.data.synthetic.__main__ import main


def test_writes_tables_and_lists_them(tmp_path, capsys) -> None:
    # execute
    status = main([str(tmp_path / "fed"), "--n-firms", "60", "--format", "parquet"])
    # assert
    assert status == 0
    assert (tmp_path / "fed" / "bank.parquet").is_file()
    assert (tmp_path / "fed" / "bank.schema.yaml").is_file()
    assert "bank.schema.yaml" in capsys.readouterr().out


def test_too_few_firms_is_a_usage_error(tmp_path) -> None:
    with pytest.raises(SystemExit) as info:
        main([str(tmp_path / "fed"), "--n-firms", "3"])
    assert info.value.code == 2
