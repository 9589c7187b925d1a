"""The generated federation keeps the column contract, overlap, label placement and dynamics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from node.data import uscc
from node.data.synthetic import SyntheticConfig, SyntheticFederation, build_federation
from node.data.synthetic.config import HISTORY_MONTHS
from node.data.synthetic.federation import month_starts

# The contract other parts of fedcredit (masking policies, training jobs) are written against.
CONTRACT = {
    "government": [
        "uscc", "firm_name", "legal_rep_name", "legal_rep_id_number", "legal_rep_phone",
        "address_code", "registration_date", "industry_code", "tax_paid_12m", "tax_growth_12m",
        "tax_arrears_months", "ss_headcount", "ss_headcount_change_6m", "electricity_kwh_12m",
        "electricity_growth_12m", "court_judgments_24m", "court_amount_24m",
    ],
    "bank": [
        "uscc", "account_no", "contact_phone", "loan_amount", "loan_term_months",
        "account_inflow_6m", "account_outflow_6m", "overdue_count_12m", "max_overdue_days_12m",
        "relationship_months", "default_12m",
    ],
    "third_party": [
        "uscc", "invoice_total_12m", "invoice_count_12m", "invoice_growth_12m",
        "ecommerce_sales_12m", "ecommerce_rating", "bureau_flags", "bureau_inquiries_6m",
    ],
    "government_monthly": [
        "uscc", "month", "tax_paid", "ss_headcount", "electricity_kwh", "new_court_cases",
    ],
    "bank_monthly": ["uscc", "month", "inflow", "outflow", "overdue_days"],
    "third_party_monthly": ["uscc", "month", "invoice_total", "ecommerce_sales"],
    "bank_defaults": ["uscc", "default_month"],
}  # fmt: skip


@pytest.fixture(scope="module")
def fed() -> SyntheticFederation:
    return build_federation(SyntheticConfig(n_firms=4_000, seed=7))


def test_columns_follow_the_contract(fed) -> None:
    for name, frame in fed.tables().items():
        assert list(frame.columns) == CONTRACT[name], name


def test_same_seed_same_tables_other_seed_other_tables(fed) -> None:
    # execute
    again = build_federation(SyntheticConfig(n_firms=4_000, seed=7))
    other = build_federation(SyntheticConfig(n_firms=4_000, seed=8))
    # assert
    for name in fed.tables():
        pd.testing.assert_frame_equal(fed.tables()[name], again.tables()[name])
    assert not fed.bank["uscc"].equals(other.bank["uscc"].iloc[: len(fed.bank)])


def test_ids_valid_and_unique_per_holder(fed) -> None:
    for frame in (fed.government, fed.bank, fed.third_party):
        assert frame["uscc"].is_unique
        assert frame["uscc"].map(uscc.is_valid).all()


def test_partial_overlap_and_label_only_at_bank(fed) -> None:
    # prepare
    n = fed.config.n_firms
    gov, bank, tp = (set(f["uscc"]) for f in (fed.government, fed.bank, fed.third_party))
    # assert: coverage near the configured shares, every pair overlapping only partly
    assert abs(len(gov) / n - 0.95) < 0.02
    assert abs(len(bank) / n - 0.60) < 0.03
    assert abs(len(tp) / n - 0.70) < 0.03
    assert bank - gov and bank - tp and gov - bank
    assert 0.35 < len(gov & bank & tp) / n < 0.45
    assert "default_12m" not in fed.government and "default_12m" not in fed.third_party


def test_default_rate_and_default_events(fed) -> None:
    # assert: 5-10 % at the bank, and every default event is a bank customer with label 1
    assert 0.05 <= fed.bank["default_12m"].mean() <= 0.10
    labelled = set(fed.bank.loc[fed.bank["default_12m"] == 1, "uscc"])
    assert set(fed.bank_defaults["uscc"]) == labelled
    months = pd.to_datetime(fed.bank_defaults["default_month"])
    assert (months > pd.Timestamp(fed.config.observation_month)).all()


def test_identity_fields_are_consistent(fed) -> None:
    gov = fed.government
    assert (gov["address_code"] == gov["uscc"].str[2:8]).all()
    assert (gov["legal_rep_id_number"].str[:6] == gov["address_code"]).all()
    assert gov["legal_rep_phone"].str.fullmatch(r"1\d{10}").all()
    assert fed.bank["account_no"].str.fullmatch(r"\d{19}").all()
    assert pd.to_datetime(gov["registration_date"], format="%Y-%m-%d").notna().all()
    # GB/T 4754: a section letter and a division number belonging to that section
    manufacturing = gov.loc[gov["industry_code"].str[0] == "C", "industry_code"].str[1:]
    assert manufacturing.astype(int).between(13, 43).all() and len(manufacturing) > 0


def test_snapshot_is_the_panel_aggregate_at_the_observation_month(fed) -> None:
    # prepare: the 12 and 6 months up to and including the observation month
    months = [d.isoformat() for d in month_starts(fed.config.observation_month)]
    last12, last6 = (
        months[HISTORY_MONTHS - 12 : HISTORY_MONTHS],
        months[HISTORY_MONTHS - 6 : HISTORY_MONTHS],
    )
    gm, bm = fed.government_monthly, fed.bank_monthly

    # execute
    tax = gm[gm["month"].isin(last12)].groupby("uscc")["tax_paid"].sum()
    inflow = bm[bm["month"].isin(last6)].groupby("uscc")["inflow"].sum()
    overdue = bm[bm["month"].isin(last12)].groupby("uscc")["overdue_days"].max()

    # assert
    gov = fed.government.set_index("uscc")
    bank = fed.bank.set_index("uscc")
    np.testing.assert_allclose(gov["tax_paid_12m"], tax.loc[gov.index], rtol=1e-6, atol=0.05)
    np.testing.assert_allclose(
        bank["account_inflow_6m"], inflow.loc[bank.index], rtol=1e-6, atol=0.05
    )
    assert (bank["max_overdue_days_12m"] == overdue.loc[bank.index]).all()


def test_firms_deteriorate_before_default(fed) -> None:
    # prepare: government panel of bank customers who default, by months before the default
    events = fed.bank_defaults.assign(d=pd.to_datetime(fed.bank_defaults["default_month"]))
    panel = fed.government_monthly.merge(events, on="uscc")
    lag = pd.to_datetime(panel["month"]).dt.to_period("M") - panel["d"].dt.to_period("M")
    panel["lag"] = lag.map(lambda p: p.n)

    # execute: tax paid 1-3 months before default against 10-12 months before, per firm
    near = panel[panel["lag"].between(-3, -1)].groupby("uscc")["tax_paid"].mean()
    far = panel[panel["lag"].between(-12, -10)].groupby("uscc")["tax_paid"].mean()
    both = near.index.intersection(far.index)
    ratio = (near[both] + 1.0) / (far[both] + 1.0)

    # assert: most defaulters pay clearly less tax just before defaulting
    assert len(both) > 50
    assert ratio.median() < 0.8


def test_warning_signs_separate_defaulters(fed) -> None:
    gov = fed.government.merge(fed.bank[["uscc", "default_12m"]], on="uscc")
    by_label = gov.groupby("default_12m")[["tax_growth_12m", "tax_arrears_months"]].mean()
    assert by_label.loc[1, "tax_growth_12m"] < by_label.loc[0, "tax_growth_12m"]
    assert by_label.loc[1, "tax_arrears_months"] > by_label.loc[0, "tax_arrears_months"]
