"""Deferred appends: staged in order at once, durable when waited for, refused once closed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.audit.exceptions import LogClosedError
from node.audit.log import AccessLog
from node.audit.reader import LogReader

from .conftest import make_entry


def test_staged_entries_keep_their_order_and_are_durable_when_waited_for(
    tmp_path: Path, signing_key: Ed25519PrivateKey
) -> None:
    # prepare / execute: a deferred entry, a normal append after it, then the wait
    with AccessLog.open(tmp_path, signing_key, "bank-a") as log:
        staged = log.append_deferred([make_entry(0), make_entry(1)])
        after = log.append(make_entry(2))
        indexes = staged.wait()
        # assert: the indexes were fixed at staging; the later append covers them too
        assert indexes == [0, 1] and after == 2
        assert log.size() == 3
        assert log.append_deferred([]).wait() == []
    with LogReader.open(tmp_path) as reader:
        assert [reader.entry(i).rows for i in range(3)] == [100, 101, 102]


def test_a_closed_log_refuses_to_stage(tmp_path: Path, signing_key: Ed25519PrivateKey) -> None:
    log = AccessLog.open(tmp_path, signing_key, "bank-a")
    log.close()
    with pytest.raises(LogClosedError):
        log.append_deferred([make_entry(0)])
