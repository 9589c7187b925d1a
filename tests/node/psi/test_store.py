"""Writing an alignment: complete or absent, never half-written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from node.psi import PsiResult, write_alignment


def result(rows: list[int] | None) -> PsiResult:
    return PsiResult(
        party="gov", role="follower", cardinality_only=rows is None, size=2,
        rows=None if rows is None else np.array(rows, dtype=np.int64), n_input=5,
        invalid_rows=(3,),
    )  # fmt: skip


def test_alignment_is_written_whole(tmp_path: Path) -> None:
    # prepare
    path = tmp_path / "psi" / "alignment.json"
    # execute
    write_alignment(result([4, 1]), path)
    # assert
    document = json.loads(path.read_text())
    assert document["rows"] == [4, 1] and document["invalid_rows"] == [3]
    assert [p.name for p in path.parent.iterdir()] == ["alignment.json"]


def test_cardinality_result_has_nothing_to_write(tmp_path: Path) -> None:
    # execute / assert
    with pytest.raises(ValueError, match="cardinality"):
        write_alignment(result(None), tmp_path / "a.json")
    assert not list(tmp_path.iterdir())
