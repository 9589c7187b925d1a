"""Deploy the federated early-warning model only where it beats the bank's own.

A vertical job (``vertical_lr``, ``secureboost``) reports, at the label holder, the federated
model's AUC beside the bank alone's on the same rows and split (``bank_only``: the same
preparation and effort on the bank's columns only). Where the federated model does not do
better, the holders' figures add nothing the bank's own model lacks on this book: the bank's
own model should keep scoring it (the holders' coded flags still reach the rules either way).
Ties go to the bank's own model: it needs no partner to answer at each refresh.

``fedcredit models deploy`` and ``models promote`` apply this (``into_service``) to the model
the monitoring policy names, from the job's summary this node kept (``jobs/results/<job>.json``);
``models rollback`` reports it without holding the rollback back (see ``into_service``); the
benchmark applies the same rule (``beats_bank_alone``) to its own two models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from node.jobs.summaries import aligned_rows_text, kept_summary
from node.monitoring.exceptions import MonitoringError
from node.monitoring.policy import load_monitoring_policy


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
    aligned: str  # the job's aligned rows, e.g. "1000 aligned firms" (its summary's words)

    @property
    def federated_wins(self) -> bool:
        return beats_bank_alone(self.federated_auc, self.bank_only_auc)

    def describe(self) -> str:
        return (
            f"job {self.job_id}: federated AUC {self.federated_auc:.4f}, bank alone "
            f"{self.bank_only_auc:.4f} (the job's {self.split} rows, {self.aligned})"
        )


Verb = Literal["deploy", "promote", "roll back"]  # how a version is put into service
_PAST: Final[Mapping[Verb, str]] = {
    "deploy": "deployed",
    "promote": "promoted",
    "roll back": "rolled back",
}


class NoGainOverBankAlone(MonitoringError):
    """The job's federated AUC is not above the bank alone's: the bank's own model stays.

    ``yardstick`` holds the two figures the verdict was reached on, so a caller reports them
    without reading the job's summary again.
    """

    def __init__(self, found: Yardstick, name: str, verb: Verb = "deploy") -> None:
        super().__init__(
            f"not {_PAST[verb]}: {found.describe()}; the federated model does not "
            f"beat the bank's own, so the bank's own model should keep scoring the book (the "
            f"current version of {name} stays); {verb} it anyway with --force"
        )
        self.yardstick = found


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
    return Yardstick(job_id, split, federated, own, aligned_rows_text(summary))


def kept_yardstick(state_dir: Path, job_id: str) -> Yardstick | None:
    """The yardstick of ``job_id`` in the summary this node kept of it, or None (no summary
    kept, or no bank-alone figure in it)."""
    summary = kept_summary(state_dir / "jobs", job_id)
    return yardstick(job_id, summary) if summary is not None else None


def monitored_model(policy: Path | None) -> str:
    """The registry name of the early-warning model the monitoring policy at ``policy``
    scores the book with ("" where the node has no policy).

    Raises
    ------
    MonitoringError
        A policy is configured but does not load: the message names the problem.
    """
    return "" if policy is None else load_monitoring_policy(policy).model


def check_deployment(
    state_dir: Path, job_id: str, name: str, force: bool = False, verb: Verb = "deploy"
) -> Yardstick:
    """The rule, for putting ``job_id``'s part at this node into service as the early-warning
    model ``name`` (``verb``: ``deploy`` or ``promote``, for the message): its yardstick,
    where the federated model beats the bank alone or ``force``.

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
        raise NoGainOverBankAlone(found, name, verb)
    return found


def into_service(
    policy: Path | None,
    state_dir: Path,
    name: str,
    job_id: str,
    force: bool = False,
    verb: Verb = "deploy",
) -> str:
    """The rule as ``fedcredit models deploy``, ``promote`` and ``rollback`` apply it to
    putting ``job_id``'s part into service as ``name`` (``verb``: ``deploy``, ``promote`` or
    ``roll back``): what to tell the operator once done ("" where ``name`` is not the model
    the monitoring policy names).

    ``policy`` is the node's monitoring policy file (None: the node has none, nothing is
    judged); a policy that does not load refuses (the rule could not be checked) unless
    ``force``, which then skips the rule. ``rollback``
    passes ``force``: the version it goes back to was put into service through this rule
    before (it passed, or an operator forced it), and a rollback must never be held back by
    it; it still reports the version's figures, with a warning where they do not beat.

    Raises
    ------
    NoGainOverBankAlone
        The federated model does not beat the bank alone, and not ``force``.
    MonitoringError
        The monitoring policy does not load, and not ``force``.
    """
    try:
        watched = monitored_model(policy)
    except MonitoringError as exc:
        if force:  # the operator takes the rule upon itself; it is not silently skipped
            return f"[yellow]warning:[/yellow] the deployment rule was not checked: {exc}"
        raise MonitoringError(
            f"cannot check the early-warning deployment rule: {exc}; fix the node's "
            f"monitoring policy, or {verb} without the check with --force"
        ) from exc
    if not name or name != watched:
        return ""
    try:
        found = check_deployment(state_dir, job_id, name, force, verb)
    except LookupError as exc:
        return (
            f"note: {exc} (a feature holder, or a job run before nodes kept their "
            "summaries): put into service without the comparison"
        )
    if found.federated_wins:
        return f"beats the bank alone: {found.describe()}"
    why = (
        "it was put into service with --force, or before the rule"
        if verb == "roll back"
        else "as --force asks"
    )
    return f"[yellow]warning:[/yellow] {found.describe()}; in service though no better ({why})"
