"""Assemble the holders' snapshot tables and monthly panels from the latent process.

The snapshot columns are aggregates of the panels as of the observation month (month index
``HISTORY_MONTHS - 1``); ``default_12m`` is 1 when the firm defaults in the 12 months after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import pandas as pd

from node.data.synthetic import identity
from node.data.synthetic.config import FOLLOW_UP_MONTHS, HISTORY_MONTHS, SyntheticConfig
from node.data.synthetic.latent import INDUSTRIES, LatentFirms, simulate_firms
from node.data.synthetic.panels import Panels, observe, seen_health

#: GB/T 4754-2017 division numbers (first, last) within each section used by ``INDUSTRIES``.
_DIVISIONS: Final = {
    "C": (13, 43),
    "E": (47, 50),
    "F": (51, 52),
    "G": (53, 60),
    "H": (61, 62),
    "I": (63, 65),
    "L": (71, 72),
    "M": (73, 75),
}
_OBS = HISTORY_MONTHS - 1
_LAST12 = slice(_OBS - 11, _OBS + 1)
_PREV12 = slice(_OBS - 23, _OBS - 11)
_LAST6 = slice(_OBS - 5, _OBS + 1)
_LAST24 = slice(_OBS - 23, _OBS + 1)


@dataclass(frozen=True)
class SyntheticFederation:
    """Every table of one generated federation, in memory.

    ``latent`` is the hidden truth (firm health, default months) for evaluation only; no
    holder would have it.
    """

    config: SyntheticConfig
    government: pd.DataFrame
    bank: pd.DataFrame
    third_party: pd.DataFrame
    government_monthly: pd.DataFrame
    bank_monthly: pd.DataFrame
    third_party_monthly: pd.DataFrame
    bank_defaults: pd.DataFrame
    latent: LatentFirms
    ids: np.ndarray

    def tables(self) -> dict[str, pd.DataFrame]:
        """The holder tables by file stem (everything except the hidden truth)."""
        return {
            "government": self.government,
            "bank": self.bank,
            "third_party": self.third_party,
            "government_monthly": self.government_monthly,
            "bank_monthly": self.bank_monthly,
            "third_party_monthly": self.third_party_monthly,
            "bank_defaults": self.bank_defaults,
        }


def month_starts(observation_month: date) -> list[date]:
    """First day of every panel month; index ``HISTORY_MONTHS - 1`` is the observation month."""
    first = observation_month.year * 12 + observation_month.month - 1 - _OBS
    return [date(m // 12, m % 12 + 1, 1) for m in range(first, first + HISTORY_MONTHS + 12)]


def _growth(cur: np.ndarray, prev: np.ndarray) -> np.ndarray:
    return np.asarray(np.round((cur - prev) / np.maximum(prev, 1.0), 4))


def _iso(days: np.ndarray, anchor: date) -> np.ndarray:
    return np.array([(anchor - timedelta(days=int(d))).isoformat() for d in days], dtype=object)


def _government(
    rng: np.random.Generator, ids: np.ndarray, firms: LatentFirms, p: Panels, obs: date
) -> pd.DataFrame:
    n = firms.n
    division = np.array([c[2:8] for c in ids], dtype=object)
    trade = np.array([row[1] for row in INDUSTRIES], dtype=object)[firms.industry]
    section = np.array([row[0] for row in INDUSTRIES], dtype=object)[firms.industry]
    low, high = (np.array([_DIVISIONS[row[0]][i] for row in INDUSTRIES]) for i in (0, 1))
    division_no = rng.integers(low[firms.industry], high[firms.industry] + 1)
    rep_age_days = rng.integers(25 * 365, 65 * 365, n)
    birth = [obs - timedelta(days=int(d)) for d in rep_age_days]
    tax12, tax_prev = p.tax_paid[:, _LAST12].sum(1), p.tax_paid[:, _PREV12].sum(1)
    kwh12, kwh_prev = p.electricity_kwh[:, _LAST12].sum(1), p.electricity_kwh[:, _PREV12].sum(1)
    return pd.DataFrame(
        {
            "uscc": ids,
            "firm_name": identity.firm_names(rng, identity.city_of(division), trade),
            "legal_rep_name": identity.person_names(rng, n),
            "legal_rep_id_number": identity.resident_ids(rng, division, birth),
            "legal_rep_phone": identity.mobile_numbers(rng, n),
            "address_code": division,
            "registration_date": _iso(np.round(firms.age_years * 365.25), obs),
            "industry_code": section + division_no.astype(str).astype(object),
            "tax_paid_12m": np.round(tax12, 2),
            "tax_growth_12m": _growth(tax12, tax_prev),
            "tax_arrears_months": p.tax_arrears[:, _LAST12].sum(1).astype(np.int64),
            "ss_headcount": p.ss_headcount[:, _OBS],
            "ss_headcount_change_6m": p.ss_headcount[:, _OBS] - p.ss_headcount[:, _OBS - 6],
            "electricity_kwh_12m": np.round(kwh12, 1),
            "electricity_growth_12m": _growth(kwh12, kwh_prev),
            "court_judgments_24m": p.new_court_cases[:, _LAST24].sum(1),
            "court_amount_24m": np.round(p.court_amount[:, _LAST24].sum(1), 2),
        }
    )


def _bank(rng: np.random.Generator, ids: np.ndarray, firms: LatentFirms, p: Panels) -> pd.DataFrame:
    n = firms.n
    loan = np.round(firms.employees * 40_000.0 * np.exp(rng.normal(0.0, 0.7, n)), -3)
    relationship = np.minimum(np.round(firms.age_years * 12), rng.integers(3, 120, n).astype(float))
    overdue12 = p.overdue_days[:, _LAST12]
    return pd.DataFrame(
        {
            "uscc": ids,
            "account_no": identity.account_numbers(rng, n),
            "contact_phone": identity.mobile_numbers(rng, n),
            "loan_amount": loan,
            "loan_term_months": rng.choice(np.array([12, 24, 36]), n),
            "account_inflow_6m": np.round(p.inflow[:, _LAST6].sum(1), 2),
            "account_outflow_6m": np.round(p.outflow[:, _LAST6].sum(1), 2),
            "overdue_count_12m": (overdue12 > 0).sum(1).astype(np.int64),
            "max_overdue_days_12m": overdue12.max(1).astype(np.int64),
            "relationship_months": relationship.astype(np.int64),
            "default_12m": firms.defaulted_12m.astype(np.int64),
        }
    )


def _third_party(
    rng: np.random.Generator, ids: np.ndarray, firms: LatentFirms, p: Panels
) -> pd.DataFrame:
    n = firms.n
    inv12, inv_prev = p.invoice_total[:, _LAST12].sum(1), p.invoice_total[:, _PREV12].sum(1)
    rating = np.clip(np.round(4.2 + 0.25 * firms.quality + rng.normal(0, 0.3, n), 1), 1.0, 5.0)
    h_obs = firms.health[:, _OBS]
    return pd.DataFrame(
        {
            "uscc": ids,
            "invoice_total_12m": np.round(inv12, 2),
            "invoice_count_12m": p.invoice_count[:, _LAST12].sum(1),
            "invoice_growth_12m": _growth(inv12, inv_prev),
            "ecommerce_sales_12m": np.round(p.ecommerce_sales[:, _LAST12].sum(1), 2),
            "ecommerce_rating": np.where(p.online, rating, np.nan),
            "bureau_flags": rng.poisson(np.exp(-2.0 - 0.8 * firms.health[:, _LAST12].mean(1))),
            "bureau_inquiries_6m": rng.poisson(0.6 + 2.5 / (1.0 + np.exp(1.5 * h_obs + 1.0))),
        }
    )


def _monthly(ids: np.ndarray, months: list[date], columns: dict[str, np.ndarray]) -> pd.DataFrame:
    n, m = len(ids), len(months)
    # build each string column once and repeat it by index: converting 36 copies of every
    # id to pandas strings one by one would dominate generation time at 100k firms
    id_col = pd.Series(pd.array(ids, dtype="str")).take(np.repeat(np.arange(n), m))
    month_col = pd.Series(pd.array([d.isoformat() for d in months], dtype="str"))
    frame = {
        "uscc": id_col.reset_index(drop=True),
        "month": month_col.take(np.tile(np.arange(m), n)).reset_index(drop=True),
    }
    frame.update({name: pd.Series(values[:, :m].reshape(-1)) for name, values in columns.items()})
    return pd.DataFrame(frame)


def _shuffled(rng: np.random.Generator, frame: pd.DataFrame) -> pd.DataFrame:
    """Each holder keeps its own row order, so rows never line up across holders by accident."""
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def build_federation(config: SyntheticConfig | None = None) -> SyntheticFederation:
    """Generate one federation in memory; the same ``config`` always gives the same tables.

    Each holder keeps an independent random subset of the firms (``*_coverage``); the bank's
    label and default months exist only for the bank's customers.
    """
    config = config or SyntheticConfig()
    rng = np.random.default_rng(config.seed)
    ids = identity.uscc_codes(rng, config.n_firms)
    firms = simulate_firms(rng, config)
    seen = seen_health(firms, config.panel_signal, np.random.default_rng([config.seed, 1]))
    panels = observe(rng, firms, seen)
    months = month_starts(config.observation_month)[: HISTORY_MONTHS + FOLLOW_UP_MONTHS]

    at_gov = rng.random(firms.n) < config.government_coverage
    at_bank = rng.random(firms.n) < config.bank_coverage
    at_tp = rng.random(firms.n) < config.third_party_coverage
    gov = _government(rng, ids, firms, panels, config.observation_month)
    bank = _bank(rng, ids, firms, panels)
    tp = _third_party(rng, ids, firms, panels)

    gov_m = _monthly(
        ids[at_gov],
        months,
        {
            "tax_paid": panels.tax_paid[at_gov],
            "ss_headcount": panels.ss_headcount[at_gov],
            "electricity_kwh": panels.electricity_kwh[at_gov],
            "new_court_cases": panels.new_court_cases[at_gov],
        },
    )
    bank_m = _monthly(
        ids[at_bank],
        months,
        {
            "inflow": panels.inflow[at_bank],
            "outflow": panels.outflow[at_bank],
            "overdue_days": panels.overdue_days[at_bank],
        },
    )
    tp_m = _monthly(
        ids[at_tp],
        months,
        {
            "invoice_total": panels.invoice_total[at_tp],
            "ecommerce_sales": panels.ecommerce_sales[at_tp],
        },
    )
    defaulted = at_bank & (firms.default_month >= HISTORY_MONTHS)
    defaults = pd.DataFrame(
        {
            "uscc": ids[defaulted],
            "default_month": [months[m].isoformat() for m in firms.default_month[defaulted]],
        }
    )
    return SyntheticFederation(
        config=config,
        government=_shuffled(rng, gov[at_gov]),
        bank=_shuffled(rng, bank[at_bank]),
        third_party=_shuffled(rng, tp[at_tp]),
        government_monthly=gov_m,
        bank_monthly=bank_m,
        third_party_monthly=tp_m,
        bank_defaults=defaults,
        latent=firms,
        ids=ids,
    )
