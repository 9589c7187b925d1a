"""What the coordinator's console shows, read straight from its store, relay and witness.

The pages call the same domain objects the gRPC servicer calls (``CoordinatorStore``,
``JobRunner.submit``, ``CheckpointWitness.latest``); nothing here re-implements a rule.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from starlette.responses import RedirectResponse, Response

from coordinator.jobs import JobRunner
from coordinator.state import CoordinatorStore, JobRecord
from coordinator.witness import CheckpointWitness
from node.cli.results import label_holder, outcome
from node.console.app import Ask, Page, Refused, when
from node.console.charts import ks_chart, lift_chart, line_chart, roc_chart
from node.jobs.exceptions import DuplicateJobId, JobSpecError
from node.pki.roles import AUDITOR, BANK, DATA_HOLDERS, OPERATOR

TEMPLATES: Final = Path(__file__).parent / "templates"
JOB_TEMPLATES: Final = Path(__file__).resolve().parents[2] / "scripts" / "jobs"
WATCHERS: Final = frozenset({*DATA_HOLDERS, OPERATOR, AUDITOR})  # as ListJobs/WatchJob
SUBMITTERS: Final = frozenset({OPERATOR, BANK})  # as SubmitJob
AUDIT_VIEWERS: Final = frozenset({AUDITOR, OPERATOR})
EXPIRY_WARNING: Final = dt.timedelta(days=30)


def _expiry(pem: bytes) -> tuple[str, bool]:
    """The certificate's end of validity, and whether it ends within ``EXPIRY_WARNING``."""
    end = x509.load_pem_x509_certificate(pem).not_valid_after_utc
    return end.strftime("%Y-%m-%d"), end - dt.datetime.now(dt.UTC) < EXPIRY_WARNING


@dataclass(frozen=True)
class CoordinatorViews:
    """The coordinator's pages over its live parts."""

    store: CoordinatorStore
    runner: JobRunner
    witness: CheckpointWitness
    is_online: Callable[[str], bool]
    own_certificate: bytes
    # the fedcredit version a node reported at its latest registration ("" if unknown)
    software_version: Callable[[str], str] = lambda node_id: ""

    def pages(self) -> list[Page]:
        everyone = frozenset({*WATCHERS})
        return [
            Page("/", "overview", "Federation", everyone, self.overview),
            Page("/jobs", "jobs", "Jobs", WATCHERS, self.jobs),
            Page(
                "/jobs/new",
                "submit",
                "Submit a job",
                SUBMITTERS,
                self.submit,
                methods=("GET", "POST"),
            ),
            Page("/jobs/{job_id}", "job", "Job", WATCHERS, self.job, in_nav=False),
            Page("/witness", "witness", "Witness", AUDIT_VIEWERS, self.checkpoints),
            Page(
                "/witness/{node_id}/checkpoint",
                "witness_checkpoint",
                "Checkpoint file",
                AUDIT_VIEWERS,
                self.checkpoint_file,
                in_nav=False,
            ),
        ]

    # pages -----------------------------------------------------------------------------

    def overview(self, ask: Ask) -> Page.Result:
        nodes = []
        for n in self.store.nodes():
            ends, soon = _expiry(n.certificate_pem)
            datasets = json.loads(n.datasets_json)
            nodes.append(
                {
                    "id": n.node_id,
                    "organization": n.organization,
                    "role": n.role,
                    "online": self.is_online(n.node_id),
                    "version": self.software_version(n.node_id) or "-",
                    "last_seen": when(n.last_seen),
                    "policy": n.policy_version[:16] or "-",
                    "cert_ends": ends,
                    "cert_soon": soon,
                    "datasets": ", ".join(
                        f"{d['name']} ({d.get('rows', '?')} rows)" for d in datasets
                    ),
                }
            )
        ends, soon = _expiry(self.own_certificate)
        states: dict[str, int] = {}
        for job in self.store.jobs():
            states[job.state.value] = states.get(job.state.value, 0) + 1
        return "coordinator/overview.html", {
            "nodes": nodes,
            "states": states,
            "version": version("fedcredit"),
            "own_cert_ends": ends,
            "own_cert_soon": soon,
            "online": sum(n["online"] for n in nodes),
        }

    def jobs(self, ask: Ask) -> Page.Result:
        rows = sorted(self.store.jobs(), key=lambda j: j.created_at, reverse=True)
        return "coordinator/jobs.html", {"jobs": [_job_row(j) for j in rows]}

    def job(self, ask: Ask) -> Page.Result:
        record = self.store.job(ask.param("job_id"))
        if record is None:
            raise Refused(404, f"no job {ask.param('job_id')!r}; see the job list")
        events = [e for _, e in self.store.events(record.job_id)]
        progress: dict[tuple[str, str], dict[str, Any]] = {}
        for e in events:
            if e.kind == "progress":
                stage = str(e.detail.get("stage", ""))
                progress[(e.party, stage)] = {
                    "party": e.party,
                    "stage": stage,
                    "step": e.detail.get("step", 0),
                    "total": e.detail.get("total", 1) or 1,
                    "metrics": e.detail.get("metrics", {}),
                }
        result = json.loads(record.result_json or "{}")
        return "coordinator/job.html", {
            "job": _job_row(record),
            "spec": record.spec_yaml.decode(errors="replace"),
            "progress": list(progress.values()),
            "events": [
                {
                    "time": when(e.time),
                    "kind": e.kind,
                    "party": e.party,
                    "detail": e.detail.get("error") or e.detail.get("stage") or "",
                }
                for e in events
                if e.kind != "progress"
            ],
            "model": _model_view(record.job_type, result),
            "refresh": 3 if not record.state.finished else None,
        }

    def submit(self, ask: Ask) -> Page.Result:
        templates = {p.stem: p.read_text() for p in sorted(JOB_TEMPLATES.glob("*.yaml"))}
        chosen = ask.param("template", "check")
        context: dict[str, Any] = {
            "templates": sorted(templates),
            "chosen": chosen,
            "spec": templates.get(chosen, ""),
            "job_id": "",
            "errors": [],
        }
        if ask.form is None:
            return "coordinator/submit.html", context
        spec, job_id = ask.field("spec"), ask.field("job_id").strip()
        context.update(spec=spec, job_id=job_id)
        who = ask.viewer.identity
        try:
            record = self.runner.submit(spec.encode(), f"{who.organization}/{who.node_id}", job_id)
        except (JobSpecError, DuplicateJobId) as exc:
            context["errors"] = [str(exc)]
            return "coordinator/submit.html", context
        return RedirectResponse(f"/jobs/{record.job_id}", status_code=303)

    def checkpoints(self, ask: Ask) -> Page.Result:
        rows = []
        for n in self.store.nodes():
            held = self.witness.latest(n.node_id)
            rows.append(
                {
                    "node": n.node_id,
                    "organization": n.organization,
                    "size": held.size if held else None,
                    "root": held.checkpoint.root.hex()[:16] if held else "",
                    "time": held.checkpoint.time if held else "",
                }
            )
        evidence = [
            {
                "node": e.node_id,
                "kind": e.kind,
                "held": e.held.size,
                "offered": e.offered.size,
                "at": when(e.detected_at),
            }
            for e in self.witness.evidence()
        ]
        return "coordinator/witness.html", {"rows": rows, "evidence": evidence}

    def checkpoint_file(self, ask: Ask) -> Page.Result:
        node_id = ask.param("node_id")
        held = self.witness.latest(node_id)
        if held is None:
            raise Refused(404, f"the witness holds no checkpoint of {node_id!r}")
        return Response(
            held.to_bytes(),
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{node_id}.checkpoint"'},
        )


