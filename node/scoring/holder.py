"""A holder's side of scoring: answer a bank's sealed request for partial scores.

For each request (a batch of firms named by pair pseudonyms) the holder, in one gate:
checks its masking policy lets the bank have the part's columns for ``scoring``; finds each
firm in its own table; applies its daily caps; checks the firm's recorded authorization for
that bank and purpose (``node.consent``); then computes, for the admitted firms only, the
partial log-odds, coded reason categories and coded flags. Every use and every refusal is one
access-log entry naming the firms by this holder's token and citing the authorization records.
The same service files authorization records a bank sends (``records`` messages).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from node.audit import Action, Actor
from node.audit.sink import AuditSink, Staged
from node.consent.exceptions import ConsentError
from node.consent.record import Authorization
from node.consent.store import PENDING, ConsentStore
from node.data.datasets import NodeDatasets
from node.models import ModelNotFound, ModelRegistry
from node.models.part import ModelPart
from node.pki.identity import Identity
from node.policy import PolicyDenied, PolicyEngine
from node.scoring import wire
from node.scoring.answers import Answer
from node.scoring.caps import DailyCaps
from node.scoring.config import ScoringConfig, category
from node.scoring.engine import STATUSES
from node.scoring.index import FirmIndex
from node.scoring.prepared import Prepared, prepare
from node.transport.relay_channel import EnvelopeRouter, Opened

log = logging.getLogger("fedcredit.scoring.holder")

POLICY_DECISION_TTL_S = 60.0
_OK, _NO_RECORD, _UNAUTHORIZED, _REFUSED = (
    STATUSES.index(s) for s in ("ok", "no_record", "unauthorized", "refused")
)
_ANSWER_TOPIC: Final = {wire.SCORE: wire.SCORED, wire.RECORDS: wire.RECORDED}


def _failure(topic: str, msg: Opened, error: str) -> bytes:
    """What a holder sends when it cannot answer at all, naming the request if it can (the
    bank's caller sees the refusal at once; without the id it would wait out its deadline)."""
    request_id = wire.request_id(msg.payload)
    if topic == wire.SCORED:
        return Answer.failed(request_id, error).to_bytes()
    return wire.encode({"id": request_id, "error": error})


class HolderService:
    """Answers scoring requests and files authorization records, off the stream thread."""

    def __init__(
        self,
        *,
        me: Identity,
        pair_key: Callable[[str], bytes],
        identity_of: Callable[[str], Identity],
        datasets: NodeDatasets,
        engine: PolicyEngine,
        registry: ModelRegistry,
        consent: ConsentStore,
        index_of: Callable[[str], FirmIndex],
        caps: DailyCaps,
        config: ScoringConfig,
        sink: AuditSink,
        router: EnvelopeRouter,
        executor: Executor,
    ) -> None:
        self._me = me
        self._pair_key = pair_key
        self._identity_of = identity_of
        self._datasets = datasets
        self._engine = engine
        self._registry = registry
        self._consent = consent
        self._index_of = index_of
        self._caps = caps
        self._config = config
        self._sink = sink
        self._router = router
        self._executor = executor
        self._prepared: dict[tuple[str, int], Prepared] = {}
        self._decisions: dict[tuple[str, str, str, str, tuple[str, ...]], tuple[float, str]] = {}
        self._lock = threading.Lock()

    # dispatch --------------------------------------------------------------------------

    def handle(self, msg: Opened) -> None:
        """The router's handler: queue the work and return."""
        self._executor.submit(self._safely, msg)

    def _safely(self, msg: Opened) -> None:
        """Answer ``msg``; nothing may escape into the pool's future, where it would be lost
        (a failed answer is logged by ``EnvelopeRouter.answer``)."""
        topic = _ANSWER_TOPIC.get(msg.topic)
        if topic is None:
            return
        try:
            if msg.topic == wire.SCORE:
                payload = self._score(msg).to_bytes()
            else:
                payload = wire.encode(self._records(msg))
        except wire.MalformedMessage as exc:
            log.warning("refused a scoring message from %s: %s", msg.sender, exc)
            payload = _failure(topic, msg, f"malformed: {exc}")
        except Exception:
            log.exception("scoring request from %s failed", msg.sender)
            payload = _failure(topic, msg, "internal error at the holder")
        self._router.answer(wire.JOB_KEY, msg.sender, topic, payload)

    # scoring ---------------------------------------------------------------------------

    def _policy_decision(self, bank: Identity, dataset: str, part: ModelPart) -> str:
        """The policy decision id letting ``bank`` have the part's columns for scoring.

        A decision is cached for a minute per bank, policy version and columns, so a burst of
        requests costs one policy entry in the log, not one each; each score entry cites it.
        """
        key = (bank.organization, bank.node_id, self._engine.version, dataset, part.info.features)
        now = time.monotonic()
        held = self._decisions.get(key)
        if held is not None and now - held[0] < POLICY_DECISION_TTL_S:
            return held[1]
        decision = self._engine.authorize(bank, "scoring", dataset, list(part.info.features))
        self._decisions[key] = (now, decision.decision_id)
        return decision.decision_id

    def warm(self) -> None:
        """Apply every deployed part to its table now rather than at the first request."""
        for deployment in self._registry.list():
            if deployment.status == "deployed":
                part = self._registry.part(deployment)
                if part.info.dataset in self._datasets.names():
                    self._prepare(deployment.name, deployment.version, part)

    def _prepare(self, name: str, version: int, part: ModelPart) -> Prepared:
        key = (name, version)
        prepared = self._prepared.get(key)
        if prepared is not None:
            return prepared
        frame = self._datasets.frame(part.info.dataset)
        categories = [category(self._config, f) for f in part.info.features]
        prepared = prepare(part, frame, categories, self._config.flags)
        with self._lock:
            self._prepared[key] = prepared
        return prepared

    def _score(self, msg: Opened) -> Answer:
        req = wire.decode_request(msg.payload, ("model", "job", "refs", "firms"))
        bank = self._identity_of(msg.sender)
        firms = [str(f) for f in req["firms"]]
        refs = [str(r) for r in req["refs"]]
        n = len(firms)
        request_id: str = req["id"]
        try:
            deployment = self._registry.serving(str(req["model"]), str(req["job"]))
        except ModelNotFound:
            return Answer.failed(
                request_id, "no_model: no deployed part of that model and job here"
            )
        part = self._registry.part(deployment)
        dataset = part.info.dataset
        actor = Actor(bank.organization, bank.node_id, bank.role)
        try:
            decision_id = self._policy_decision(bank, dataset, part)
        except PolicyDenied as exc:
            self._refused(actor, dataset, (), "policy", {"refs": len(refs)}).wait()
            return Answer.failed(request_id, f"policy: {exc}")
        index = self._index_of(dataset)
        rows = index.rows(self._pair_key(msg.sender), firms)
        known = rows >= 0
        status = np.where(known, _OK, _NO_RECORD).astype(np.uint8)
        detail = np.full(n, -1, np.int16)
        details: list[str] = []
        tokens = [index.tokens[r] for r in rows[known].tolist()]
        admitted = np.zeros(n, np.bool_)
        admitted[known] = self._caps.admit(f"{bank.organization}/{bank.node_id}", tokens)
        capped = known & ~admitted
        if capped.any():
            status[capped], detail[capped] = _REFUSED, len(details)
            details.append("daily cap")
        allowed = np.zeros(n, np.bool_)
        covering = np.full(n, -1, np.int64)
        if admitted.any():
            ok, rec = self._consent.check_many(
                index.hi[rows[admitted]], index.lo[rows[admitted]], bank.organization, "scoring"
            )
            allowed[admitted] = ok
            covering[admitted] = rec
        for i in np.flatnonzero(admitted & ~allowed).tolist():
            verdict = self._consent.check(index.tokens[rows[i]], bank.organization, "scoring")
            why = f"loan_approval authorization for {bank.organization}: {verdict.reason}"
            if why not in details:
                details.append(why)
            status[i], detail[i] = _UNAUTHORIZED, details.index(why)
        prepared = self._prepare(deployment.name, deployment.version, part)
        staged = self._log_uses(
            actor, dataset, part, decision_id, deployment.label(), refs, index, rows, status,
            covering,
        )  # fmt: skip
        header = {
            "id": request_id,
            "error": "",
            "version": deployment.label(),
            "kind": prepared.kind,
            "details": details,
            "flag_codes": list(prepared.flag_codes),
            **prepared.header,
        }
        arrays: dict[str, NDArray[Any]] = {
            "status": status,
            "detail": detail,
            **prepared.take(rows, allowed),
        }
        for entry in staged:  # durable before the answer leaves
            entry.wait()
        return Answer(header, arrays)

    def _log_uses(
        self,
        actor: Actor,
        dataset: str,
        part: ModelPart,
        decision_id: str,
        version: str,
        refs: list[str],
        index: FirmIndex,
        rows: NDArray[np.int64],
        status: NDArray[Any],
        covering: NDArray[np.int64],
    ) -> list[Staged]:
        """Stage the call's entries (uses, refusals, firms not held); the caller waits for
        them before its answer leaves, and computes the answer meanwhile."""
        staged: list[Staged] = []
        refs_text = ",".join(refs) if len(refs) <= 50 else f"{len(refs)} refs"
        refs_digest = hashlib.sha256("\n".join(refs).encode()).hexdigest()[:32]
        used = status == _OK
        if used.any():
            ids = self._consent.record_ids(covering[used])
            staged.append(
                self._sink.subject_use_staged(
                    actor,
                    Action.SCORE,
                    "scoring",
                    "allowed",
                    dataset=dataset,
                    fields=part.info.features,
                    subjects=tuple(index.tokens[r] for r in rows[used].tolist()),
                    details={
                        "application_refs": refs_text,
                        "refs_sha256": refs_digest,
                        "authorizations": ",".join(ids),
                        "model": version,
                        "decision_id": decision_id,
                    },
                )
            )
        for kind, code in (("unauthorized", _UNAUTHORIZED), ("refused", _REFUSED)):
            hit = status == code
            if hit.any():
                subjects = tuple(index.tokens[r] for r in rows[hit].tolist())
                staged.append(
                    self._refused(
                        actor,
                        dataset,
                        subjects,
                        kind,
                        {"application_refs": refs_text, "refs_sha256": refs_digest},
                    )
                )
        unknown = int((status == _NO_RECORD).sum())
        if unknown:
            staged.append(
                self._sink.subject_use_staged(
                    actor,
                    Action.SCORE,
                    "scoring",
                    "no_record",
                    dataset=dataset,
                    details={"firms_not_held": unknown, "refs_sha256": refs_digest},
                )
            )
        return staged

    def _refused(
        self,
        actor: Actor,
        dataset: str,
        subjects: tuple[str, ...],
        why: str,
        details: Mapping[str, object],
    ) -> Staged:
        """Stage a refusal's entry (wait on it before answering) and tell the monitor."""
        reason = {
            "unauthorized": "denied: no valid authorization",
            "refused": "denied: daily cap",
            "policy": "denied: policy",
        }[why]
        staged = self._sink.subject_use_staged(
            actor,
            Action.DENIAL,
            "scoring",
            reason,
            dataset=dataset,
            subjects=subjects,
            details={"requested": "score", **details},
        )
        return staged

    # authorization records -------------------------------------------------------------

    def _records(self, msg: Opened) -> dict[str, Any]:
        req = wire.decode_request(msg.payload, ("grants", "revocations"))
        bank = self._identity_of(msg.sender)
        key = self._pair_key(msg.sender)
        dataset = self._config.dataset or self._datasets.names()[0]
        lookup = self._index_of(dataset).token_of_pseudonym(key)
        grants: list[Authorization] = []
        pending = 0
        try:
            for raw in req["grants"]:
                token = lookup(str(raw["firm"]))
                subject = token or f"{PENDING}{msg.sender}:{raw['firm']}"
                pending += token is None
                grant = Authorization.from_wire(raw, subject)
                if grant.recipient != bank.organization:
                    return {"id": req["id"], "error": "a bank may register only its own grants"}
                grants.append(grant)
            stored = self._consent.add(grants)
            revoked = 0
            for raw in req["revocations"]:
                record = self._consent.get(str(raw["record_id"]))
                if record.recipient != bank.organization:
                    return {"id": req["id"], "error": "a bank may revoke only its own grants"}
                self._consent.revoke(record.record_id, str(raw["revocation_id"]), float(raw["at"]))
                revoked += 1
        except (ConsentError, KeyError, TypeError, ValueError) as exc:
            return {"id": req["id"], "error": f"records refused: {exc}"}
        subjects = tuple(g.subject for g in grants if not g.subject.startswith(PENDING))
        self._sink.subject_use(
            Actor(bank.organization, bank.node_id, bank.role),
            Action.ADMIN,
            "authorization",
            "recorded",
            subjects=subjects,
            details={
                "operation": "authorizations_received",
                "stored": len(stored),
                "pending": pending,
                "revoked": revoked,
                "records": ",".join(sorted(g.record_id for g in grants)[:200]),
            },
        )
        return {
            "id": req["id"],
            "error": "",
            "stored": len(stored),
            "pending": pending,
            "revoked": revoked,
        }
