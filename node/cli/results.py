"""How a finished job reads in a terminal: one outcome line per job, and the scorecard table.

The whole result stays available as JSON (``--format json``, the local federation's
``summary.json``); this is the part a person reads first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from node.jobs.summaries import aligned_rows_text


def outcome(job_type: str, state: str, result: Mapping[str, Any], error: str) -> str:
    """One line saying what a job achieved (or its error)."""
    if state != "succeeded":
        return error or state
    coordinator = result.get("coordinator", {})
    if job_type == "check":
        return f"{len(coordinator.get('echoed', []))} parties reached each other"
    if job_type == "psi":
        return f"{coordinator.get('intersection_size', '?')} firms at all holders"
    if job_type == "vertical_lr":
        holder = label_holder(result)
        if holder:
            return f"{aligned_rows_text(holder)}, best epoch {holder['best_epoch']}"
    if job_type == "secureboost":
        holder = label_holder(result)
        if holder:
            trees = holder["trees"]
            kept = f"{trees} tree{'' if trees == 1 else 's'} kept"
            return f"{aligned_rows_text(holder)}, {kept}"
    if job_type == "horizontal" and coordinator.get("history"):
        last = coordinator["history"][-1]
        return (
            f"{last['round']} rounds, federated validation AUC {last['val_auc']:.3f}, "
            f"KS {last['val_ks']:.3f}, {len(last['banks'])} banks in the last sum"
        )
    return "done"


def label_holder(result: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The vertical job's label holder's part of the result (it holds the metrics)."""
    parties = result.get("parties", {})
    return next((p for p in parties.values() if "metrics" in p and "bank_only" in p), None)


def print_model(job_type: str, result: Mapping[str, Any], console: Console) -> None:
    """The trained model of a succeeded vertical job beside the label holder alone."""
    if job_type == "vertical_lr":
        print_scorecard(result, console)
    elif job_type == "secureboost":
        print_boosted_trees(result, console)


def print_scorecard(result: Mapping[str, Any], console: Console) -> None:
    """The federated model beside the label holder alone, contributions and scaling."""
    holder = label_holder(result)
    if holder is None:
        return
    split = holder.get("metrics_split", "validation")
    models = Table(split, "AUC", "KS", "Gini", title="vertical scorecard")
    for name, m in (("federated", holder["metrics"]), ("bank alone", holder["bank_only"])):
        models.add_row(name, f"{m['auc']:.3f}", f"{m['ks']:.3f}", f"{m['gini']:.3f}")
    console.print(models)
    shares = ", ".join(f"{p} {v:.0%}" for p, v in holder.get("contribution", {}).items())
    if shares:
        console.print(f"contribution to the score spread: {shares}")
    if holder.get("scorecard"):
        console.print(f"scorecard scaling: {holder['scorecard']}")


def print_boosted_trees(result: Mapping[str, Any], console: Console) -> None:
    """The boosted trees beside the bank alone, on held-out test firms, and who contributed."""
    holder = label_holder(result)
    if holder is None:
        return
    models = Table("test", "AUC", "KS", "Gini", title="SecureBoost (gradient-boosted trees)")
    for name, m in (("federated", holder["metrics"]), ("bank alone", holder["bank_only"])):
        models.add_row(name, f"{m['auc']:.3f}", f"{m['ks']:.3f}", f"{m['gini']:.3f}")
    console.print(models)
    importance = holder.get("importance", {})
    total = sum(p["gain"] for p in importance.values()) or 1.0
    shares = ", ".join(
        f"{party} {p['gain'] / total:.0%} ({p['splits']} split{'' if p['splits'] == 1 else 's'})"
        for party, p in importance.items()
    )
    if shares:
        console.print(f"split gain by party: {shares}")
