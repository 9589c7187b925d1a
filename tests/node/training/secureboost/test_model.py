"""Model parts: each party resolves its own splits; parts save, load and refuse garbage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from node.training.secureboost import (
    load_guest_model,
    load_part,
    resolve_splits,
    run_in_memory,
    save_guest_model,
    save_part,
    spec_from_job,
)
from node.training.secureboost.model import (
    Ensemble,
    ModelFormatError,
    PartyPart,
    SplitRule,
    TreeNode,
    directions_by_record,
    record_id,
)
from node.training.secureboost.rows import TEST, row_roles

from .conftest import allow_all, section


def test_scoring_from_saved_parts_reproduces_the_test_metrics(
    credit_frames: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    # prepare: a trained three-party model, each part saved as its owner would
    spec = spec_from_job(section(trees=4, three_party=True), allow_all)
    results, errors = run_in_memory(spec, credit_frames)
    assert errors == {}
    bank = results["bank"]
    save_guest_model(tmp_path / "bank.json", bank.ensemble, bank.part, "job-1")
    for host in ("gov", "third"):
        save_part(tmp_path / f"{host}.json", results[host].part, "job-1")
    y = credit_frames["bank"]["y"].to_numpy().astype(np.int8)
    test = row_roles(y, 0.2, 0.2, 11) == TEST
    # execute: every party loads its part alone and resolves its splits on its own rows
    ensemble, own = load_guest_model(tmp_path / "bank.json")
    directions = {"bank": _resolve(own, credit_frames["bank"][test])}
    for host in ("gov", "third"):
        directions[host] = _resolve(load_part(tmp_path / f"{host}.json"), credit_frames[host][test])
    margin = ensemble.margin(directions, int(test.sum()))
    # assert: the same scores the training run reported
    from node.training.metrics import auc

    assert auc(y[test], margin) == pytest.approx(bank.metrics["auc"], abs=1e-12)
    assert ensemble == bank.ensemble


def _resolve(part: PartyPart, frame: pd.DataFrame) -> dict[int, np.ndarray]:
    records = sorted(part.rules)
    return directions_by_record(records, resolve_splits(part, frame))


def test_resolve_handles_missing_values_and_the_present_or_missing_rule() -> None:
    part = PartyPart(
        "gov",
        {
            record_id(0, 0): SplitRule("a", 1.5, missing_left=True),
            record_id(0, 1): SplitRule("a", None, missing_left=False),
        },
    )
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan]})
    out = resolve_splits(part, frame)
    assert out.tolist() == [[True, False, True], [True, True, False]]


def test_a_tree_routes_rows_through_every_party_split() -> None:
    # root: bank's record 0; left child: gov's record 1; three leaves
    tree = (
        TreeNode(1, 2, "bank", 0, 1.0),
        TreeNode(3, 4, "gov", 1, 0.5),
        TreeNode(weight=0.3),
        TreeNode(weight=-0.2),
        TreeNode(weight=0.1),
    )
    ensemble = Ensemble(0.5, (tree,))
    directions = {
        "bank": {0: np.array([True, True, False])},
        "gov": {1: np.array([True, False, True])},
    }
    assert ensemble.margin(directions, 3).tolist() == pytest.approx([0.3, 0.6, 0.8])
    assert ensemble.records_of("gov") == [1]
    assert ensemble.importance()["bank"].splits == 1


def test_model_files_of_another_kind_or_version_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    save_part(path, PartyPart("gov", {0: SplitRule("a", 1.0, False)}), "j")
    with pytest.raises(ModelFormatError, match="not a 'secureboost/label_holder'"):
        load_guest_model(path)
    path.write_text('{"format": 99}')
    with pytest.raises(ModelFormatError, match="version-1"):
        load_part(path)
    path.write_text("not json")
    with pytest.raises(ModelFormatError, match="not JSON"):
        load_part(path)
    path.write_text('{"format": 1, "kind": "secureboost/party", "party": "g", "rules": [{}]}')
    with pytest.raises(ModelFormatError, match="does not parse"):
        load_part(path)
