"""Early-warning training tables: built from a panel, labelled at the bank, and classified
field by field in the shipped policies."""

from __future__ import annotations

from pathlib import Path

from coordinator.local.monitoring import PANELS, SECTIONS
from node.data.synthetic import SyntheticConfig, build_federation
from node.monitoring.config import monitored_panel
from node.monitoring.panel import PanelCube
from node.monitoring.tables import add_labels, month_range, signal_table
from node.policy import load_policy
from tests.node.monitoring.settings import monitoring_settings

POLICIES = Path(__file__).resolve().parents[3] / "policies"


def test_each_shipped_policy_classifies_every_column_of_its_nodes_table() -> None:
    # prepare: a small federation's panels, the figures' kinds as the nodes configure them
    fed = build_federation(SyntheticConfig(n_firms=60, seed=3))
    policy = load_policy(POLICIES)
    defaults = dict(zip(fed.bank_defaults["uscc"], fed.bank_defaults["default_month"], strict=True))
    for node, panel in PANELS.items():
        frame = getattr(fed, panel)
        config = monitoring_settings({"panel": panel, **SECTIONS[node]})
        cube, kinds = monitored_panel(frame, "uscc", {"uscc", "month"}, config)
        # execute
        table = signal_table(cube, list(cube.codes), month_range("2025-10", "2025-12"), kinds)
        if node == "bank":
            table = add_labels(table, defaults, 6)
        # assert: one row per firm and month, and the policy names exactly these columns
        assert len(table) <= 3 * len(cube.codes)
        assert list(table.columns) == list(policy.datasets[f"{node}_ew"].fields), node


def test_labels_mark_defaults_within_the_horizon_and_drop_the_defaulted() -> None:
    fed = build_federation(SyntheticConfig(n_firms=40, seed=5))
    cube = PanelCube.from_frame(fed.bank_monthly, "uscc", "month", ["inflow"])
    code = cube.codes[0]
    table = signal_table(cube, [code], month_range("2026-01", "2026-06"), {"inflow": "amount"})
    labelled = add_labels(table, {code: "2026-05-01"}, 3)
    # cutoffs 01..04 stay (05 and later: already defaulted); 02, 03, 04 see it within 3 months
    assert labelled["firm_month"].str.split("@").str[1].tolist() == month_range(
        "2026-01", "2026-04"
    )
    assert labelled["default_3m"].tolist() == [0, 1, 1, 1]
