"""Where these clients find their data: the columns the bank's node handed them (node_config)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from flwr.common import Context


def load_data(context: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train and validation arrays of this bank, standardised, split 80/20 as the examples do."""
    cfg = context.node_config
    frame = pd.read_csv(str(cfg["data-path"]))
    features = str(cfg["features"]).split(",")
    x = frame[features].to_numpy(dtype=np.float32)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)
    y = frame[str(cfg["label"])].to_numpy().astype(np.float32)
    order = np.random.default_rng(int(cfg["partition-id"])).permutation(len(y))
    cut = int(len(y) * (1 - float(cfg["validation-fraction"])))
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]
