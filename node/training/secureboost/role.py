"""What both SecureBoost roles hold: the spec, hooks, workers, their session and own columns."""

from __future__ import annotations

from concurrent.futures import Executor

import pandas as pd

from node.jobs.hooks import JobHooks
from node.training.secureboost.binning import load_columns
from node.training.secureboost.session import Session
from node.training.secureboost.spec import COORDINATOR, SecureBoostSpec
from node.training.secureboost.wire import MAX_CODES
from node.training.vertical.exceptions import DataMismatch
from node.transport.channel import PartyChannel


class Role:
    """One attempt of one party's side; the label holder and feature holders extend it."""

    def __init__(
        self,
        channel: PartyChannel,
        hooks: JobHooks,
        spec: SecureBoostSpec,
        frame: pd.DataFrame,
        pool: Executor | None,
    ) -> None:
        self.spec = spec
        self.hooks = hooks
        self.pool = pool
        self.me = channel.party
        self.lead = spec.label_holder.party
        self.data = spec.holder(self.me)
        self.rows = len(frame)
        self.session = Session(channel, (*spec.parties, COORDINATOR), spec.timeout_s)
        try:
            if self.rows > MAX_CODES:
                raise DataMismatch(
                    self.me, f"{self.rows} aligned rows exceed the {MAX_CODES} one job handles"
                )
            self.values = load_columns(self.me, frame, self.data.features)
            self.setup(frame)
        except Exception:
            self.session.abort(self.me, left=False)  # the others stop now, not at timeout
            raise

    def setup(self, frame: pd.DataFrame) -> None:
        """What a role reads or prepares beyond its columns (the label holder: labels)."""

    def record_use(self) -> None:
        """Write the training use of this party's columns (and label) to its access log."""
        fields = [*self.data.features, *([self.data.label] if self.data.label else [])]
        self.hooks.record(
            "training_use",
            {
                "job_id": self.session.channel.job_id,
                "dataset": self.data.dataset,
                "fields": fields,
                "rows": self.rows,
                "purpose": "training",
            },
        )
