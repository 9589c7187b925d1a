"""A boosted early-warning model at a refresh: holders' directions on the wire, the bank's walk."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from node.models import PartInfo, TreePart
from node.monitoring.trees import HolderSplits, holder_answer, walk
from node.training.secureboost.model import (
    Ensemble,
    PartyPart,
    SplitRule,
    TreeNode,
    directions_by_record,
    record_id,
    resolve_splits,
)

TAX = "tax_paid__chg3m"
PER_HEAD = "tax_paid_per_ss_headcount__mean12m"
INFLOW = "inflow__chg3m"


def _parts() -> tuple[TreePart, TreePart]:
    """Two trees: the bank's inflow then the government's tax change; the government's tax
    per employee (a missing value goes left, as a firm the government does not hold)."""
    r00, r01, r10 = record_id(0, 0), record_id(0, 1), record_id(1, 0)
    trees = (
        (TreeNode(1, 4, "bank", r00, 1.0), TreeNode(2, 3, "government", r01, 1.0),
         TreeNode(weight=0.9), TreeNode(weight=0.1), TreeNode(weight=-0.2)),
        (TreeNode(1, 2, "government", r10, 1.0), TreeNode(weight=0.5), TreeNode(weight=-0.3)),
    )  # fmt: skip
    ensemble = Ensemble(-2.0, trees)
    bank = PartyPart("bank", {r00: SplitRule(INFLOW, 0.0, True)})
    gov = PartyPart(
        "government", {r01: SplitRule(TAX, -0.5, False), r10: SplitRule(PER_HEAD, 5.0, True)}
    )
    return (
        TreePart(PartInfo("secureboost", "ew", "bank", "bank_ew", "firm_month", bank.features),
                 bank, ensemble),
        TreePart(PartInfo("secureboost", "ew", "government", "government_ew", "firm_month",
                          gov.features), gov),
    )  # fmt: skip


BANK_FRAME = pd.DataFrame({INFLOW: [-1.0, -1.0, 2.0, -1.0]})
GOV_FRAME = pd.DataFrame({TAX: [-2.0, 0.5, 0.5, np.nan], PER_HEAD: [4.0, 7.123456, 9.0, np.nan]})


def _splits(gov: TreePart, frame: pd.DataFrame, known: np.ndarray) -> HolderSplits:
    n = len(frame)
    splits = HolderSplits.empty(n)
    splits.add(holder_answer(gov, frame, np.arange(n), n, "GOV"), 0, known)
    return splits


def test_the_banks_walk_of_the_holders_directions_gives_the_ensembles_log_odds() -> None:
    # prepare
    bank, gov = _parts()
    splits = _splits(gov, GOV_FRAME, np.ones(4, np.bool_))
    # execute
    walked = walk(bank, BANK_FRAME, {"government": splits}, "BANK")
    # assert: the same log-odds as the ensemble over both parties' own directions
    assert bank.ensemble is not None
    directions = {
        "bank": directions_by_record(sorted(bank.own.rules), resolve_splits(bank.own, BANK_FRAME)),
        "government": directions_by_record(
            sorted(gov.own.rules), resolve_splits(gov.own, GOV_FRAME)
        ),
    }
    np.testing.assert_allclose(walked.margin, bank.ensemble.margin(directions, 4))
    np.testing.assert_allclose(walked.margin, [-2.0 + 0.9 + 0.5, -2.0 + 0.1 - 0.3, -2.5, -1.4])
    # credits add up: the intercept, the bank's own and the holder's partial log-odds
    assert walked.partials["government"][0] > 0  # tax falling and low per head: risk up
    assert walked.reasons["government"][0] == ["GOV-TAX-PAID", "GOV-TAX-PAID-PER-SS-HEADCOUNT"]
    assert walked.reasons["government"][2] == []  # nothing of the government's pushed it up
    assert walked.own_reasons[0] == ["BANK-INFLOW"]
    # a firm the government does not hold (row 3: all NaN) goes the missing sides
    assert walked.margin[3] == pytest.approx(-2.0 + 0.1 + 0.5)


def test_a_holder_without_an_answer_leaves_its_splits_untaken() -> None:
    bank, gov = _parts()
    known = np.array([True, False, True, True])
    walked = walk(bank, BANK_FRAME, {"government": _splits(gov, GOV_FRAME, known)}, "BANK")
    absent = walk(bank, BANK_FRAME, {}, "BANK")
    # borrower 1: its path stops at the government's splits, each at the mean of the leaves
    # below (tree 0: (0.9 + 0.1) / 2; tree 1: (0.5 - 0.3) / 2)
    assert walked.margin[1] == pytest.approx(-2.0 + 0.5 + 0.1)
    assert absent.margin[1] == pytest.approx(walked.margin[1])
    assert walked.reasons["government"][1] == []


def test_an_answer_carries_bits_and_codes_never_a_value_and_chunks_join() -> None:
    _, gov = _parts()
    whole = holder_answer(gov, GOV_FRAME, np.arange(4), 4, "GOV")
    text = json.dumps(whole)
    assert "7.123456" not in text and "-0.5" not in text and "5.0" not in text
    assert set(whole) == {"kind", "records", "categories", "record_categories", "directions"}
    # the book in two chunks gives the same directions as in one
    joined = HolderSplits.empty(4)
    for start in (0, 2):
        chunk = GOV_FRAME.iloc[start : start + 2].reset_index(drop=True)
        joined.add(holder_answer(gov, chunk, np.arange(2), 2, "GOV"), start, np.ones(2, bool))
    one = _splits(gov, GOV_FRAME, np.ones(4, np.bool_))
    np.testing.assert_array_equal(joined.left, one.left)
    # rows the holder may not answer for are sent as zeros
    partial = holder_answer(gov, GOV_FRAME.iloc[[0]], np.array([2]), 4, "GOV")
    bits = HolderSplits.empty(4)
    bits.add(partial, 0, np.ones(4, bool))
    assert not bits.left[[0, 1, 3]].any()
    np.testing.assert_array_equal(bits.left[2], one.left[0])


def test_malformed_answers_are_refused() -> None:
    _, gov = _parts()
    good = holder_answer(gov, GOV_FRAME, np.arange(4), 4, "GOV")
    splits = HolderSplits.empty(4)
    with pytest.raises(ValueError, match="do not fit the chunk"):
        splits.add(good, 0, np.ones(3, np.bool_))
    with pytest.raises(ValueError, match="categories"):
        splits.add({**good, "record_categories": [0, 7]}, 0, np.ones(4, np.bool_))
    splits.add(good, 0, np.ones(4, np.bool_))
    with pytest.raises(ValueError, match="other splits"):
        splits.add({**good, "records": [1, 2]}, 0, np.ones(4, np.bool_))
