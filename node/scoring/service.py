"""The bank's decision service: applications in, decisions out, every input recorded.

``decide_many`` is the one path for a single ``Decide``, a file of applicants and the whole
book: it names each firm to each holder by pair pseudonym, asks all holders in parallel
(``PartnerClient``), scores the bank's own part locally, combines under the current decision
policy (``engine.decide``), stores one decision record per application and writes one
access-log entry per call naming the firms by the bank's token.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from node.audit import Action, Actor
from node.audit.tokens import FirmTokenizer
from node.data import uscc
from node.models import LogisticPart, ModelNotFound, ModelRegistry
from node.runtime.audit_sink import AuditSink
from node.scoring import wire
from node.scoring.client import PartnerClient, Pending
from node.scoring.engine import HolderAnswer, Outcome, decide
from node.scoring.exceptions import BadApplication, NotReady
from node.scoring.index import FirmIndex
from node.scoring.keys import Pseudonyms
from node.scoring.policy import DecisionPolicy, load_decision_policy
from node.scoring.records import DecisionRecords, new_record_id

_REF: Final = re.compile(r"^[A-Za-z0-9._:/-]{1,64}$")


@dataclass(frozen=True)
class Application:
    """One loan application: the firm's code, the bank's reference, amount, term, and the
    bank's own feature values (looked up in the bank's dataset when not given)."""

    code: str
    ref: str
    amount: float = 0.0
    term_months: int = 0
    features: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Decided:
    """A decision as returned to the loan system."""

    ref: str
    record_id: str
    outcome: Outcome
    policy_version: str
    error: str = ""


def check_application(app: Application) -> str:
    """The normalized code of a valid application.

    Raises
    ------
    BadApplication
        The code is not a valid unified social credit code, the reference is malformed or
        holds a code, or the amount or term is negative.
    """
    code = uscc.normalize(app.code)
    if not uscc.is_valid(code):
        raise BadApplication("uscc is not a valid unified social credit code (18 characters)")
    if not _REF.match(app.ref) or (len(app.ref) >= 18 and code in uscc.normalize(app.ref)):
        raise BadApplication(
            "application_ref must be 1-64 letters, digits or ._:/- and must not hold the code"
        )
    if not (app.amount >= 0 and app.term_months >= 0):
        raise BadApplication("amount and term_months must not be negative")
    return code


class DecisionService:
    """The bank node's decisions."""

    def __init__(
        self,
        *,
        me: Actor,
        policy_path: Path | None,
        registry: ModelRegistry,
        records: DecisionRecords,
        client: PartnerClient,
        pair_key: Callable[[str], bytes],
        tokenizer: FirmTokenizer,
        frame: Callable[[str], pd.DataFrame],
        index_of: Callable[[str], FirmIndex],
        sink: AuditSink,
    ) -> None:
        self._me = me
        self._policy_path = policy_path
        self._registry = registry
        self._records = records
        self._client = client
        self._pair_key = pair_key
        self._tokenizer = tokenizer
        self._frame = frame
        self._index_of = index_of
        self._sink = sink
        self._pseudonyms: dict[str, Pseudonyms] = {}
        self._policy: DecisionPolicy | None = None
        self._policy_stamp = 0.0
        self._lock = threading.Lock()

    # configuration ---------------------------------------------------------------------

    def policy(self) -> DecisionPolicy:
        """The decision policy in force (re-read when its file changes).

        Raises
        ------
        NotReady
            No decision policy is configured.
        node.scoring.exceptions.DecisionPolicyError
            The file changed into something invalid (the previous version stays unused).
        """
        if self._policy_path is None:
            raise NotReady("this node has no decision policy; set scoring.decision_policy")
        stamp = self._policy_path.stat().st_mtime
        with self._lock:
            if self._policy is None or stamp != self._policy_stamp:
                policy = load_decision_policy(self._policy_path)
                self._records.keep_policy(policy.version, policy.text)
                self._policy, self._policy_stamp = policy, stamp
            return self._policy

    def _bank_part(self, policy: DecisionPolicy) -> tuple[str, LogisticPart]:
        try:
            deployment = self._registry.current(policy.model)
        except ModelNotFound as exc:
            raise NotReady(str(exc)) from None
        part = self._registry.part(deployment)
        if not isinstance(part, LogisticPart):
            raise NotReady(
                f"{deployment.label()} is a {part.info.kind} part; decisions need "
                "the logistic head for now"
            )
        return deployment.label(), part

    def _names(self, holder: str) -> Pseudonyms:
        names = self._pseudonyms.get(holder)
        if names is None:
            names = self._pseudonyms[holder] = Pseudonyms(self._pair_key(holder))
        return names

    # deciding --------------------------------------------------------------------------

    def _features(
        self, part: LogisticPart, apps: Sequence[Application], codes: Sequence[str]
    ) -> pd.DataFrame:
        wanted = part.info.features
        given = [all(f in a.features for f in wanted) for a in apps]
        out = pd.DataFrame(np.nan, index=range(len(apps)), columns=list(wanted))
        if not all(given):
            index = self._index_of(part.info.dataset)
            rows = index.rows_of_codes(codes)
            own = self._frame(part.info.dataset)
            for i, (ok, row) in enumerate(zip(given, rows, strict=True)):
                if not ok and row >= 0:
                    out.iloc[i] = own.iloc[int(row)][list(wanted)].to_numpy(dtype=np.float64)
        for i, (ok, app) in enumerate(zip(given, apps, strict=True)):
            if ok:
                out.iloc[i] = [float(app.features[f]) for f in wanted]
        return out

    def decide_many(self, apps: Sequence[Application]) -> list[Decided]:
        """Decide ``apps`` (one call may be one application or a chunk of a book).

        Raises
        ------
        NotReady
            No decision policy or no current model.
        BadApplication
            An application is malformed (nothing is decided or recorded for the call).
        """
        policy = self.policy()
        bank_version, part = self._bank_part(policy)
        codes = [check_application(a) for a in apps]
        started = time.monotonic()
        deadline = started + policy.deadline_ms / 1000.0
        refs = [a.ref for a in apps]
        asked: dict[str, Pending] = {
            holder: self._client.submit(
                holder,
                wire.SCORE,
                {
                    "model": policy.model,
                    "job": part.info.job_id,
                    "refs": refs,
                    "firms": self._names(holder).many(codes),
                },
                len(apps),
            )
            for holder in policy.holders
        }
        features = self._features(part, apps, codes)
        contributions = part.contributions(features)
        answers: dict[str, list[HolderAnswer]] = {}
        for holder, pending in asked.items():
            answers[holder] = _answers(
                holder, pending, PartnerClient.wait(pending, deadline), len(apps)
            )
        now = time.time()
        tokens = [self._tokenizer.token(c) for c in codes]
        results: list[Decided] = []
        records: list[dict[str, Any]] = []
        names = part.info.features
        for i, app in enumerate(apps):
            bank_contrib = {n: float(v) for n, v in zip(names, contributions[i], strict=True)}
            per_holder = [answers[h][i] for h in policy.holders]
            outcome = decide(
                policy,
                intercept=part.intercept,
                bank_contributions=bank_contrib,
                probability=part.probability,
                answers=per_holder,
                amount=app.amount,
                bank_version=bank_version,
            )
            record_id = new_record_id()
            records.append(
                {
                    "record_id": record_id,
                    "time": now,
                    "application_ref": app.ref,
                    "firm": tokens[i],
                    "amount": app.amount,
                    "term_months": app.term_months,
                    "policy_version": policy.version,
                    "bank_version": bank_version,
                    "bank_features": {
                        n: _num(v) for n, v in zip(names, features.iloc[i], strict=True)
                    },
                    "holders": [a.to_dict() for a in per_holder],
                    "outcome": outcome.to_dict(),
                }
            )
            results.append(Decided(app.ref, record_id, outcome, policy.version))
        self._records.add_many(records)
        self._sink.subject_use(
            self._me,
            Action.SCORE,
            "scoring",
            "decided",
            subjects=tuple(tokens),
            details={
                "decisions": len(apps),
                "policy": policy.version[:16],
                "model": bank_version,
                "records": ",".join(r["record_id"] for r in records[:50]),
            },
        )
        return results

    # replay ----------------------------------------------------------------------------

    def replay(self, record_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(recorded outcome, recomputed outcome) of a decision, from its record alone."""
        return replay_record(self._records, self._registry, record_id)


def replay_record(
    records: DecisionRecords, registry: ModelRegistry, record_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Recompute a decision from its record, the policy text kept for its version and the
    bank part of its recorded version.

    Raises
    ------
    node.scoring.exceptions.ScoringError
        No such record, or its policy version is not kept.
    node.models.ModelNotFound
        The recorded bank part is no longer in the registry.
    """
    from node.scoring.policy import parse_decision_policy

    record = records.get(record_id)
    policy = parse_decision_policy(records.policy_text(record["policy_version"]))
    name, _, version = str(record["bank_version"]).rpartition("@")
    part = registry.part(registry.deployment(name, int(version)))
    assert isinstance(part, LogisticPart)
    features = pd.DataFrame([record["bank_features"]], columns=list(part.info.features))
    contributions = part.contributions(features.astype(np.float64))[0]
    outcome = decide(
        policy,
        intercept=part.intercept,
        bank_contributions={
            n: float(v) for n, v in zip(part.info.features, contributions, strict=True)
        },
        probability=part.probability,
        answers=[HolderAnswer.from_dict(a) for a in record["holders"]],
        amount=float(record["amount"]),
        bank_version=str(record["bank_version"]),
    )
    return record["outcome"], outcome.to_dict()


def _num(value: Any) -> float | None:
    v = float(value)
    return None if np.isnan(v) else v


def _answers(holder: str, pending: Pending, gap: str, n: int) -> list[HolderAnswer]:
    """Per application, what ``holder`` said, or the gap."""
    answer = pending.answer
    if gap or answer is None:
        return [HolderAnswer(holder, gap or "deadline")] * n
    if answer.get("error"):
        detail = str(answer["error"]).split(":", 1)[0]
        return [HolderAnswer(holder, "refused", detail=detail)] * n
    out = []
    version = str(answer.get("version", ""))
    for status, score, reasons, flags, detail in zip(
        answer["status"],
        answer["score"],
        answer["reasons"],
        answer["flags"],
        answer["detail"],
        strict=True,
    ):
        if status == "ok":
            out.append(
                HolderAnswer(
                    holder,
                    "ok",
                    version,
                    float(score),
                    tuple((str(c), float(v)) for c, v in reasons),
                    tuple(str(f) for f in flags),
                )
            )
        else:
            out.append(HolderAnswer(holder, str(status), version, detail=str(detail)))
    return out
