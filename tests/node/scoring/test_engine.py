"""The decision engine: cut-offs, gaps, knock-outs, limits and reasons, row by row and batched."""

from __future__ import annotations

import math

import numpy as np
import pytest

from node.scoring.engine import MAX_REASONS, HolderAnswer, HolderReplies, decide, decide_many
from tests.node.scoring.parts import bank_part, policy


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _ok(party: str, score: float, reasons=(), flags=()) -> HolderAnswer:  # type: ignore[no-untyped-def]
    return HolderAnswer(party, "ok", "sme-pd@1", score, tuple(reasons), tuple(flags))


def _decide_at_pd(pd_value: float, answers=(), amount: float = 400_000.0):  # type: ignore[no-untyped-def]
    """A decision whose total log-odds puts the PD at ``pd_value`` (bank part all zero)."""
    part = bank_part(intercept=_logit(pd_value))
    return decide(
        policy(),
        head=part,
        bank_contributions={"a": 0.0, "b": 0.0, "c": 0.0},
        answers=list(answers),
        amount=amount,
        bank_version="sme-pd@1",
    )


@pytest.mark.parametrize(
    ("pd_value", "decision", "band"),
    [(0.01, "approve", "A"), (0.05, "approve", "B"), (0.06, "refer", "C"), (0.19, "refer", "C"),
     (0.20, "decline", "D"), (0.7, "decline", "D")],
)  # fmt: skip
def test_cutoffs_and_bands_follow_the_policy(pd_value: float, decision: str, band: str) -> None:
    # execute
    outcome = _decide_at_pd(pd_value)
    # assert: approve below 6 %, decline from 20 %, refer between; the first band that fits
    assert outcome.decision == decision
    assert outcome.price_band == band
    assert outcome.pd == pytest.approx(pd_value)


def test_suggested_limit_is_capped_by_band_exposure_and_amount() -> None:
    # prepare: band A allows 3,000,000; the exposure limit is 5,000,000
    # execute / assert
    assert _decide_at_pd(0.01, amount=10_000_000).suggested_limit == 3_000_000
    assert _decide_at_pd(0.01, amount=200_000).suggested_limit == 200_000
    assert _decide_at_pd(0.5, amount=200_000).suggested_limit == 0.0  # declined
    low_exposure = decide(
        policy(exposure_limit="1000000"),
        head=bank_part(intercept=_logit(0.01)),
        bank_contributions={"a": 0.0, "b": 0.0, "c": 0.0},
        answers=[],
        amount=9_000_000,
        bank_version="sme-pd@1",
    )
    assert low_exposure.suggested_limit == 1_000_000


def test_holder_scores_add_to_the_log_odds_and_gaps_state_the_action() -> None:
    # prepare: government answers +1.0; the third party has no record (neutral)
    answers = [_ok("government", 1.0), HolderAnswer("third_party", "no_record")]
    # execute
    outcome = _decide_at_pd(0.02, answers)
    # assert
    assert outcome.pd == pytest.approx(_sigmoid(_logit(0.02) + 1.0))
    assert outcome.gaps == (("third_party", "no_record", "neutral"),)
    assert outcome.versions == {"bank": "sme-pd@1", "government": "sme-pd@1"}


@pytest.mark.parametrize("gap", ["offline", "deadline", "unauthorized", "refused"])
def test_a_gap_that_refers_overrides_an_approval(gap: str) -> None:
    outcome = _decide_at_pd(0.01, [HolderAnswer("government", gap)])
    assert outcome.decision == "refer"
    assert outcome.gaps == (("government", gap, "refer"),)


def test_knockouts_raise_the_decision_to_their_action() -> None:
    # prepare: court enforcement declines, tax arrears refers; an unknown flag does nothing
    court = [_ok("government", 0.0, flags=("GOV-COURT-ENFORCEMENT",))]
    arrears = [_ok("government", 0.0, flags=("GOV-TAX-ARREARS", "GOV-UNLISTED"))]
    # execute
    declined = _decide_at_pd(0.01, court)
    referred = _decide_at_pd(0.01, arrears)
    # assert
    assert declined.decision == "decline" and declined.suggested_limit == 0.0
    assert declined.knockouts == (("GOV-COURT-ENFORCEMENT", "decline"),)
    assert referred.decision == "refer"
    assert referred.knockouts == (("GOV-TAX-ARREARS", "refer"),)


def test_reasons_are_at_most_four_adverse_ranked_by_contribution() -> None:
    # prepare: bank features a=+0.4, b=-0.3 (favourable), c=+0.1; holders' coded categories
    part = bank_part()
    answers = [
        _ok("government", 0.9, reasons=[("GOV-TAX", 0.6), ("GOV-COURT", 0.3)]),
        _ok("third_party", 0.2, reasons=[("TP-INVOICE", 0.2)]),
    ]
    # execute
    outcome = decide(
        policy(),
        head=part,
        bank_contributions={"a": 0.4, "b": -0.3, "c": 0.1},
        answers=answers,
        amount=1.0,
        bank_version="sme-pd@1",
    )
    # assert: only adverse, largest first, at most four; partners by code, never by value
    assert [c for c, _ in outcome.reasons] == ["GOV-TAX", "a", "GOV-COURT", "TP-INVOICE"]
    assert len(outcome.reasons) == MAX_REASONS
    assert all(v > 0 for _, v in outcome.reasons)


def test_reason_ties_break_by_code() -> None:
    outcome = decide(
        policy(),
        head=bank_part(),
        bank_contributions={"c": 0.5, "a": 0.5, "b": 0.5},
        answers=[],
        amount=1.0,
        bank_version="v",
    )
    assert [c for c, _ in outcome.reasons] == ["a", "b", "c"]


def test_a_batch_decides_each_row_as_the_single_path_does() -> None:
    # prepare: 300 firms with random contributions, holder scores, gaps, reasons and flags
    rng = np.random.default_rng(3)
    n = 300
    part = bank_part()
    contributions = rng.normal(0, 0.7, (n, 3))
    statuses = rng.choice(["ok", "ok", "ok", "no_record", "unauthorized"], n)
    gov = [
        HolderAnswer(
            "government", "ok", "sme-pd@2", float(rng.normal()),
            (("GOV-TAX", float(rng.normal())), ("GOV-COURT", float(rng.normal()))),
            ("GOV-TAX-ARREARS",) if rng.random() < 0.1 else (),
        )
        if s == "ok" else HolderAnswer("government", str(s), "sme-pd@2")
        for s in statuses
    ]  # fmt: skip
    amounts = rng.uniform(0, 6_000_000, n)
    rules = policy()  # parsed once: the comparison below is the costly part
    # execute
    batch = decide_many(
        rules,
        head=part,
        names=("a", "b", "c"),
        contributions=contributions,
        replies=[HolderReplies.of(gov), HolderReplies.gap("third_party", "offline", n)],
        amounts=amounts,
        bank_version="sme-pd@1",
    )
    # assert: the reference is the one-row path, firm by firm
    for i in range(n):
        single = decide(
            rules,
            head=part,
            bank_contributions=dict(zip("abc", contributions[i], strict=True)),
            answers=[gov[i], HolderAnswer("third_party", "offline")],
            amount=float(amounts[i]),
            bank_version="sme-pd@1",
        )
        assert batch[i] == single, i
