"""Warning rules, classification, watch-list steps and the alert workflow."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from node.monitoring.exceptions import InvalidTransition, MonitoringPolicyError
from node.monitoring.policy import parse_monitoring_policy
from node.monitoring.rules import assess, classify
from node.monitoring.watchlist import advance, cap, step
from node.monitoring.workflow import next_state
from tests.node.monitoring.support import POLICY_TEXT, policy


def test_each_rule_sets_its_level_and_coded_reason() -> None:
    # prepare: five borrowers, one rule each, and one all clear
    p = policy()
    pd_now = np.array([0.40, 0.12, 0.02, 0.02, 0.02, 0.02])
    origination = np.array([0.40, 0.05, 0.02, 0.02, 0.02, 0.02])
    dpd = np.array([0, 0, 35, 5, 0, 0], dtype=np.float64)
    flags = [[], [], [], [], ["GOV-COURT-ENFORCEMENT"], []]
    model_reasons = [["GOV-TAX-PAID"], ["TP-INVOICE-TOTAL"], [], [], [], []]
    # execute
    got = assess(p, pd_now, origination, dpd, flags, model_reasons)
    # assert
    assert got.level.tolist() == [3, 2, 3, 1, 3, 0]
    assert got.reasons[0] == ["EW-PD", "GOV-TAX-PAID"]
    assert "IFRS9-SICR" in got.reasons[1] and "EW-PD" in got.reasons[1]
    assert "BANK-DPD30" in got.reasons[2] and "CLASS-SPECIAL-MENTION" in got.reasons[2]
    assert got.reasons[3] == ["CLASS-SPECIAL-MENTION"]
    assert got.reasons[4] == ["GOV-COURT-ENFORCEMENT"]
    assert got.reasons[5] == []
    assert got.hard.tolist() == [0, 0, 3, 1, 3, 0]
    # a flag the policy names soft lists at its level but competes by PD for the list's room
    soft = replace(p, soft_flags=frozenset({"GOV-COURT-ENFORCEMENT"}))
    demoted = assess(soft, pd_now, origination, dpd, flags, model_reasons)
    assert demoted.level.tolist() == got.level.tolist()
    assert demoted.hard.tolist() == [0, 0, 3, 1, 0, 0]


def test_a_borrower_listed_for_its_pd_rise_alone_carries_the_model_reasons() -> None:
    # prepare: PD below every cut-off (yellow from 0.06) but far above its origination PD
    p = policy()
    model_reasons = [["GOV-TAX-PAID", "TP-INVOICE-TOTAL"]]
    # execute
    got = assess(p, np.array([0.055]), np.array([0.001]), np.zeros(1), [[]], model_reasons)
    # assert: the officer reads why the PD rose, not only that it did
    assert got.level.tolist() == [p.sicr_level]
    assert got.reasons[0] == ["IFRS9-SICR", "GOV-TAX-PAID", "TP-INVOICE-TOTAL"]


def test_five_category_classification_from_days_past_due() -> None:
    got = classify(policy(), np.array([0, 1, 90, 91, 180, 181, 360, 361, np.nan]))
    assert got.tolist() == [0, 1, 1, 2, 2, 3, 3, 4, 0]


def test_levels_step_up_at_once_and_down_after_a_steady_spell() -> None:
    level, below = np.array([-1, 1], np.int8), np.zeros(2, np.int16)
    s = step(level, below, np.array([2, 3], np.int8), release_after=3)
    assert s.level.tolist() == [2, 3] and s.changed.tolist() == [True, True]
    for _ in range(2):
        s = step(s.level, s.below, np.array([0, 0], np.int8), release_after=3)
        assert s.level.tolist() == [2, 3]
    held = step(s.level, s.below, np.array([0, 0], np.int8), release_after=3, hold=True)
    assert held.level.tolist() == [2, 3]  # an unhealthy feed: nobody steps down
    s = step(s.level, s.below, np.array([0, 1], np.int8), release_after=3)
    assert s.level.tolist() == [0, 1] and s.changed.tolist() == [True, True]


def test_a_calm_spell_counts_months_not_refreshes() -> None:
    # prepare: a red borrower assessed green at a new month, then refreshed again and again
    # within that month (a holder's new panel, a manual run)
    s = step(np.array([3], np.int8), np.zeros(1, np.int16), np.array([0], np.int8), 3)
    for _ in range(4):
        # execute
        s = step(s.level, s.below, np.array([0], np.int8), 3, fresh=np.array([False]))
        # assert: still one calm month, still red
        assert s.level.tolist() == [3] and s.below.tolist() == [1]
    for _ in range(2):
        s = step(s.level, s.below, np.array([0], np.int8), 3, fresh=True)
    assert s.level.tolist() == [0]  # the third calm month releases it


def test_capacity_drops_the_lowest_model_only_entries_and_keeps_hard_ones() -> None:
    # prepare: ten live borrowers, six listed; two by a hard rule (one with the lowest PD)
    level = np.array([1, 2, 1, 3, 1, 1, 0, 0, 0, 0], np.int8)
    hard = np.array([0, 0, 0, 3, 1, 0, 0, 0, 0, 0], np.int8)
    pd_now = np.array([0.30, 0.50, 0.07, 0.01, 0.02, 0.09, 0.0, 0.0, 0.0, 0.0])
    # execute: room for four (40 %)
    drop = cap(level, hard, pd_now, 0.40)
    # assert: the two lowest-PD model-only entries go; the hard ones stay whatever their PD
    assert np.flatnonzero(drop).tolist() == [2, 5]
    assert not cap(level, hard, pd_now, 0.60).any()
    # only hard entries left: the list may exceed its capacity, never by a model entry
    assert np.flatnonzero(cap(level, hard, pd_now, 0.10)).tolist() == [0, 1, 2, 5]


def test_advance_keeps_the_list_within_capacity_over_refreshes() -> None:
    rng = np.random.default_rng(3)
    n = 1000
    level, below = np.full(n, -1, np.int8), np.zeros(n, np.int16)
    for _ in range(6):
        pd_now = rng.random(n) * 0.4
        assessed = np.searchsorted([0.06, 0.18, 0.35], pd_now, side="right").astype(np.int8)
        s = advance(level, below, assessed, np.zeros(n, np.int8), pd_now,
                    release_after=3, capacity=0.10)  # fmt: skip
        level, below = s.level, s.below
        assert (level >= 1).sum() <= 100


def test_alert_workflow() -> None:
    assert next_state("open", "acknowledge") == "acknowledged"
    assert next_state("acknowledged", "inspection") == "inspection_scheduled"
    assert next_state("open", "limit_freeze") == "limit_frozen"
    assert next_state("reminder_sent", "close") == "closed"
    with pytest.raises(InvalidTransition, match="closed"):
        next_state("closed", "reminder")
    with pytest.raises(InvalidTransition, match="already"):
        next_state("limit_frozen", "acknowledge")
    with pytest.raises(InvalidTransition, match="unknown action"):
        next_state("open", "write_off")


def test_a_bad_policy_names_the_key() -> None:
    with pytest.raises(MonitoringPolicyError, match="levels"):
        parse_monitoring_policy(POLICY_TEXT.replace("yellow_from_pd: 0.06", "yellow_from_pd: 0.9"))
    with pytest.raises(MonitoringPolicyError, match="capacity"):
        parse_monitoring_policy(POLICY_TEXT.replace("capacity: 0.10", "capacity: 1.5"))
    with pytest.raises(MonitoringPolicyError, match="colour"):
        parse_monitoring_policy(POLICY_TEXT + "colour: red\n")
    with pytest.raises(MonitoringPolicyError, match=r"flags\.GOV-X"):
        parse_monitoring_policy(POLICY_TEXT.replace("GOV-TAX-ARREARS: orange", "GOV-X: purple"))
    with pytest.raises(MonitoringPolicyError, match="soft_flags: must list codes named under"):
        parse_monitoring_policy(
            POLICY_TEXT.replace("soft_flags: []", "soft_flags: [GOV-NOT-A-FLAG]")
        )
    soft = parse_monitoring_policy(
        POLICY_TEXT.replace("soft_flags: []", "soft_flags: [GOV-TAX-ARREARS]")
    )
    assert soft.soft_flags == {"GOV-TAX-ARREARS"}
