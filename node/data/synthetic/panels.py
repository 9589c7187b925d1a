"""Monthly observations each holder records, derived from the latent firm health.

The holders see health through different windows: the government's tax, headcount and power
figures track it closely (they cover the whole firm); the third parties' invoices and sales
track revenue; the bank sees only the share of the firm's money that runs through its account,
noisily, and overdue days only once a firm is already in deep trouble. That asymmetry is why
the bank alone predicts default worse than all holders together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from node.data.synthetic.latent import INDUSTRIES, LatentFirms


@dataclass(frozen=True)
class Panels:
    """Monthly values, each an ``(n, months)`` array aligned with ``LatentFirms``."""

    tax_paid: np.ndarray
    tax_arrears: np.ndarray  # bool: tax due but unpaid that month
    ss_headcount: np.ndarray
    electricity_kwh: np.ndarray
    new_court_cases: np.ndarray
    court_amount: np.ndarray
    inflow: np.ndarray
    outflow: np.ndarray
    overdue_days: np.ndarray
    invoice_total: np.ndarray
    invoice_count: np.ndarray
    ecommerce_sales: np.ndarray
    online: np.ndarray  # (n,) bool: the firm sells on an e-commerce platform


def _ema(x: np.ndarray, alpha: float) -> np.ndarray:
    out = np.empty_like(x)
    out[:, 0] = x[:, 0]
    for t in range(1, x.shape[1]):
        out[:, t] = alpha * x[:, t] + (1.0 - alpha) * out[:, t - 1]
    return out


def seen_health(firms: LatentFirms, signal: float, decoys: np.random.Generator) -> np.ndarray:
    """The health the holders' figures follow: the firm's own, or at ``signal < 1`` a blend
    with another firm's health path (same spread, its own declines), so panels warn less
    reliably. ``decoys`` is a generator of its own, so the default draws stay as they are."""
    h = firms.health
    if signal >= 1.0:
        return h
    other = h[decoys.permutation(h.shape[0])]
    blended: np.ndarray = signal * h + np.sqrt(1.0 - signal**2) * other
    return blended


def observe(rng: np.random.Generator, firms: LatentFirms, seen: np.ndarray | None = None) -> Panels:
    """Draw every holder's monthly records for all firms (coverage is applied later).

    ``seen`` is the health the figures follow (``seen_health``; the true health by default);
    overdue days always follow the true health: a firm in deep trouble pays late whatever
    the other panels show.
    """
    true_h = firms.health
    h = true_h if seen is None else seen
    n, months = int(h.shape[0]), int(h.shape[1])
    ind = firms.industry
    rev_per_emp = np.array([row[3] for row in INDUSTRIES])[ind]
    kwh_per_emp = np.array([row[4] for row in INDUSTRIES])[ind]
    season = 0.08 * np.sin(2 * np.pi * (np.arange(months) % 12) / 12.0)[None, :]
    slow = _ema(h, 0.25)  # headcount and power react to health with a lag

    emp = firms.employees[:, None]
    revenue = emp * rev_per_emp[:, None] * np.exp(0.35 * h + season + rng.normal(0, 0.12, h.shape))

    # government: tax (with arrears when health is very low), social security, power, courts
    arrears = (h + rng.normal(0.0, 0.6, h.shape)) < -2.2
    tax = np.where(arrears, 0.0, 0.03 * revenue * np.exp(rng.normal(0.0, 0.15, h.shape)))
    headcount = np.maximum(1.0, np.round(emp * np.exp(0.2 * slow + rng.normal(0, 0.03, h.shape))))
    power = emp * kwh_per_emp[:, None] * np.exp(0.3 * slow + season + rng.normal(0, 0.12, h.shape))
    court_rate = 0.004 * np.exp(-0.9 * h)
    cases = rng.poisson(np.minimum(court_rate, 2.0))
    court_amount = cases * emp * 8_000.0 * np.exp(rng.normal(0.0, 0.8, h.shape))

    # bank: the share of the firm's money that passes through this bank, noisy month to month
    share = np.exp(rng.uniform(np.log(0.05), 0.0, n))[:, None]  # 5 % to all of it
    inflow = share * revenue * np.exp(rng.normal(0.0, 0.6, h.shape))
    outflow = inflow * np.exp(0.01 - 0.015 * h + rng.normal(0.0, 0.15, h.shape))
    late = (true_h + rng.normal(0.0, 0.5, h.shape)) < -3.1
    overdue = np.where(late, rng.integers(1, 90, h.shape), 0)

    # third parties: invoices (the tax authority's e-invoice platform) and online sales
    invoice_total = (
        revenue * rng.uniform(0.6, 1.0, n)[:, None] * np.exp(rng.normal(0, 0.08, h.shape))
    )
    ticket = rng.uniform(2_000.0, 20_000.0, n)[:, None]
    invoice_count = np.maximum(0, np.round(invoice_total / ticket))
    online = rng.random(n) < 0.4
    online_share = rng.uniform(0.05, 0.5, n)[:, None]
    sales = revenue * online_share * np.exp(0.1 * h + rng.normal(0, 0.2, h.shape))
    sales = np.where(online[:, None], sales, 0.0)
    return Panels(
        tax_paid=np.round(tax, 2),
        tax_arrears=arrears,
        ss_headcount=headcount.astype(np.int64),
        electricity_kwh=np.round(power, 1),
        new_court_cases=cases.astype(np.int64),
        court_amount=np.round(court_amount, 2),
        inflow=np.round(inflow, 2),
        outflow=np.round(outflow, 2),
        overdue_days=overdue.astype(np.int64),
        invoice_total=np.round(invoice_total, 2),
        invoice_count=invoice_count.astype(np.int64),
        ecommerce_sales=np.round(sales, 2),
        online=online,
    )
