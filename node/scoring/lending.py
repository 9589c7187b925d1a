"""Assemble a node's lending services: model registry, scoring (holder and bank), consent.

Every node answers scoring requests for the parts it holds and files authorization records
banks send it; a node with a decision policy (a bank) also decides. Everything shares the
node's relay router (job key ``svc/scoring``), policy engine and access log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from node.audit import Action, Actor
from node.audit.sink import AuditSink
from node.audit.tokens import subject_tokenizer
from node.consent.gate import ReleaseFirms, TrainingFirms
from node.consent.store import PENDING, ConsentStore
from node.data.datasets import NodeDatasets
from node.models import ModelRegistry
from node.pki.files import NodeCredentials
from node.pki.identity import Identity
from node.policy import PolicyEngine
from node.policy.release import ReleaseRecord
from node.scoring import wire
from node.scoring.caps import DailyCaps
from node.scoring.client import PartnerClient
from node.scoring.config import ScoringConfig
from node.scoring.desk import ConsentDesk
from node.scoring.holder import HolderService
from node.scoring.index import FirmIndex
from node.scoring.keys import Pseudonyms, pair_key
from node.scoring.records import DecisionRecords
from node.scoring.service import DecisionService
from node.transport.directory import PeerDirectory
from node.transport.relay_channel import EnvelopeRouter, Opened

log = logging.getLogger("fedcredit.scoring.lending")


class Lending:
    """A node's scoring, decision and authorization services."""

    def __init__(
        self,
        *,
        creds: NodeCredentials,
        config: ScoringConfig,
        state_dir: Path,
        secret: bytes,
        datasets: NodeDatasets,
        engine: PolicyEngine,
        sink: AuditSink,
        router: EnvelopeRouter,
        directory: PeerDirectory,
    ) -> None:
        me = creds.identity
        self.identity = me
        self._creds = creds
        self._directory = directory
        self._datasets = datasets
        self._sink = sink
        self.tokenizer = subject_tokenizer(secret)
        self.registry = ModelRegistry(state_dir)
        self.consent = ConsentStore(state_dir / "consent" / "authorizations.sqlite")
        self.caps = DailyCaps(
            state_dir / "scoring" / "caps.sqlite", config.per_bank_per_day, config.per_firm_per_day
        )
        self.records = DecisionRecords(state_dir / "scoring" / "decisions.sqlite")
        self._indexes: dict[str, FirmIndex] = {}
        # further topics served over the same envelopes (post-loan monitoring adds its own)
        self._routes: dict[str, Callable[[Opened], None]] = {}
        self._keys: dict[str, bytes] = {}
        self._executor = ThreadPoolExecutor(config.workers, thread_name_prefix="scoring")
        self.client = PartnerClient(router, self._identity)
        self.holder = HolderService(
            me=me,
            pair_key=self.pair_key,
            identity_of=self._identity,
            datasets=datasets,
            engine=engine,
            registry=self.registry,
            consent=self.consent,
            index_of=self.index_of,
            caps=self.caps,
            config=config,
            sink=sink,
            router=router,
            executor=self._executor,
        )
        actor = Actor(me.organization, me.node_id, me.role)
        self.decisions = DecisionService(
            me=actor,
            policy_path=config.decision_policy,
            registry=self.registry,
            records=self.records,
            client=self.client,
            pair_key=self.pair_key,
            frame=datasets.frame,
            index_of=self.index_of,
            sink=sink,
        )
        self.training = TrainingFirms(
            self.consent, self.tokenizer.token, lambda: engine.policy.training_basis
        )
        self.desk = ConsentDesk(
            self.consent, self.tokenizer, self.client, lambda h: Pseudonyms(self.pair_key(h))
        )
        router.serve(wire.JOB_KEY, self._dispatch)
        self._resolve_pending(config)
        threading.Thread(target=self._warm, name="scoring-warm", daemon=True).start()

    def _warm(self) -> None:
        """Build what the first request would otherwise wait for, off the request path.

        Firm indexes of every dataset, every deployed part applied to its table (holder), and
        at a bank its decision policy and the pair keys of the holders it asks. A request that
        comes first simply builds what it needs itself; failures here only cost that.
        """
        try:
            for name in self._datasets.names():
                self.index_of(name)
            self.holder.warm()
            if self.decisions.has_policy():
                self.decisions.warm()
        except Exception:  # a peer not yet in the directory, a policy being edited
            log.debug("scoring warm-up stopped early", exc_info=True)

    def identity_of(self, node_id: str) -> Identity:
        """A peer's certified identity, from the coordinator's directory."""
        return self._identity(node_id)

    def _identity(self, node_id: str) -> Identity:
        identity = self._directory.identity(node_id)
        assert isinstance(identity, Identity)
        return identity

    def pair_key(self, peer: str) -> bytes:
        """The pseudonym key this node shares with ``peer`` (bank and holder derive the same)."""
        key = self._keys.get(peer)
        if key is None:
            other = self._identity(peer)
            bank, holder = (
                (self.identity.node_id, peer)
                if self.identity.role == "bank" and other.role != "bank"
                else (peer, self.identity.node_id)
            )
            key = self._keys[peer] = pair_key(self._creds.seal_key, other.seal_public, bank, holder)
        return key

    def index_of(self, dataset: str) -> FirmIndex:
        index = self._indexes.get(dataset)
        if index is None:
            loaded = self._datasets.get(dataset)
            codes = loaded.frame[loaded.schema.id_column].astype(str).tolist()
            index = self._indexes[dataset] = FirmIndex(codes, self.tokenizer)
        return index

    def release_firms(self, dataset: str, recipient: str, purpose: str) -> ReleaseFirms:
        """The per-firm check of a release of ``dataset`` to ``recipient`` for ``purpose``."""
        index = self.index_of(dataset)

        def tokens_of(codes: Sequence[str]) -> list[str]:
            return index.tokens_at(index.rows_of_codes(codes), codes)

        id_column = self._datasets.get(dataset).schema.id_column
        return ReleaseFirms(self.consent, tokens_of, id_column, recipient, purpose)

    def log_release(
        self, who: Identity, dataset: str, record: ReleaseRecord, firms: ReleaseFirms
    ) -> None:
        """Name the released and the withheld firms (by token) in the access log, so an
        auditor's listing of a firm shows the release and the authorization that covered it."""
        actor = Actor(who.organization, who.node_id, who.role)
        purpose = str(record.query.get("purpose", "release"))
        if firms.released:
            self._sink.subject_use(
                actor, Action.RELEASE, purpose, "allowed", dataset=dataset,
                fields=record.fields, subjects=firms.released,
                details={"release_id": record.release_id,
                         "authorizations": ",".join(record.authorizations)},
            )  # fmt: skip
        if firms.refused:
            self._sink.subject_use(
                actor, Action.DENIAL, purpose, "denied: no valid authorization",
                dataset=dataset, subjects=firms.refused,
                details={"requested": "release", "release_id": record.release_id},
            )  # fmt: skip

    def _resolve_pending(self, config: ScoringConfig) -> None:
        """File records that arrived before this node held the firm, if it holds it now."""
        names = self._datasets.names()
        if not names:
            return
        index = self.index_of(config.dataset or names[0])

        def token_of(pending: str) -> str | None:
            peer, _, pseudonym = pending.partition(":")
            try:
                return index.token_of_pseudonym(self.pair_key(peer))(pseudonym)
            except Exception:
                return None  # the peer is not in the directory yet; try at the next start

        if self.consent.count():
            self.consent.resolve_pending(token_of)

    def route(self, topics: Sequence[str], handler: Callable[[Opened], None]) -> None:
        """Serve more topics of the scoring envelopes (``handler`` must return quickly)."""
        for topic in topics:
            self._routes[topic] = handler

    def _dispatch(self, msg: Opened) -> None:
        extra = self._routes.get(msg.topic)
        if extra is not None:
            extra(msg)
        elif msg.topic in (wire.SCORE, wire.RECORDS):
            self.holder.handle(msg)
        elif msg.topic in (wire.SCORED, wire.RECORDED):
            self.client.handle(msg)

    def close(self) -> None:
        self.client.close()
        self._executor.shutdown(wait=True, cancel_futures=True)
        for closable in (self.registry, self.consent, self.caps, self.records):
            closable.close()


__all__ = ["PENDING", "Lending", "subject_tokenizer"]