def _job_row(j: JobRecord) -> dict[str, Any]:
    result = json.loads(j.result_json or "{}")
    return {
        "id": j.job_id,
        "type": j.job_type,
        "state": j.state.value,
        "attempt": j.attempt,
        "parties": ", ".join(j.parties),
        "submitted_by": j.submitted_by,
        "created": when(j.created_at),
        "outcome": outcome(j.job_type, j.state.value, result, j.error),
    }


def _model_view(job_type: str, result: Mapping[str, Any]) -> dict[str, Any] | None:
    """Curves, per-epoch/round/tree history, contributions and the scorecard of a result."""
    holder = label_holder(result)
    if job_type == "horizontal":
        history = result.get("coordinator", {}).get("history", [])
        points = [(float(h["round"]), float(h["val_auc"])) for h in history if "val_auc" in h]
        return {
            "history_title": "rounds",
            "history": [_scalars(h) for h in history],
            "history_chart": line_chart(
                "Validation AUC by round", [("AUC", points)], "round", "AUC"
            )
            if points
            else None,
        }
    if holder is None:
        return None
    history = list(holder.get("history", []))
    step = "tree" if job_type == "secureboost" else "epoch"
    metric = next((k for k in ("val_auc", "auc", "valid_auc") if history and k in history[0]), "")
    points = [
        (float(h.get(step, i + 1)), float(h[metric])) for i, h in enumerate(history) if metric
    ]
    curves = holder.get("curves") or {}
    if job_type == "secureboost":
        importance = holder.get("importance", {})
        total = sum(p["gain"] for p in importance.values()) or 1.0
        shares = {party: p["gain"] / total for party, p in importance.items()}
    else:
        shares = dict(holder.get("contribution", {}))
    return {
        "metrics": {
            "federated": holder.get("metrics", {}),
            "bank alone": holder.get("bank_only", {}),
        },
        "split": holder.get("metrics_split", "test"),
        "history_title": f"{step}s",
        "history": [_scalars(h) for h in history],
        "history_chart": line_chart(f"{metric} by {step}", [(metric, points)], step, metric)
        if points
        else None,
        "contribution": shares,
        "roc": roc_chart(curves["roc"]) if curves.get("roc") else None,
        "ks": ks_chart(curves["ks"]) if curves.get("ks") else None,
        "lift": lift_chart(curves["lift"]) if curves.get("lift") else None,
        "lift_rows": curves.get("lift", []),
        "scorecard": holder.get("scorecard"),
        "points": holder.get("points"),
        "calibration": holder.get("probabilities", {}).get("calibration", []),
    }


def _scalars(row: Mapping[str, Any]) -> dict[str, Any]:
    """A history row without its nested parts (per-bank lists and the like)."""
    return {k: v for k, v in row.items() if not isinstance(v, list | dict)}
