"""PSI on the real default-credit vertical split (text ids), against a set reference."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from node.psi import PsiResult

from .harness import run_job
from .test_protocol import spec

ROWS = 6000  # enough to stream many batches, small enough for a quick inline run


def ids_of(path: Path, start: int, n: int) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["id"] for row in csv.DictReader(handle)][start : start + n]


@pytest.mark.slow
def test_bank_and_host_align_on_the_real_split(default_credit_dir: Path) -> None:
    # prepare: the bank (label holder) and the host hold different rows of the same clients
    bank = ids_of(default_credit_dir / "default_credit_hetero_guest.csv", 0, ROWS)
    host = ids_of(default_credit_dir / "default_credit_hetero_host.csv", ROWS // 2, ROWS)
    expected = set(bank) & set(host)
    # execute
    run = run_job(
        spec(followers=("host",), id_format="text", batch_size=1024), {"bank": bank, "host": host}
    )
    # assert
    leader, follower = run.outcome["bank"], run.outcome["host"]
    assert isinstance(leader, PsiResult) and isinstance(follower, PsiResult)
    assert 0 < leader.size == len(expected) < ROWS
    assert [bank[i] for i in leader.rows] == [host[i] for i in follower.rows]
    assert set(bank[i] for i in leader.rows) == expected
