"""A finished job's outcome line words its rows in the unit the job's summary names: firms
for the vertical credit job, borrower-months for the early-warning job (keyed firm@month)."""

from __future__ import annotations

from node.cli.results import outcome
from node.jobs.summaries import ROW_ID, row_unit
from node.monitoring.deployment import yardstick


def _result(**bank: object) -> dict[str, object]:
    metrics = {"auc": 0.8, "ks": 0.4, "gini": 0.6}
    label_holder = {"metrics": metrics, "bank_only": metrics, "best_epoch": 3, "trees": 1}
    return {"parties": {"bank": {**label_holder, **bank}, "government": {"aligned_rows": 9}}}


def test_the_rows_are_worded_in_the_unit_the_summary_names() -> None:
    warning = _result(aligned_rows=5400, row_unit=row_unit(ROW_ID))
    credit = _result(aligned_rows=1800, row_unit=row_unit("uscc"))
    assert outcome("vertical_lr", "succeeded", warning, "").startswith(
        "5400 aligned borrower-months, best epoch 3"
    )
    assert outcome("secureboost", "succeeded", warning, "") == (
        "5400 aligned borrower-months, 1 tree kept"
    )
    assert outcome("vertical_lr", "succeeded", credit, "").startswith("1800 aligned firms")
    # a summary from before the unit was named is of firms
    assert outcome("vertical_lr", "succeeded", _result(aligned_rows=7), "").startswith(
        "7 aligned firms"
    )
    # the deployment rule's verdict says the same
    found = yardstick("ew1", warning["parties"]["bank"])  # type: ignore[index]
    assert found is not None and "5400 aligned borrower-months" in found.describe()
