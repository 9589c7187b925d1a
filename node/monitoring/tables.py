"""Training tables of the federated early-warning model, one per party, from its own panel.

The model is an ordinary vertical job (``vertical_lr``) over tables every party derives
locally: one row per borrower and cutoff month, its signals as of that month, identified by
``<code>@<YYYY-MM>`` (aligned by PSI with ``id_format: text``). The bank's table also holds
the label, ``default_<h>m``: the borrower defaults within the ``h`` months after the cutoff;
borrowers that already defaulted by the cutoff have no row there (nothing left to warn of),
so the alignment drops them everywhere. A deployed part then scores the same signals
computed at each refresh month.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from node.jobs.summaries import ROW_ID
from node.monitoring.panel import PanelCube, month_key, month_number
from node.monitoring.signals import compute_signals


def signal_table(
    cube: PanelCube, codes: Sequence[str], months: Sequence[str], kinds: Mapping[str, str]
) -> pd.DataFrame:
    """Signals of ``codes`` (the firms this party holds) at each cutoff month, stacked."""
    index = {c: i for i, c in enumerate(cube.codes)}
    rows = np.array([index.get(c, -1) for c in codes], np.int64)
    held = rows >= 0
    parts = []
    for month in months:
        key = month_key(month)
        frame = compute_signals(cube, rows[held], key, kinds)
        frame.insert(0, ROW_ID, [f"{c}@{key}" for c, h in zip(codes, held, strict=True) if h])
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def label_column(horizon: int) -> str:
    return f"default_{horizon}m"


def add_labels(table: pd.DataFrame, default_month: Mapping[str, str], horizon: int) -> pd.DataFrame:
    """The bank's table with ``default_<horizon>m``, without borrowers already in default."""
    firm_month = table[ROW_ID].str.split("@", n=1, expand=True)
    cutoff = firm_month[1].map(month_number).to_numpy()
    defaulted = (
        firm_month[0].map(lambda c: month_number(default_month[c]) if c in default_month else -1)
    ).to_numpy()
    alive = (defaulted < 0) | (defaulted > cutoff)
    label = (defaulted > cutoff) & (defaulted <= cutoff + horizon)
    out = table.copy()
    out[label_column(horizon)] = label.astype(np.int64)
    return out[alive].reset_index(drop=True)


def table_schema(name: str, table: pd.DataFrame, label: str | None) -> dict[str, object]:
    """The dataset schema of a training table (written beside it as ``<name>.schema.yaml``):
    the id holds a firm's code (C3); every signal is an optional C2 figure (NaN where its
    window holds no record); the bank's label is required."""
    fields: list[dict[str, object]] = [
        {"name": ROW_ID, "type": "str", "class": "C3", "required": True,
         "description": "firm code @ cutoff month (YYYY-MM)"},
    ]  # fmt: skip
    for column in table.columns[1:]:
        is_label = column == label
        fields.append(
            {"name": column, "type": "int" if is_label else "float", "class": "C2",
             "required": is_label,
             "description": "defaults within the horizon (label)" if is_label else "signal"}
        )  # fmt: skip
    return {
        "version": 1,
        "name": name,
        "id_column": ROW_ID,
        "id_is_uscc": False,
        "label_column": label,
        "key_columns": [],
        "extra_columns": "refuse",
        "fields": fields,
    }


def month_range(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` (``YYYY-MM``), both included."""
    lo, hi = month_number(first), month_number(last)
    return [month_key(f"{m // 12:04d}-{m % 12 + 1:02d}") for m in range(lo, hi + 1)]
