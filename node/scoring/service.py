"""The bank's decision service: applications in, decisions out, every input recorded.

``decide_many`` is the one path for a single ``Decide``, a file of applicants and the whole
book: it names each firm to each holder by pair pseudonym, asks all holders in parallel
(``PartnerClient``), reads the bank's own features, combines its part with the answers by the
model's kind (``combine``) and decides under the current decision policy (``engine``), all as
column operations; it stores one record per call (every firm's inputs and outcome, as
columns) and writes one access-log entry per call naming the firms by the bank's token.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.audit import Action, Actor
from node.audit.sink import AuditSink
from node.data import uscc
from node.data.identifiers import valid_credit_codes
from node.models import LogisticPart, ModelNotFound, ModelRegistry, TreePart
from node.scoring import wire
from node.scoring.answers import Answer, MalformedAnswer
from node.scoring.client import PartnerClient, Pending
from node.scoring.combine import BankPart, Gap, Reply, combine, head_of
from node.scoring.engine import HolderAnswer, Outcome, Outcomes, decide, decide_many
from node.scoring.exceptions import BadApplication, NotReady
from node.scoring.gather import Gathering
from node.scoring.index import FirmIndex
from node.scoring.policy import DecisionPolicy
from node.scoring.policy_in_force import DecisionPolicyInForce
from node.scoring.records import CallRecord, DecisionRecords, new_call_id
from node.telemetry.metrics import record_scoring

_REF: Final = re.compile(r"^[A-Za-z0-9._:/-]{1,64}$")


_NO_FEATURES: Final[Mapping[str, float]] = MappingProxyType({})


class Application(NamedTuple):
    """One loan application: the firm's code, the bank's reference, amount, term, and the
    bank's own feature values (looked up in the bank's dataset when not given).

    A named tuple: a chunk of a book makes 5,000 of them per call, and a frozen dataclass
    cost three times as much to build."""

    code: str
    ref: str
    amount: float = 0.0
    term_months: int = 0
    features: Mapping[str, float] = _NO_FEATURES


@dataclass(frozen=True)
class Decided:
    """A decision as returned to the loan system."""

    ref: str
    record_id: str
    outcome: Outcome
    policy_version: str
    error: str = ""


@dataclass(frozen=True)
class Decisions:
    """A call's decisions as columns; iterating gives each ``Decided`` in application order."""

    refs: Sequence[str]
    call: str
    outcomes: Outcomes
    policy_version: str
    first: int = 0  # the row of the call's record these decisions start at
    tokens: Sequence[str] = ()  # the firms' tokens (this node's), for logging what leaves

    def __len__(self) -> int:
        return len(self.refs)

    def record_id(self, i: int) -> str:
        return f"dec-{self.call}-{self.first + i}"

    def split(self) -> list[Decisions]:
        """One ``Decisions`` per application (each caller of a gathered group gets its own)."""
        return [
            Decisions([ref], self.call, self.outcomes.rows(i, i + 1), self.policy_version,
                      self.first + i, self.tokens[i : i + 1])
            for i, ref in enumerate(self.refs)
        ]  # fmt: skip

    def __getitem__(self, i: int) -> Decided:
        return Decided(self.refs[i], self.record_id(i), self.outcomes[i], self.policy_version)

    def __iter__(self) -> Iterator[Decided]:
        return (self[i] for i in range(len(self)))


