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
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.audit import Action, Actor
from node.audit.sink import AuditSink
from node.audit.tokens import FirmTokenizer
from node.data import uscc
from node.models import LogisticPart, ModelNotFound, ModelRegistry
from node.scoring import wire
from node.scoring.client import PartnerClient, Pending
from node.scoring.engine import HolderAnswer, HolderReplies, Outcome, decide, decide_many
from node.scoring.exceptions import BadApplication, DecisionPolicyError, NotReady
from node.scoring.index import FirmIndex
from node.scoring.keys import Pseudonyms
from node.scoring.policy import DecisionPolicy, load_decision_policy
from node.scoring.records import DecisionRecords, new_record_id
from node.telemetry.metrics import record_scoring

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
        self._log_writer = ThreadPoolExecutor(4, thread_name_prefix="decision-log")
        self._tables: dict[tuple[str, tuple[str, ...]], NDArray[np.float64]] = {}

    def close(self) -> None:
        self._log_writer.shutdown(wait=True)

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
        try:
            stamp = self._policy_path.stat().st_mtime
        except OSError as exc:
            raise DecisionPolicyError(
                str(self._policy_path), "(file)", f"cannot be read: {exc.strerror}"
            ) from None
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

    def has_policy(self) -> bool:
        return self._policy_path is not None

    def names(self, holder: str) -> Pseudonyms:
        """This bank's pseudonyms of firms for ``holder`` (pair key derived once)."""
        names = self._pseudonyms.get(holder)
        if names is None:
            names = self._pseudonyms[holder] = Pseudonyms(self._pair_key(holder))
        return names

    # deciding --------------------------------------------------------------------------

    def _features(
        self, part: LogisticPart, apps: Sequence[Application], codes: Sequence[str]
    ) -> pd.DataFrame:
        """The bank's feature values per application: as given, else from the bank's table
        (a firm the bank does not hold and that came without features is all missing, which
        the part's transform fills with its medians)."""
        wanted = list(part.info.features)
        values = np.full((len(apps), len(wanted)), np.nan)
        given = np.array([all(f in a.features for f in wanted) for a in apps], np.bool_)
        if not given.all():
            rows = self._index_of(part.info.dataset).rows_of_codes(codes)
            table = self._table(part.info.dataset, tuple(wanted))
            look = ~given & (rows >= 0)
            values[look] = table[rows[look]]
        for i in np.flatnonzero(given):
            values[i] = [float(apps[i].features[f]) for f in wanted]
        return pd.DataFrame(values, columns=wanted)

    def _table(self, dataset: str, columns: tuple[str, ...]) -> NDArray[np.float64]:
        """The bank's own columns as one float matrix, built once per dataset and columns."""
        key = (dataset, columns)
        table = self._tables.get(key)
        if table is None:
            frame = self._frame(dataset)
            table = self._tables[key] = frame[list(columns)].to_numpy(dtype=np.float64)
        return table

    def decide_many(self, apps: Sequence[Application]) -> list[Decided]:
        """Decide ``apps`` (one call may be one application or a chunk of a book).

        Timed into the ``fedcredit.scoring.duration`` metric (by outcome, never by firm).

        Raises
        ------
        NotReady
            No decision policy or no current model.
        BadApplication
            An application is malformed (nothing is decided or recorded for the call).
        """
        began, outcome = time.perf_counter(), "refused"
        try:
            decided = self._decide_many(apps)
            outcome = "decided"
            return decided
        finally:
            kind = "single" if len(apps) == 1 else "batch"
            record_scoring(kind, outcome, time.perf_counter() - began)

    def _decide_many(self, apps: Sequence[Application]) -> list[Decided]:
        policy = self.policy()
        bank_version, part = self._bank_part(policy)
        codes = [check_application(a) for a in apps]
        wait_ms = policy.deadline_ms if len(apps) == 1 else policy.batch_deadline_ms
        deadline = time.monotonic() + wait_ms / 1000.0
        refs = [a.ref for a in apps]
        asked: dict[str, Pending] = {
            holder: self._client.submit(
                holder,
                wire.SCORE,
                {
                    "model": policy.model,
                    "job": part.info.job_id,
                    "refs": refs,
                    "firms": self.names(holder).many(codes),
                },
                len(apps),
            )
            for holder in policy.holders
        }
        tokens = [self._tokenizer.token(c) for c in codes]
        record_ids = [new_record_id() for _ in apps]
        # the access-log entry is durable before the answer leaves; write it while the
        # holders work rather than after them (one disk wait fewer on the decision's path)
        logged = self._log_writer.submit(
            self._sink.subject_use,
            self._me,
            Action.SCORE,
            "scoring",
            "decided",
            subjects=tuple(tokens),
            details={
                "decisions": len(apps),
                "policy": policy.version[:16],
                "model": bank_version,
                "records": ",".join(record_ids[:50]),
            },
        )
        features = self._features(part, apps, codes)
        contributions = part.contributions(features)
        replies = [
            replies_of(holder, pending, PartnerClient.wait(pending, deadline), len(apps))
            for holder, pending in asked.items()
        ]
        names = part.info.features
        outcomes = decide_many(
            policy,
            head=part,
            names=names,
            contributions=contributions,
            replies=replies,
            amounts=np.array([a.amount for a in apps], dtype=np.float64),
            bank_version=bank_version,
        )
        now = time.time()
        values = features.to_numpy(dtype=np.float64)
        results: list[Decided] = []
        records: list[dict[str, Any]] = []
        for i, (app, outcome, record_id) in enumerate(zip(apps, outcomes, record_ids, strict=True)):
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
                        n: (None if v != v else float(v))
                        for n, v in zip(names, values[i], strict=True)
                    },
                    "holders": [r.row(i).to_dict() for r in replies],
                    "outcome": outcome.to_dict(),
                }
            )
            results.append(Decided(app.ref, record_id, outcome, policy.version))
        self._records.add_many(records)
        logged.result()
        return results

    def book(
        self, ref_prefix: str, amount: float, term_months: int, chunk: int
    ) -> Iterator[tuple[int, list[Application]]]:
        """The bank's own firms as applications, ``chunk`` at a time, with their chunk index.

        References are ``<ref_prefix>-<row>`` (never the code), so a rerun names the same
        application the same way and can start at any chunk.

        Raises
        ------
        NotReady
            No decision policy or no current model.
        BadApplication
            ``ref_prefix`` would make malformed references.
        """
        if not _REF.match(f"{ref_prefix}-0") or len(ref_prefix) > 40:
            raise BadApplication("ref_prefix must be 1-40 letters, digits or ._:/-")
        _, part = self._bank_part(self.policy())
        index = self._index_of(part.info.dataset)
        codes = index.codes
        for k, start in enumerate(range(0, len(codes), chunk)):
            yield (
                k,
                [
                    Application(c, f"{ref_prefix}-{start + j}", amount, term_months)
                    for j, c in enumerate(codes[start : start + chunk])
                ],
            )

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
        head=part,
        bank_contributions={
            n: float(v) for n, v in zip(part.info.features, contributions, strict=True)
        },
        answers=[HolderAnswer.from_dict(a) for a in record["holders"]],
        amount=float(record["amount"]),
        bank_version=str(record["bank_version"]),
    )
    return record["outcome"], outcome.to_dict()


