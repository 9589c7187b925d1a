"""Assemble a node's monitoring: the holder side on every node with a panel, the bank's
refresh, watch list and alerts where a monitoring policy is configured.

Monitoring shares the scoring service's envelopes, pair pseudonyms, firm tokens, model
registry, authorization store and client (``node.scoring.lending.Lending``), and adds only
its topics, its panel view and the bank's monitoring store.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from node.audit import Actor
from node.audit.sink import AuditSink
from node.data.datasets import NodeDatasets
from node.monitoring import wire as mwire
from node.monitoring.config import MonitoringConfig, MonitoringFile, monitoring_config
from node.monitoring.holder import MonitorHolder, PanelView
from node.monitoring.service import MonitoringService, Scheduler
from node.monitoring.store import MonitoringStore
from node.policy import PolicyEngine
from node.scoring.config import ScoringConfig
from node.scoring.keys import Pseudonyms
from node.scoring.lending import Lending
from node.transport.relay_channel import EnvelopeRouter


class Monitoring:
    """A node's monitoring services (``service`` is None unless it monitors a book)."""

    def __init__(
        self,
        *,
        section: MonitoringFile | None,
        state_dir: Path,
        lending: Lending,
        scoring: ScoringConfig,
        datasets: NodeDatasets,
        engine: PolicyEngine,
        sink: AuditSink,
        router: EnvelopeRouter,
    ) -> None:
        self.config: MonitoringConfig = monitoring_config(section, state_dir)
        # its own workers, so a refresh's chunks never queue behind loan decisions
        self._executor = ThreadPoolExecutor(2, thread_name_prefix="monitoring")
        me = lending.identity
        panel = PanelView(datasets, self.config, lending.tokenizer) if self.config.panel else None
        if panel is not None:
            datasets.get(panel.dataset)  # an unknown panel refuses the node's start
        self.holder = (
            MonitorHolder(
                me=me, pair_key=lending.pair_key, identity_of=lending.identity_of,
                panel=panel, config=self.config, reason_prefix=scoring.prefix, engine=engine,
                registry=lending.registry, consent=lending.consent, sink=sink, router=router,
                executor=self._executor, state_dir=state_dir,
            )
            if panel is not None
            else None
        )  # fmt: skip
        lending.route(mwire.TOPICS, self._holder_or_refuse)
        lending.route((mwire.MONITORED,), lending.client.handle)
        self.service: MonitoringService | None = None
        self.scheduler: Scheduler | None = None
        if self.config.policy is not None:
            if self.config.book is not None:
                datasets.get(self.config.book)
            self.store = MonitoringStore(state_dir / "monitoring" / "watch.sqlite")
            self.service = MonitoringService(
                me=Actor(me.organization, me.node_id, me.role), config=self.config, panel=panel,
                registry=lending.registry, client=lending.client,
                names=lambda h: Pseudonyms(lending.pair_key(h)), index_of=lending.index_of,
                store=self.store, sink=sink, reason_prefix=scoring.prefix,
            )  # fmt: skip
            if panel is not None and self.config.check_every_s > 0:
                self.scheduler = Scheduler(self.service, self.config.check_every_s)
                self.scheduler.start()

    def _holder_or_refuse(self, msg: Any) -> None:
        if self.holder is not None:
            self.holder.handle(msg)

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self.service is not None:
            self.store.close()
