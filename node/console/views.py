"""What a node's console shows: its log for auditors, what left it for its own staff, a policy
preview, and the bank's decisions and watch list for its loan officers.

Every page calls the domain code the CLIs and the node's RPCs call (``verify_log``,
``LogReader.search``/``inclusion_proof``, ``PolicyEngine.preview``, ``DecisionRecords``,
``MonitoringService``); nothing here re-implements a rule. Pages for a bank's loan officers and
for a data holder's staff require the viewer's certificate to name this node's organization,
as the node's own RPCs do.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.audit import Actor, LogReader
from node.audit.checkpoint import SignedCheckpoint
from node.audit.entry import Action
from node.audit.exceptions import AuditError, TamperDetected
from node.audit.log import format_time
from node.audit.merkle import leaf_hash, verify_inclusion
from node.audit.search import SearchQuery
from node.audit.verify import verify_log
from node.console.app import Ask, Page, Refused
from node.console.leak_trace import MAX_UPLOAD, trace_upload
from node.data.datasets import NodeDatasets
from node.governance.offline import NodeFiles
from node.governance.service import NodeGovernance
from node.monitoring.exceptions import MonitoringError
from node.monitoring.policy import LEVELS
from node.monitoring.service import MonitoringService
from node.monitoring.workflow import ACTIONS
from node.pki.identity import Identity
from node.pki.roles import AUDITOR, DATA_HOLDERS, LOAN_OFFICER, OPERATOR
from node.policy import PolicyEngine, PolicyError
from node.policy.model import DATA_PURPOSES, Role
from node.scoring.exceptions import ScoringError
from node.scoring.records import DecisionRecords
from node.transport.errors import ServiceError

# Actions by which data leaves a node (or is used for another party), for "what left".
LEFT: Final = (Action.READ, Action.RELEASE, Action.TRAINING_USE, Action.SCORE, Action.PSI_RUN)
PREVIEW_ROWS: Final = 5


@dataclass(frozen=True)
class NodeViews:
    """The node's pages over its live parts."""

    identity: Identity
    log_dir: Path
    engine: PolicyEngine
    datasets: NodeDatasets
    records: DecisionRecords | None
    monitoring: Callable[[], MonitoringService | None]
    certificate_ends: dt.datetime
    node_governance: NodeGovernance | None = None
    node_files: Callable[[], NodeFiles] | None = None  # read-only, as `fedcredit trace` opens

    def pages(self) -> list[Page]:
        staff = frozenset({*DATA_HOLDERS, OPERATOR})
        everyone = frozenset({*staff, AUDITOR, LOAN_OFFICER})
        incidents = frozenset({AUDITOR, OPERATOR, *DATA_HOLDERS})
        lending = frozenset({LOAN_OFFICER})
        return [
            Page("/", "home", "Node", everyone, self.home),
            Page("/audit", "audit", "Audit", frozenset({AUDITOR}), self.audit,
                 methods=("GET", "POST")),
            Page("/audit/entry/{index:int}", "audit_entry", "Entry and proof",
                 frozenset({AUDITOR}), self.entry, in_nav=False),
            Page("/left", "left", "What left this node", frozenset({*DATA_HOLDERS, AUDITOR}),
                 self.left, own_organization=False),
            Page("/policy", "policy", "Policy preview", staff, self.policy),
            Page("/decisions", "decisions", "Decisions", lending, self.decisions,
                 own_organization=True),
            Page("/decisions/{record_id}", "decision", "Decision", lending, self.decision,
                 own_organization=True, in_nav=False),
            Page("/watchlist", "watchlist", "Watch list", lending, self.watchlist,
                 own_organization=True, methods=("GET", "POST")),
            Page("/governance", "governance", "Incidents and leaks", incidents, self.governance,
                 methods=("GET", "POST")),
            Page("/governance/trace", "trace", "Trace a leaked file", incidents, self.trace,
                 methods=("GET", "POST"), in_nav=False, max_body=MAX_UPLOAD + 2**16),
        ]  # fmt: skip

    def _reader(self) -> LogReader:
        return LogReader.open(self.log_dir)

    # everyone --------------------------------------------------------------------------

    def home(self, ask: Ask) -> Page.Result:
        with self._reader() as reader:
            size, latest = reader.size, reader.latest_checkpoint()
        soon = self.certificate_ends - dt.datetime.now(dt.UTC) < dt.timedelta(days=30)
        return "node/home.html", {
            "me": self.identity,
            "policy": self.engine.version,
            "datasets": self.datasets.names(),
            "log_size": size,
            "checkpoint": latest,
            "cert_ends": self.certificate_ends.strftime("%Y-%m-%d"),
            "cert_soon": soon,
        }

    # auditor ---------------------------------------------------------------------------

    def audit(self, ask: Ask) -> Page.Result:
        context: dict[str, Any] = {"actions": [a.value for a in Action], "query": {}}
        if ask.form is not None:
            context["verify"] = self._verify(ask)
        query = {k: ask.param(k) for k in ("actor", "action", "since", "until", "job", "dataset")}
        if any(query.values()):
            context["query"] = query
            context["hits"] = self._search(query)
        return "node/audit.html", context

    def _verify(self, ask: Ask) -> dict[str, Any]:
        upload = ask.form.get("checkpoint") if ask.form is not None else None
        raw = upload.file.read() if upload is not None and hasattr(upload, "file") else b""
        key = Ed25519PublicKey.from_public_bytes(self.identity.sign_public)
        try:
            checkpoint = SignedCheckpoint.from_bytes(raw) if raw else None
        except AuditError as exc:
            return {"verdict": "bad input", "problem": f"not a checkpoint file: {exc}"}
        with self._reader() as reader:
            try:
                report = verify_log(reader, key, checkpoint)
            except TamperDetected as exc:
                return {"verdict": "FAILED", "findings": [f.to_json_obj() for f in exc.findings]}
        verdict = "OK" if checkpoint is not None else "UNANCHORED"
        return {"verdict": verdict, "report": report.to_json_obj(), "findings": []}

    def _search(self, query: dict[str, str]) -> list[dict[str, Any]]:
        try:
            search = SearchQuery(
                actor=query["actor"] or None,
                action=Action(query["action"]) if query["action"] else None,
                since=query["since"] or None,
                until=query["until"] or None,
                job_id=query["job"] or None,
                dataset=query["dataset"] or None,
                limit=200,
            )
        except ValueError:
            raise Refused(400, f"unknown action {query['action']!r}") from None
        with self._reader() as reader:
            return [_entry_row(i, e) for i, e in reader.search(search)]

    def entry(self, ask: Ask) -> Page.Result:
        index = int(ask.param("index"))
        with self._reader() as reader:
            checkpoint = reader.latest_checkpoint()
            if checkpoint is None or not 0 <= index < checkpoint.size:
                raise Refused(404, f"entry {index} is not covered by a signed checkpoint yet")
            data = reader.entry_bytes(index)
            proof = reader.inclusion_proof(index, checkpoint.size)
            entry = reader.entry(index)
        verify_inclusion(leaf_hash(data), index, checkpoint.size, proof, checkpoint.checkpoint.root)
        return "node/entry.html", {
            "row": _entry_row(index, entry),
            "proof": [h.hex() for h in proof],
            "checkpoint": checkpoint,
            "entry_json": data.decode(errors="replace"),
        }

    # data holder staff -----------------------------------------------------------------

    def left(self, ask: Ask) -> Page.Result:
        if ask.viewer.identity.role != AUDITOR and (
            ask.viewer.identity.organization != self.identity.organization
        ):
            raise Refused(403, "only this node's own staff (or an auditor) see what left it")
        rows: list[dict[str, Any]] = []
        with self._reader() as reader:
            for action in LEFT:
                found = reader.search(SearchQuery(action=action, limit=500))
                rows += [_entry_row(i, e) for i, e in found if e.result == "allowed"]
        rows.sort(key=lambda r: r["index"], reverse=True)
        by_recipient: dict[str, int] = {}
        for r in rows:
            by_recipient[r["actor"]] = by_recipient.get(r["actor"], 0) + 1
        return "node/left.html", {"rows": rows[:300], "by_recipient": by_recipient}

    def policy(self, ask: Ask) -> Page.Result:
        names = self.datasets.names()
        dataset = ask.param("dataset", names[0] if names else "")
        purpose = ask.param("purpose", "release")
        role = ask.param("role", Role.BANK.value)
        context: dict[str, Any] = {
            "datasets": names, "dataset": dataset, "purpose": purpose, "role": role,
            "purposes": [p.value for p in DATA_PURPOSES], "roles": [r.value for r in Role],
            "version": self.engine.version,
        }  # fmt: skip
        if dataset in names:
            # a throw-away key, as `fedcredit policy dry-run`: tokens differ from real output
            engine = PolicyEngine(self.engine.policy, os.urandom(32))
            frame = self.datasets.frame(dataset).head(PREVIEW_ROWS)
            try:
                outcome, masked = engine.preview(role, purpose, dataset, frame, "preview")
            except PolicyError as exc:
                context["problem"] = str(exc)
            else:
                fields = self.engine.policy.datasets[dataset].fields
                context["preview"] = [
                    {
                        "field": name,
                        "class": fields[name].field_class.value if name in fields else "?",
                        "how": how,
                        "values": [str(v) for v in masked[name].tolist()]
                        if name in masked.columns
                        else ["-"] * len(masked),
                    }
                    for name, how in outcome.items()
                ]
        return "node/policy.html", context

    # the bank's loan officers ----------------------------------------------------------

    def decisions(self, ask: Ask) -> Page.Result:
        rows = list(self.records.latest(50)) if self.records is not None else []
        return "node/decisions.html", {"rows": rows, "scoring": self.records is not None}

    def decision(self, ask: Ask) -> Page.Result:
        if self.records is None:
            raise Refused(404, "this node keeps no decisions (no scoring section)")
        try:
            record = self.records.get(ask.param("record_id"))
        except ScoringError as exc:
            raise Refused(404, str(exc)) from None
        return "node/decision.html", {"r": record}

    def watchlist(self, ask: Ask) -> Page.Result:
        service = self.monitoring()
        context: dict[str, Any] = {"enabled": service is not None, "actions": list(ACTIONS)}
        if service is None:
            return "node/watchlist.html", context
        if ask.form is not None:
            who = ask.viewer.identity
            try:
                service.act(
                    ask.field("alert_id"), ask.field("action"),
                    Actor(who.organization, who.node_id, who.role), ask.field("note"),
                )  # fmt: skip
                context["done"] = f"{ask.field('action')} recorded on {ask.field('alert_id')}"
            except MonitoringError as exc:
                context["problem"] = str(exc)
        level = ask.param("level", "yellow")
        index = LEVELS.index(level) if level in LEVELS else 1
        context.update(
            level=level, levels=LEVELS,
            counts={LEVELS[k]: v for k, v in service.store.level_counts().items()},
            watch=service.store.watchlist(index, 200),
            alerts=service.store.alerts(ask.param("state"), "", 200),
        )  # fmt: skip
        return "node/watchlist.html", context

    # traceability (node.governance, when present) --------------------------------------

    def governance(self, ask: Ask) -> Page.Result:
        """Containments in force (an operator lifts them here), alerts, recent releases."""
        who = self._incident_viewer(ask)
        governance = self.node_governance
        context: dict[str, Any] = {"enabled": governance is not None}
        if governance is None:
            return "node/governance.html", context
        if ask.form is not None:
            if who.role != OPERATOR:
                raise Refused(403, "only an operator lifts a containment")
            principal = ask.field("principal")
            try:
                operator = f"{who.organization}/{who.node_id}/{who.role}"
                governance.containment.lift(principal, operator, ask.field("note"))
                context["done"] = f"containment of {principal} lifted"
            except ServiceError as exc:
                context["problem"] = exc.public_text
        with self._reader() as reader:
            alerts = reader.search(SearchQuery(action=Action.ALERT, limit=100_000))
        releases = governance.releases.registry.releases()
        context.update(
            can_lift=who.role == OPERATOR,
            contained=[
                {**c.to_dict(), "since": format_time(c.since)}
                for c in governance.containment.active()
            ],
            alerts=[{"index": i, "time": e.time, **e.details} for i, e in reversed(alerts)][:200],
            releases=[r.to_dict() for r in reversed(releases)][:200],
        )  # fmt: skip
        return "node/governance.html", context

    def trace(self, ask: Ask) -> Page.Result:
        """Name the release an uploaded leaked file came from, as ``fedcredit trace`` does."""
        self._incident_viewer(ask)
        context: dict[str, Any] = {
            "enabled": self.node_governance is not None and self.node_files is not None,
            "limit_mib": MAX_UPLOAD // 2**20,
            "can_prove": ask.viewer.identity.role == AUDITOR,
        }
        if ask.form is not None and self.node_files is not None and context["enabled"]:
            context.update(trace_upload(ask.form.get("leaked"), self.node_files))
        return "node/trace.html", context

    def _incident_viewer(self, ask: Ask) -> Identity:
        who = ask.viewer.identity
        if who.role not in (AUDITOR, OPERATOR) and who.organization != self.identity.organization:
            raise Refused(403, "only this node's own staff, its operators and auditors see this")
        return who


def _entry_row(index: int, e: Any) -> dict[str, Any]:
    return {
        "index": index,
        "time": e.time,
        "actor": e.actor.label(),
        "action": e.action.value,
        "purpose": e.purpose,
        "result": e.result,
        "job": e.job_id,
        "dataset": e.dataset,
        "fields": ", ".join(e.fields),
        "rows": e.rows,
        "policy": e.policy_version[:16],
        "subjects": len(e.subjects),
    }
