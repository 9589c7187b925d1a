"""The banks scenario takes any bank files: a folder of CSVs, or files named one by one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import typer

from coordinator.cli.local import bank_files
from coordinator.local.csv import BankFilesError, horizontal_banks
from tests.federation_fixtures import run_command

BANKS_RUN = ("--scenario", "banks", "--data-dir", "my-banks", "--workdir", "fed")


def _bank(path: Path, columns: dict[str, list[object]]) -> Path:
    pd.DataFrame(columns).to_csv(path, index=False)
    return path


def test_a_folder_gives_banks_and_its_test_file(tmp_path: Path) -> None:
    for name in ("north.csv", "south.csv", "holdout_test.csv"):
        _bank(tmp_path / name, {"id": [1], "x": [0.5], "y": [1]})
    banks, test = bank_files(tmp_path, [], None)
    assert [b.name for b in banks] == ["north.csv", "south.csv"]
    assert test is not None and test.name == "holdout_test.csv"


def test_a_folder_without_bank_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(typer.BadParameter, match="has no bank CSV files"):
        bank_files(tmp_path, [], None)


def test_files_with_other_columns_or_no_label_are_refused(tmp_path: Path) -> None:
    a = _bank(tmp_path / "a.csv", {"id": [1], "x": [0.5], "y": [1]})
    b = _bank(tmp_path / "b.csv", {"id": [1], "z": [0.5], "y": [1]})
    with pytest.raises(BankFilesError, match=r"does not have the columns of a\.csv"):
        horizontal_banks(tmp_path / "fed", [a, b], "y")
    with pytest.raises(BankFilesError, match="has no column 'default'"):
        horizontal_banks(tmp_path / "fed", [a, a], "default")
    with pytest.raises(BankFilesError, match="give 2 to 26 bank files"):
        horizontal_banks(tmp_path / "fed", [a], "y")


@pytest.mark.slow
def test_banks_scenario_runs_on_renamed_files_with_a_test_set(
    tmp_path: Path, default_credit_dir: Path
) -> None:
    # prepare: the bundled horizontal split under names of a user's own choosing
    data = tmp_path / "my-banks"
    data.mkdir()
    for src, dst in (
        ("homo_guest", "north"),
        ("homo_host_1", "south"),
        ("homo_host_2", "east"),
        ("homo_test", "holdout_test"),
    ):
        shutil.copy(default_credit_dir / f"default_credit_{src}.csv", data / f"{dst}.csv")
    # execute
    run = run_command(tmp_path, "coordinator.cli.local", *BANKS_RUN)
    # assert
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "3 bank nodes on east.csv, north.csv, south.csv, test set holdout_test.csv" in run.stdout
    summary = json.loads((tmp_path / "fed" / "summary.json").read_text())
    horizontal = summary["jobs"]["horizontal"]
    assert horizontal["state"] == "succeeded"
    assert horizontal["result"]["coordinator"]["history"][-1]["banks"] == [
        "bank_a",
        "bank_b",
        "bank_c",
    ]
