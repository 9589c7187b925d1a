"""The synthetic federation as it monitors borrowers: each node's live monthly panel and
``monitoring:`` section, and the early-warning table each node writes from its own panel.

A node serves its panel as published through some month (``<root>/live/<panel>.parquet``,
or ``.csv``, replaced atomically, as a data feed would be; the node re-reads it when it
changes). Its
section names the panel, the kinds of its figures, the ratios it watches and the coded flags
it publishes (docs/early-warning.md). The bank's also names its monitoring policy, its book
(the ``bank`` dataset), its alert sinks and how often its scheduler checks whether a refresh
is due (0: only when asked). The early-warning model's training tables are written by each
node, offline, with ``fedcredit monitor table`` (the bank labels its rows from its record of
defaults); the federation then serves each as ``<node>_ew``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal

import pandas as pd

from coordinator.local.federation import POLICY_DIR, LocalFederation, PartySpec
from node.cli.monitor import table as monitor_table

BANK: Final = "bank"
PANELS: Final = {"government": "government_monthly", "bank": "bank_monthly",
                 "third_party": "third_party_monthly"}  # fmt: skip
SECTIONS: Final[dict[str, dict[str, Any]]] = {
    "government": {
        "figures": {"new_court_cases": "count"},
        "ratios": ["tax_paid/ss_headcount", "electricity_kwh/ss_headcount",
                   "tax_paid/electricity_kwh"],
        "flags": {"GOV-TAX-ARREARS": "tax_paid__zero3m >= 2",
                  "GOV-COURT-ENFORCEMENT": "new_court_cases__sum3m >= 2"},
    },
    "third_party": {"ratios": ["ecommerce_sales/invoice_total"],
                    "flags": {"TP-SALES-COLLAPSE": "invoice_total__chg3m <= -0.7"}},
    "bank": {"figures": {"overdue_days": "days"}, "ratios": ["outflow/inflow"], "book": "bank"},
}  # fmt: skip
DEFAULTS: Final = "bank_defaults"  # the bank's record of default months (its table's label)
HORIZON: Final = 6  # the label: defaults within this many months after the cut-off
SHIPPED_POLICY: Final = POLICY_DIR / "monitoring" / "sme-watch.yaml"
Format = Literal["csv", "parquet"]


def table_name(node_id: str) -> str:
    """The dataset name of a node's early-warning table."""
    return f"{node_id}_ew"


@dataclass(frozen=True)
class BankWatch:
    """The bank's monitoring settings: policy file, alert sinks (``{file: PATH}`` or
    ``{webhook: URL}``), seconds between its scheduler's checks (0: refresh on request)."""

    policy: Path = SHIPPED_POLICY
    sinks: Sequence[Mapping[str, object]] = field(default_factory=list)
    check_every_s: float = 0.0


def watching(
    parties: Sequence[PartySpec], root: Path, bank: BankWatch, fmt: Format = "parquet"
) -> list[PartySpec]:
    """``parties`` serving their live panels (``<root>/live/<panel>.<fmt>``, see ``publish``)
    with their monitoring sections, the bank with its policy, sinks and record of defaults;
    schemas and defaults from ``<root>/data`` as the synthetic generator writes them."""
    data = root / "data"
    out = []
    for p in parties:
        panel = PANELS[p.node_id]
        live = root / "live" / f"{panel}.{fmt}"
        datasets = {**p.datasets, panel: (live, data / f"{panel}.schema.yaml", None)}
        section: dict[str, Any] = {"panel": panel, **SECTIONS[p.node_id]}
        if p.node_id == BANK:
            datasets[DEFAULTS] = (data / f"{DEFAULTS}.csv", data / f"{DEFAULTS}.schema.yaml", None)
            section.update(
                policy=str(bank.policy.resolve()),
                sinks=[dict(s) for s in bank.sinks],
                check_every_s=bank.check_every_s,
            )
        out.append(replace(p, datasets=datasets, monitoring=section))
    return out


def live_panel(fed: LocalFederation, node_id: str) -> Path:
    """The file ``node_id`` serves its monthly panel from."""
    party = next(p for p in fed.parties if p.node_id == node_id)
    return party.datasets[PANELS[node_id]][0]


def full_panel(fed: LocalFederation, node_id: str) -> pd.DataFrame:
    """The node's whole generated panel (every month the generator wrote)."""
    return pd.read_csv(fed.root / "data" / f"{PANELS[node_id]}.csv", dtype={"uscc": str})


def publish(
    fed: LocalFederation, node_id: str, through: str, frame: pd.DataFrame | None = None
) -> None:
    """Replace the node's live panel by its months up to ``through`` (``YYYY-MM``) of
    ``frame`` (default: its whole generated panel), atomically, in the live file's format."""
    full = frame if frame is not None else full_panel(fed, node_id)
    live = live_panel(fed, node_id)
    live.parent.mkdir(parents=True, exist_ok=True)
    tmp = live.with_name(f".{live.name}.tmp")
    shown = full[full["month"].astype(str) <= f"{through}-01"]
    if live.suffix == ".parquet":
        shown.to_parquet(tmp, index=False)
    else:
        shown.to_csv(tmp, index=False)
    os.replace(tmp, live)


def write_tables(fed: LocalFederation, first: str, last: str, fmt: Format = "parquet") -> None:
    """Each monitoring node writes its early-warning table for the cut-off months ``first`` to
    ``last`` from its live panel, offline, into ``<root>/tables``; the federation serves
    each from the nodes' next start."""
    out = fed.root / "tables"
    for p in [p for p in fed.parties if p.monitoring]:
        config = fed.write_node_config(p.node_id)
        monitor_table(config=config, first=first, last=last, out=out, name="",
                      defaults=DEFAULTS if p.node_id == BANK else "", horizon=HORIZON,
                      fmt=fmt)  # fmt: skip
        name = table_name(p.node_id)
        fed.add_dataset(p.node_id, name, out / f"{name}.{fmt}", out / f"{name}.schema.yaml")
