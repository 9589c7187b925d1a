"""A feature holder (government data center, third party): encrypts its partial predictions."""

from __future__ import annotations

from concurrent.futures import Executor

import pandas as pd

from node.jobs.hooks import JobHooks
from node.training.vertical.party import DataParty
from node.training.vertical.results import FeatureHolderResult
from node.training.vertical.spec import VerticalSpec
from node.transport.channel import PartyChannel


def run_feature_holder(
    channel: PartyChannel,
    hooks: JobHooks,
    spec: VerticalSpec,
    frame: pd.DataFrame,
    pool: Executor | None = None,
) -> FeatureHolderResult:
    """Run a feature holder's side; ``frame`` holds the PSI-aligned rows in the shared order.

    Raises
    ------
    DataMismatch
        A column is missing or invalid, or the row count differs from the label holder's.
    PartyFailed
        Another party left or stayed silent; the error names it.
    MalformedMessage
        Another party sent something that failed validation.
    """
    result = DataParty(channel, hooks, spec, frame, pool, label=False).run()
    assert isinstance(result, FeatureHolderResult)
    return result
