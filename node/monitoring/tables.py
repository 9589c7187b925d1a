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

from node.monitoring.panel import PanelCube, month_key, month_number
from node.monitoring.signals import compute_signals

ROW_ID = "firm_month"


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
