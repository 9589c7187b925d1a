"""A node's own copy of a job's summary: kept whole, and a failure to keep it is an error in
the node's log that leaves no stale or partial summary behind and never raises."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from node.jobs.summaries import keep_summary, kept_summary, summary_path
from tests.node.jobs.refusals import refuse_stat_and_replace


def test_a_summary_is_kept_whole_and_replaced_by_a_new_attempts(tmp_path: Path) -> None:
    assert keep_summary(tmp_path, "ew1", {"metrics": {"auc": 0.7}})
    assert keep_summary(tmp_path, "ew1", {"metrics": {"auc": 0.8}})
    assert kept_summary(tmp_path, "ew1") == {"metrics": {"auc": 0.8}}


def test_a_summary_json_cannot_write_is_logged_and_leaves_no_stale_copy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # prepare: the first attempt's summary is kept
    assert keep_summary(tmp_path, "ew1", {"metrics": {"auc": 0.7}})
    # execute: the next attempt's has keys that do not sort (an int beside a str)
    with caplog.at_level(logging.ERROR, logger="fedcredit.node.jobs.summaries"):
        kept = keep_summary(tmp_path, "ew1", {"metrics": {1: 0.8, "auc": 0.8}})
    # assert: not kept, said so naming the job, and the first attempt's figures are gone
    assert not kept
    assert "summary of job ew1 not kept" in caplog.text and "TypeError" in caplog.text
    assert kept_summary(tmp_path, "ew1") is None
    assert list(summary_path(tmp_path, "ew1").parent.iterdir()) == []  # no partial file


def test_a_folder_that_cannot_be_written_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "results").write_text("a file where the folder belongs")
    with caplog.at_level(logging.ERROR, logger="fedcredit.node.jobs.summaries"):
        assert not keep_summary(tmp_path, "ew1", {"metrics": {"auc": 0.7}})
    assert "summary of job ew1 not kept" in caplog.text
    assert "outcome stands" in caplog.text


def test_a_folder_that_refuses_stat_and_replace_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # prepare: the first attempt's summary is kept; then its folder refuses stat and replace
    assert keep_summary(tmp_path, "ew1", {"metrics": {"auc": 0.7}})
    refuse_stat_and_replace(monkeypatch, summary_path(tmp_path, "ew1").parent)
    # execute: the next attempt's summary
    with caplog.at_level(logging.ERROR, logger="fedcredit.node.jobs.summaries"):
        kept = keep_summary(tmp_path, "ew1", {"metrics": {"auc": 0.8}})
    # assert: not kept, said so (PermissionError named), nothing raised
    assert not kept
    assert "summary of job ew1 not kept" in caplog.text and "PermissionError" in caplog.text
