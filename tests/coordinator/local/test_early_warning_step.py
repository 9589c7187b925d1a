"""The demo's early-warning step where the warning model does not beat the bank alone: the
verdict is printed and recorded, nothing is deployed and the run goes on (fast: the step
stops at the deployment rule, before any process would be asked anything)."""

from __future__ import annotations

from pathlib import Path

import yaml
from rich.console import Console

from coordinator.local.early_warning import bank_watch, summary_line, watch_book
from coordinator.local.federation import LocalFederation
from coordinator.local.monitoring import SHIPPED_POLICY
from node.jobs.summaries import keep_summary


def _bank_config(root: Path) -> None:
    config = root / "config" / "bank.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    raw = {"node_id": "bank", "certs": {"dir": "certs"}, "coordinator": "127.0.0.1:50051",
           "state_dir": str(root / "state" / "bank")}  # fmt: skip
    config.write_text(yaml.safe_dump(raw))


def test_no_gain_over_the_bank_alone_skips_the_watch_list_without_failing(
    tmp_path: Path,
) -> None:
    # prepare: the bank's kept summary of a job whose federated AUC is below the bank alone's
    fed = LocalFederation(tmp_path)
    _bank_config(fed.root)
    summary = {"metrics": {"auc": 0.70}, "bank_only": {"auc": 0.74}, "aligned_rows": 900}
    keep_summary(fed.root / "state" / "bank" / "jobs", "ew1", summary)
    console = Console(record=True, width=200)
    # execute
    watched = watch_book(fed, "ew1", console)
    # assert: the verdict with both AUCs, said and recorded; nothing deployed
    out = console.export_text()
    assert "does not beat the bank alone: job ew1: federated AUC 0.7000, bank alone 0.7400" in out
    assert "watch list skipped" in out and "--force" not in out
    assert watched["deployed"] is False
    assert (watched["federated_auc"], watched["bank_only_auc"]) == (0.70, 0.74)
    assert not (fed.root / "state" / "bank" / "models").exists()
    assert "not deployed, watch list skipped (job ew1: federated AUC 0.7000" in summary_line(
        watched
    )


def test_the_demo_bank_reviews_a_copy_of_the_shipped_policy(tmp_path: Path) -> None:
    watch = bank_watch(tmp_path)
    assert watch.policy == tmp_path / "config" / SHIPPED_POLICY.name
    assert watch.policy.read_text() == SHIPPED_POLICY.read_text()
