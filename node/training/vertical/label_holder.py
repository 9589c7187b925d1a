"""The label holder (the bank): forms the encrypted residual and scores validation rows."""

from __future__ import annotations

from concurrent.futures import Executor

import pandas as pd

from node.jobs.hooks import JobHooks
from node.training.vertical.party import DataParty
from node.training.vertical.results import LabelHolderResult
from node.training.vertical.spec import VerticalSpec
from node.transport.channel import PartyChannel


def run_label_holder(
    channel: PartyChannel,
    hooks: JobHooks,
    spec: VerticalSpec,
    frame: pd.DataFrame,
    pool: Executor | None = None,
) -> LabelHolderResult:
    """Run the label holder's side; ``frame`` holds the PSI-aligned rows in the shared order.

    Raises
    ------
    DataMismatch
        A column is missing or invalid, or the label is not 0/1.
    PartyFailed
        Another party left or stayed silent; the error names it.
    MalformedMessage
        Another party sent something that failed validation.
    """
    result = DataParty(channel, hooks, spec, frame, pool, label=True).run()
    assert isinstance(result, LabelHolderResult)
    return result