def check_applications(apps: Sequence[Application]) -> list[str]:
    """The normalized codes of ``apps``, all of them valid.

    Raises
    ------
    BadApplication
        A code is not a valid unified social credit code, a reference is malformed or holds
        its code, or an amount or term is negative.
    """
    codes = [uscc.normalize(a.code) for a in apps]
    if not valid_credit_codes(codes).all():
        raise BadApplication("uscc is not a valid unified social credit code (18 characters)")
    match = _REF.match
    for app, code in zip(apps, codes, strict=True):
        ref = app.ref
        if not match(ref) or (len(ref) >= 18 and code in uscc.normalize(ref)):
            raise BadApplication(
                "application_ref must be 1-64 letters, digits or ._:/- and must not hold the code"
            )
        if not (app.amount >= 0 and app.term_months >= 0):
            raise BadApplication("amount and term_months must not be negative")
    return codes


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
        frame: Callable[[str], pd.DataFrame],
        index_of: Callable[[str], FirmIndex],
        sink: AuditSink,
    ) -> None:
        self._me = me
        self._registry = registry
        self._records = records
        self._client = client
        self._pair_key = pair_key
        self._frame = frame
        self._index_of = index_of
        self._sink = sink
        self._in_force = (
            None if policy_path is None else DecisionPolicyInForce(policy_path, records, sink)
        )
        self._tables: dict[tuple[str, tuple[str, ...]], NDArray[np.float64]] = {}
        self._online: Gathering[Application, Decisions] = Gathering(
            lambda apps: self._decide_many(apps, online=True).split()
        )

    # configuration ---------------------------------------------------------------------

    def policy(self) -> DecisionPolicy:
        """The decision policy in force (re-read when its file changes; a change is recorded
        in the access log first).

        Raises
        ------
        NotReady
            No decision policy is configured.
        node.scoring.exceptions.DecisionPolicyError
            The file cannot be read or changed into something invalid (the previous version
            stays unused).
        node.scoring.exceptions.DecisionPolicyNotRecorded
            The access log did not take the change's entry (the next call retries).
        """
        if self._in_force is None:
            raise NotReady("this node has no decision policy; set scoring.decision_policy")
        return self._in_force.get()

    def _bank_part(self, policy: DecisionPolicy) -> tuple[str, BankPart]:
        try:
            deployment = self._registry.current(policy.model)
        except ModelNotFound as exc:
            raise NotReady(str(exc)) from None
        part = self._registry.part(deployment)
        if not isinstance(part, LogisticPart | TreePart) or (
            isinstance(part, TreePart) and part.ensemble is None
        ):
            raise NotReady(
                f"{deployment.label()} is a {part.info.kind} part without the model's head; "
                "decide at the node that trained the model's labels"
            )
        return deployment.label(), part

    def has_policy(self) -> bool:
        return self._in_force is not None

    def warm(self) -> None:
        """Name the bank's own firms to every holder of the policy now (pair keys and
        pseudonyms), rather than at the first decision."""
        policy = self.policy()
        _, part = self._bank_part(policy)
        index = self._index_of(part.info.dataset)
        for holder in policy.holders:
            index.pseudonyms_at(self._pair_key(holder), np.zeros(0, np.int64), [])

    # deciding --------------------------------------------------------------------------

    def _features(
        self, part: BankPart, apps: Sequence[Application], rows: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """The bank's feature values per application (n x the part's features): as given,
        else from the bank's table at ``rows`` (a firm the bank does not hold and that came
        without features is all missing, which the part handles as it was trained to)."""
        wanted = list(part.info.features)
        values = np.full((len(apps), len(wanted)), np.nan)
        given = np.array([all(f in a.features for f in wanted) for a in apps], np.bool_)
        if not given.all():
            table = self._table(part.info.dataset, tuple(wanted))
            look = ~given & (rows >= 0)
            values[look] = table[rows[look]]
        for i in np.flatnonzero(given).tolist():
            values[i] = [float(apps[i].features[f]) for f in wanted]
        return values

    def _table(self, dataset: str, columns: tuple[str, ...]) -> NDArray[np.float64]:
        """The bank's own columns as one float matrix, built once per dataset and columns."""
        key = (dataset, columns)
        table = self._tables.get(key)
        if table is None:
            frame = self._frame(dataset)
            table = self._tables[key] = frame[list(columns)].to_numpy(dtype=np.float64)
        return table

    def decide_many(self, apps: Sequence[Application]) -> Decisions:
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
            if len(apps) == 1:  # an online decision: decided with those arriving beside it
                check_applications(apps)  # a malformed one fails alone, not its group
                decided = self._online.submit(apps[0])
            else:
                decided = self._decide_many(apps, online=False)
            outcome = "decided"
            return decided
        finally:
            kind = "single" if len(apps) == 1 else "batch"
            record_scoring(kind, outcome, time.perf_counter() - began)

    def _decide_many(self, apps: Sequence[Application], *, online: bool) -> Decisions:
        """Decide ``apps`` as one call (a group of online decisions, or a batch)."""
        policy = self.policy()
        bank_version, part = self._bank_part(policy)
        codes = check_applications(apps)
        wait_ms = policy.deadline_ms if online else policy.batch_deadline_ms
        deadline = time.monotonic() + wait_ms / 1000.0
        refs = [a.ref for a in apps]
        # the bank's own firms are named by the index (tokens and pseudonyms made once)
        index = self._index_of(part.info.dataset)
        rows = index.rows_of_codes(codes)
        asked: dict[str, Pending] = {
            holder: self._client.submit(
                holder,
                wire.SCORE,
                {
                    "model": policy.model,
                    "job": part.info.job_id,
                    "refs": refs,
                    "firms": index.pseudonyms_at(self._pair_key(holder), rows, codes),
                },
                len(apps),
            )
            for holder in policy.holders
        }
        tokens = index.tokens_at(rows, codes)
        call = new_call_id()
        # the access-log entry is durable before the answer leaves; it is staged now and
        # committed while the holders work (one disk wait shared with them, not after them)
        logged = self._sink.subject_use_staged(
            self._me,
            Action.SCORE,
            "scoring",
            "decided",
            subjects=tuple(tokens),
            details={
                "decisions": len(apps),
                "policy": policy.version[:16],
                "model": bank_version,
                "records": f"dec-{call}-0..{len(apps) - 1}",
            },
        )
        values = self._features(part, apps, rows)
        replies: dict[str, Reply] = {
            holder: reply_of(pending, PartnerClient.wait(pending, deadline))
            for holder, pending in asked.items()
        }
        amounts = np.array([a.amount for a in apps], dtype=np.float64)
        outcomes = decide_with(policy, part, bank_version, values, replies, amounts)
        record = call_record(
            call, policy.version, bank_version, part, refs, tokens, amounts,
            np.array([a.term_months for a in apps], np.int32), values, replies, outcomes,
        )  # fmt: skip
        self._records.add(record, time.time())
        logged.wait()
        return Decisions(refs, call, outcomes, policy.version, tokens=tokens)

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


def decide_with(
    policy: DecisionPolicy,
    part: BankPart,
    bank_version: str,
    values: NDArray[np.float64],
    replies: Mapping[str, Reply],
    amounts: NDArray[np.float64],
) -> Outcomes:
    """The outcomes of n firms from the bank's feature values and the holders' replies."""
    contributions, holder_replies = combine(part, values, replies)
    return decide_many(
        policy,
        head=head_of(part),
        names=part.info.features,
        contributions=contributions,
        replies=holder_replies,
        amounts=amounts,
        bank_version=bank_version,
    )


def reply_of(pending: Pending, gap: str) -> Reply:
    """A holder's answer to a call, or its gap (``offline``, ``deadline``, or ``refused``
    when the answer does not fit the request: nothing of it is used)."""
    answer = pending.answer
    if gap or answer is None:
        return Gap(gap or "deadline")
    if not isinstance(answer, Answer):
        return Gap("refused", "malformed answer")
    if not answer.error:
        try:
            answer.check(pending.size)
        except MalformedAnswer:
            return Gap("refused", "malformed answer")
    return answer


def call_record(
    call: str,
    policy_version: str,
    bank_version: str,
    part: BankPart,
    refs: Sequence[str],
    tokens: Sequence[str],
    amounts: NDArray[np.float64],
    terms: NDArray[np.int32],
    values: NDArray[np.float64],
    replies: Mapping[str, Reply],
    outcomes: Outcomes,
) -> CallRecord:
    """Everything a call's decisions used, as one record of columns (``replay_record``)."""
    holders: list[dict[str, Any]] = []
    arrays: dict[str, NDArray[Any]] = {"amounts": amounts, "terms": terms, "values": values}
    for k, (holder, reply) in enumerate(replies.items()):
        if isinstance(reply, Gap):
            holders.append({"party": holder, "gap": reply.status, "detail": reply.detail})
        else:
            holders.append({"party": holder, "answer": dict(reply.header)})
            arrays.update({f"h{k}.{name}": a for name, a in reply.arrays.items()})
    outcome_header, outcome_arrays = outcomes.columns()
    arrays.update({f"o.{name}": a for name, a in outcome_arrays.items()})
    header = {
        "policy_version": policy_version,
        "bank_version": bank_version,
        "features": list(part.info.features),
        "refs": list(refs),
        "firms": list(tokens),
        "holders": holders,
        "outcome": outcome_header,
    }
    return CallRecord(call, header, arrays)


def replay_record(
    records: DecisionRecords, registry: ModelRegistry, record_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(recorded outcome, recomputed outcome) of a decision, from its record alone: the
    policy text kept for its version, the bank part of its recorded version, the bank's
    feature values and each holder's answer as it came.

    Raises
    ------
    node.scoring.exceptions.ScoringError
        No such record, or its policy version is not kept.
    node.models.ModelNotFound
        The recorded bank part is no longer in the registry.
    """
    from node.scoring.policy import parse_decision_policy

    record = records.find(record_id)
    if not isinstance(record, CallRecord):
        return _replay_legacy(records, registry, record)
    head = record.header
    policy = parse_decision_policy(records.policy_text(head["policy_version"]))
    name, _, version = str(head["bank_version"]).rpartition("@")
    part = registry.part(registry.deployment(name, int(version)))
    assert isinstance(part, LogisticPart | TreePart)
    replies: dict[str, Reply] = {
        party: Gap(answer, _gap_detail(head, party)) if isinstance(answer, str) else answer
        for party, answer in record.answers().items()
    }
    recorded = record.outcomes()[0]
    again = decide_with(
        policy, part, str(head["bank_version"]), np.asarray(record.arrays["values"], np.float64),
        replies, np.asarray(record.arrays["amounts"], np.float64),
    )[0]  # fmt: skip
    return recorded.to_dict(), again.to_dict()


def _gap_detail(header: Mapping[str, Any], party: str) -> str:
    return next((str(h.get("detail", "")) for h in header["holders"] if h["party"] == party), "")


def _replay_legacy(
    records: DecisionRecords, registry: ModelRegistry, record: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Replay a record of the first format (one JSON document per decision)."""
    from node.scoring.policy import parse_decision_policy

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
    return dict(record["outcome"]), outcome.to_dict()
