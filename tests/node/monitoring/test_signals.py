"""Signals from a panel: windows, changes, streaks, counts, days; nothing after the month."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from node.monitoring.exceptions import PanelError
from node.monitoring.panel import PanelCube
from node.monitoring.signals import compute_signals, panel_figures, signal_names, with_ratios
from node.runtime.config import ConfigError
from tests.node.monitoring.settings import monitoring_settings

CODE_A = "91110000MA0000000A"
CODE_B = "91110000MA0000000B"


def _panel(values_a: list[float], values_b: list[float]) -> PanelCube:
    months = [f"2025-{m:02d}-01" for m in range(1, 13)] + [f"2026-{m:02d}-01" for m in range(1, 7)]
    rows = []
    for code, values in ((CODE_A, values_a), (CODE_B, values_b)):
        for month, v in zip(months, values, strict=False):
            rows.append({"uscc": code, "month": month, "tax": v, "cases": 1.0 if v == 0 else 0.0})
    return PanelCube.from_frame(pd.DataFrame(rows), "uscc", "month", ["tax", "cases"])


def test_a_declining_firm_shows_negative_changes_a_streak_and_zero_months() -> None:
    # prepare: A steady at 100, then falls four months, pays nothing, then a little
    steady = [100.0] * 18
    falling = [100.0] * 12 + [80.0, 60.0, 40.0, 0.0, 0.0, 10.0]
    cube = _panel(falling, steady)
    # execute
    got = compute_signals(cube, [0, 1, -1], "2026-06", {"tax": "amount", "cases": "count"})
    # assert
    assert list(got.columns) == signal_names({"tax": "amount", "cases": "count"})
    assert got.loc[0, "tax__chg3m"] < -2 and got.loc[1, "tax__chg3m"] == pytest.approx(0.0)
    assert got.loc[0, "tax__down_streak"] == 0.0  # the month itself rose (0 -> 10)
    earlier = compute_signals(cube, [0], "2026-04", {"tax": "amount"})
    assert earlier.loc[0, "tax__down_streak"] == 4.0  # 100 -> 80 -> 60 -> 40 -> 0
    assert got.loc[0, "tax__zero3m"] == 2.0 and got.loc[1, "tax__zero3m"] == 0.0
    assert got.loc[0, "cases__sum3m"] == 2.0
    assert got.iloc[2].isna().all()  # a firm the panel does not hold


def test_no_month_after_the_refresh_month_is_read() -> None:
    # prepare: two panels equal up to 2026-03 and different afterwards
    base = [100.0] * 15
    cube_1 = _panel([*base, 5.0, 5.0, 5.0], [100.0] * 18)
    cube_2 = _panel([*base, 500.0, 500.0, 500.0], [100.0] * 18)
    # execute
    kinds = {"tax": "amount"}
    one = compute_signals(cube_1, [0], "2026-03", kinds)
    two = compute_signals(cube_2, [0], "2026-03", kinds)
    # assert
    pd.testing.assert_frame_equal(one, two)


def test_days_signals_and_months_beyond_the_panel() -> None:
    frame = pd.DataFrame(
        {"uscc": [CODE_A] * 3, "month": ["2026-01", "2026-02", "2026-03"], "dpd": [0, 45, 10]}
    )
    cube = PanelCube.from_frame(frame, "uscc", "month", ["dpd"])
    got = compute_signals(cube, [0], "2026-03", {"dpd": "days"})
    assert got.loc[0, "dpd__now"] == 10 and got.loc[0, "dpd__max3m"] == 45
    assert got.loc[0, "dpd__months6m"] == 2
    later = compute_signals(cube, [0], "2026-05", {"dpd": "days"})
    assert np.isnan(later.loc[0, "dpd__now"])  # a stale feed has no current month


def test_bad_panels_are_refused_with_the_reason() -> None:
    frame = pd.DataFrame({"uscc": [CODE_A, CODE_A], "month": ["2026-01", "2026-01"], "x": [1, 2]})
    with pytest.raises(PanelError, match="two records in one month"):
        PanelCube.from_frame(frame, "uscc", "month", ["x"])
    with pytest.raises(PanelError, match="not a month"):
        PanelCube.from_frame(frame.assign(month="soon"), "uscc", "month", ["x"])
    ok = PanelCube.from_frame(frame.iloc[:1], "uscc", "month", ["x"])
    with pytest.raises(PanelError, match="before this panel"):
        compute_signals(ok, [0], "2025-01", {"x": "amount"})
    with pytest.raises(PanelError, match="kind must be"):
        compute_signals(ok, [0], "2026-01", {"x": "weird"})


def test_trend_peak_and_year_signals_of_a_steady_decline() -> None:
    # prepare: A falls by 10 % a month for the last 12 months; B is flat
    falling = [100.0] * 6 + [100.0 * 0.9**k for k in range(1, 13)]
    cube = _panel(falling, [50.0] * 18)
    # execute
    got = compute_signals(cube, [0, 1], "2026-06", {"tax": "amount"})
    # assert: the trend per month of log1p(tax), the way below the best quarter, no zeros
    logs = np.log1p(np.array(falling[-12:]))
    assert got.loc[0, "tax__slope12m"] == pytest.approx(np.polyfit(np.arange(12), logs, 1)[0])
    assert got.loc[0, "tax__slope6m"] < -0.09 and got.loc[1, "tax__slope6m"] == pytest.approx(0.0)
    assert got.loc[0, "tax__dd12m"] == pytest.approx(logs[-3:].mean() - logs[:3].mean())
    assert got.loc[1, "tax__dd12m"] == pytest.approx(0.0)
    assert got.loc[0, "tax__mean12m"] == pytest.approx(logs.mean())
    assert got.loc[0, "tax__zero12m"] == 0.0


def test_ratio_signals_are_free_of_size_and_missing_where_the_ratio_is_undefined() -> None:
    # prepare: A and B pay the same tax per employee; B is ten times A's size; C has no staff
    months = [f"2025-{m:02d}-01" for m in range(1, 13)]
    rows = [
        {"uscc": code, "month": m, "tax": tax, "staff": staff}
        for code, tax, staff in ((CODE_A, 1000.0, 10.0), (CODE_B, 10000.0, 100.0),
                                 ("91110000MA0000000C", 500.0, 0.0))
        for m in months
    ]  # fmt: skip
    cube = PanelCube.from_frame(pd.DataFrame(rows), "uscc", "month", ["tax", "staff"])
    kinds = {"tax": "amount", "tax_per_staff": "ratio"}
    # execute
    got = compute_signals(with_ratios(cube, {"tax_per_staff": ("tax", "staff")}), [0, 1, 2],
                          "2025-12", kinds)  # fmt: skip
    # assert
    assert list(got.columns) == signal_names(kinds)
    assert got.loc[0, "tax_per_staff__lvl"] == pytest.approx(np.log(100.0))
    assert got.loc[1, "tax_per_staff__lvl"] == pytest.approx(got.loc[0, "tax_per_staff__lvl"])
    assert got.loc[0, "tax__lvl"] != pytest.approx(got.loc[1, "tax__lvl"])
    assert np.isnan(got.loc[2, "tax_per_staff__mean12m"])
    assert panel_figures("tax_per_staff__lvl", {"tax_per_staff": ("tax", "staff")}) == (
        "tax",
        "staff",
    )
    with pytest.raises(PanelError, match="no figure 'power'"):
        with_ratios(cube, {"x": ("tax", "power")})


def test_ratios_in_the_config_and_their_mistakes() -> None:
    config = monitoring_settings({"panel": "p", "ratios": ["tax_paid/ss_headcount"]})
    assert config.ratios == {"tax_paid_per_ss_headcount": ("tax_paid", "ss_headcount")}
    for bad in (["tax_paid"], ["a/a"], "tax_paid/ss_headcount"):
        with pytest.raises(ConfigError, match=r"monitoring\.ratios"):
            monitoring_settings({"panel": "p", "ratios": bad})
