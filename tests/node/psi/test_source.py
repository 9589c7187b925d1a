"""Ids read in chunks from Parquet and CSV files give the same alignment as ids in memory."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from node.compute import worker_pool
from node.psi import DuplicateIdsError, PsiResult, PsiSpec, PsiSpecError
from node.psi import ids as ids_module
from node.psi.ids import prepare_ids
from node.psi.source import chunks_of, ids_from_file
from node.psi.workers import InlineExecutor

from .harness import make_codes, run_job


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.name.endswith(".parquet"):
        frame.to_parquet(path, index=False, row_group_size=97)
    elif path.name.endswith(".gz"):
        with gzip.open(path, "wt") as out:
            frame.to_csv(out, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".csv.gz"])
def test_file_chunks_prepare_like_the_column_in_memory(tmp_path: Path, suffix: str) -> None:
    # prepare: ids with a stray space, lower case, a bad one and a missing one
    codes = make_codes(500, seed=31)
    column: list[object] = [*codes[:200], f" {codes[200].lower()}", "bad", None, *codes[201:]]
    path = write(pd.DataFrame({"uscc": column, "x": range(len(column))}), tmp_path / f"t{suffix}")
    # execute
    streamed = prepare_ids(ids_from_file(path, "uscc", rows=64), InlineExecutor(), strict=False)
    in_memory = prepare_ids(column, InlineExecutor(), strict=False)
    # assert
    assert streamed.codes.tolist() == in_memory.codes.tolist()
    assert streamed.rows.tolist() == in_memory.rows.tolist()
    assert streamed.invalid == in_memory.invalid == (201, 202)
    assert streamed.total == len(column)


def test_missing_column_and_unknown_file_type_are_named(tmp_path: Path) -> None:
    # prepare
    frame = pd.DataFrame({"uscc": make_codes(3, seed=32)})
    parquet, csv = write(frame, tmp_path / "a.parquet"), write(frame, tmp_path / "a.csv")
    # execute / assert
    for path in (parquet, csv):
        with pytest.raises(PsiSpecError, match="no column 'code'"):
            ids_from_file(path, "code")
    with pytest.raises(PsiSpecError, match="Parquet"):
        ids_from_file(tmp_path / "a.json", "uscc")


def test_duplicates_across_chunks_are_refused_by_position() -> None:
    # prepare: the repeat sits in a later chunk than the first occurrence
    codes = make_codes(300, seed=33)
    column = [*codes, codes[5].lower(), codes[250]]
    # execute / assert
    with pytest.raises(DuplicateIdsError) as info:
        prepare_ids(chunks_of(column, rows=50), InlineExecutor(), strict=False)
    assert info.value.positions == (300, 301)


def test_hash_collisions_are_never_taken_for_duplicates(monkeypatch: pytest.MonkeyPatch) -> None:
    # prepare: a hash base of zero keeps only the last byte, so most codes collide
    monkeypatch.setattr(ids_module, "_HASH_BASE", np.uint64(0))
    codes = make_codes(400, seed=34)
    # execute
    prepared = prepare_ids(codes, InlineExecutor(), strict=False)
    # assert
    assert len(prepared.codes) == 400
    with pytest.raises(DuplicateIdsError) as info:
        prepare_ids([*codes, codes[17]], InlineExecutor(), strict=False)
    assert info.value.positions == (400,)


@pytest.mark.slow
def test_streamed_psi_over_worker_processes_matches_the_reference(tmp_path: Path) -> None:
    # prepare: the leader reads Parquet, the follower a gzip CSV, in chunks, with real workers
    codes = make_codes(3000, seed=35)
    bank, gov = codes[:1000], codes[600:]
    bank_file = write(pd.DataFrame({"uscc": bank}), tmp_path / "bank.parquet")
    gov_file = write(pd.DataFrame({"uscc": gov}), tmp_path / "gov.csv.gz")
    spec = PsiSpec(leader="bank", followers=("gov",), batch_size=128, timeout_s=30.0)
    # execute
    with worker_pool(2) as pool:
        run = run_job(
            spec,
            {
                "bank": ids_from_file(bank_file, "uscc", rows=256),
                "gov": ids_from_file(gov_file, "uscc", rows=256),
            },
            pool=pool,
            timeout=30.0,
        )
    # assert
    leader, follower = run.outcome["bank"], run.outcome["gov"]
    assert isinstance(leader, PsiResult) and isinstance(follower, PsiResult)
    assert leader.rows is not None and follower.rows is not None
    assert [bank[i] for i in leader.rows] == [gov[i] for i in follower.rows]
    assert set(bank[i] for i in leader.rows) == set(bank) & set(gov)