def replies_of(holder: str, pending: Pending, gap: str, n: int) -> HolderReplies:
    """What ``holder`` said about each of the ``n`` firms asked, or the gap for all of them.

    An answer that does not fit the request (wrong lengths, a non-finite score) is treated
    as a refusal of the whole request: nothing of it is used.
    """
    answer = pending.answer
    if gap or answer is None:
        return HolderReplies.gap(holder, gap or "deadline", n)
    if answer.get("error"):
        return HolderReplies.gap(holder, "refused", n, str(answer["error"]).split(":", 1)[0])
    try:
        status = [str(s) for s in answer["status"]]
        score = np.asarray(answer["score"], dtype=np.float64)
        reasons = [tuple((str(c), float(v)) for c, v in r) for r in answer["reasons"]]
        flags = [tuple(str(f) for f in fl) for fl in answer["flags"]]
        detail = [str(d) for d in answer["detail"]]
    except (KeyError, TypeError, ValueError):
        return HolderReplies.gap(holder, "refused", n, "malformed answer")
    sizes = {len(status), len(score), len(reasons), len(flags), len(detail)}
    if sizes != {n} or not np.all(np.isfinite(score)):
        return HolderReplies.gap(holder, "refused", n, "malformed answer")
    version = str(answer.get("version", ""))
    return HolderReplies(holder, version, status, score, reasons, flags, detail)
