"""Deploy the federated early-warning model only where it beats the bank's own.

A vertical job (``vertical_lr``, ``secureboost``) reports, at the label holder, the federated
model's AUC beside the bank alone's on the same rows and split (``bank_only``: the same
preparation and effort on the bank's columns only). Where the federated model does not do
better, the holders' figures add nothing the bank's own model lacks on this book: the bank's
own model should keep scoring it (the holders' coded flags still reach the rules either way).
Ties go to the bank's own model: it needs no partner to answer at each refresh.

``fedcredit models deploy`` applies this (``check_deployment``) to the model the monitoring
policy names, from the job's summary this node kept (``jobs/results/<job>.json``); the
benchmark applies the same rule (``beats_bank_alone``) to its own two models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.jobs.summaries import kept_summary
from node.monitoring.config import MonitoringConfig
from node.monitoring.exceptions import MonitoringError
from node.monitoring.policy import load_monitoring_policy


class NoGainOverBankAlone(MonitoringError):
    """The job's federated AUC is not above the bank alone's: the bank's own model stays."""


def beats_bank_alone(federated_auc: float, bank_only_auc: float) -> bool:
    """Whether the federated model should score the book rather than the bank's own."""
    return federated_auc > bank_only_auc


@dataclass(frozen=True)
class Yardstick:
    """The label holder's figures of one job: the federated AUC and the bank alone's."""

    job_id: str
    split: str  # the rows both were measured on (test, or validation without test rows)
    federated_auc: float
    bank_only_auc: float
    rows: int  # aligned rows of the job

    @property
    def federated_wins(self) -> bool:
        return beats_bank_alone(self.federated_auc, self.bank_only_auc)

    def describe(self) -> str:
        return (
            f"job {self.job_id}: federated AUC {self.federated_auc:.4f}, bank alone "
            f"{self.bank_only_auc:.4f} (the job's {self.split} rows, {self.rows} aligned firms)"
        )


def yardstick(job_id: str, summary: Mapping[str, Any]) -> Yardstick | None:
    """The figures in this node's summary of a job, or None where it holds none (a feature
    holder, or a job type without a bank-alone figure)."""
    metrics, alone = summary.get("metrics"), summary.get("bank_only")
    if not isinstance(metrics, Mapping) or not isinstance(alone, Mapping):
        return None
    try:
        federated, own = float(metrics["auc"]), float(alone["auc"])
    except (KeyError, TypeError, ValueError):
        return None
    split = str(summary.get("metrics_split") or "test")  # SecureBoost reports its test rows
    return Yardstick(job_id, split, federated, own, int(summary.get("aligned_rows", 0)))


def kept_yardstick(state_dir: Path, job_id: str) -> Yardstick | None:
    """The yardstick of ``job_id`` in the summary this node kept of it, or None (no summary
    kept, or no bank-alone figure in it)."""
    summary = kept_summary(state_dir / "jobs", job_id)
    return yardstick(job_id, summary) if summary is not None else None


def monitored_model(monitoring: MonitoringConfig) -> str:
    """The registry name of the early-warning model this node's monitoring policy scores the
    book with ("" where the node has no policy).

    Raises
    ------
    MonitoringError
        A policy is configured but does not load: the message names the problem.
    """
    if monitoring.policy is None:
        return ""
    return load_monitoring_policy(monitoring.policy).model


def check_deployment(state_dir: Path, job_id: str, name: str, force: bool = False) -> Yardstick:
    """The rule, for deploying ``job_id``'s part at this node as the early-warning model
    ``name``: its yardstick, where the federated model beats the bank alone or ``force``.

    Raises
    ------
    NoGainOverBankAlone
        It does not, and not ``force``; the message has both figures and the ways forward.
    LookupError
        This node kept no bank-alone figure of the job (a feature holder, or a job run before
        nodes kept their summaries): there is nothing to compare.
    """
    found = kept_yardstick(state_dir, job_id)
    if found is None:
        raise LookupError(f"this node kept no bank-alone figure for job {job_id}")
    if not found.federated_wins and not force:
        raise NoGainOverBankAlone(
            f"not deployed: {found.describe()}; the federated model does not beat the bank's "
            f"own, so the bank's own model should keep scoring the book (the current version "
            f"of {name} stays); deploy it anyway with --force"
        )
    return found
