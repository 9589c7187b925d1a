"""The incident package as one self-contained HTML page a person can read and print.

The JSON file is the authoritative package (proofs included, machine-checkable); this page
presents the same facts for the people who must decide and notify: a summary, what left and
to whom, the timeline with each entry's proof status, the monitor's alerts and containment,
and how to verify everything independently. No script, no external resource.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

from node.governance.incident.collect import Access, IncidentReport

_STYLE: Final = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:80em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}code,.mono{font-family:ui-monospace,monospace;font-size:.9em}
.bad{color:#a00}.ok{color:#070}details{margin:.3em 0}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _proof(a: Access) -> str:
    if a.proof is None:
        return "not yet covered by a signed checkpoint"
    cp = a.proof.anchor.checkpoint
    source = "witnessed" if a.proof.witnessed else "node-signed"
    return f"verified ({len(a.proof.proof)} hashes, {source} checkpoint size {cp.size})"


def _what(a: Access) -> str:
    """The release id of a release, the operation of a containment, the findings of an alert."""
    d = a.entry.details
    if "detectors" in d:
        return f"{d['detectors']}: {d.get('summary', '')} ({d.get('action', '')})"
    return str(d.get("release_id") or d.get("operation") or "")


def _timeline(accesses: Sequence[Access]) -> str:
    rows = [
        (
            a.index,
            a.entry.time,
            a.entry.actor.label(),
            a.entry.action.value,
            a.entry.purpose,
            a.entry.dataset,
            ", ".join(a.entry.fields),
            "" if a.entry.rows is None else a.entry.rows,
            _what(a),
            a.entry.result,
            _proof(a),
        )
        for a in accesses
    ]
    header = ("#", "time (UTC)", "actor", "action", "purpose", "dataset", "fields", "rows",
              "release / alert / operation", "result", "proof")  # fmt: skip
    return _table(header, rows)


def _releases(report: IncidentReport) -> str:
    tokens = {
        a.entry.details.get("release_id"): a.entry.subjects
        for a in report.accesses
        if a.entry.action.value == "release"
    }
    parts = []
    for r in report.releases:
        rec = r.record
        firm_tokens = tokens.get(rec.release_id, ())
        parts.append(
            _table(
                ("release " + rec.release_id, ""),
                [
                    ("recipient", r.principal),
                    ("certificate", f"serial {r.cert_serial}, SHA-256 {r.cert_sha256}"),
                    ("time (UTC)", rec.at),
                    ("query", json.dumps(rec.query, ensure_ascii=False, sort_keys=True)),
                    ("policy version", rec.policy_version),
                    ("fields", ", ".join(rec.fields)),
                    ("rows", rec.rows),
                    ("SHA-256 of the table sent", rec.sha256),
                    ("fingerprint", rec.fingerprint.get("scheme", "none")),
                    ("access-log entry", r.log_index),
                ],
            )
            + f"<details><summary>{len(firm_tokens)} firm tokens of the released rows"
            "</summary><p class='mono'>" + _e(" ".join(firm_tokens)) + "</p></details>"
        )
    return "".join(parts) or "<p>No release to this principal in the window.</p>"


def render_html(report: IncidentReport) -> str:
    """The page for ``report``."""
    s = report.summary()
    by_action = ", ".join(f"{k} {v}" for k, v in s["by_action"].items())
    summary_rows: list[tuple[str, Any]] = [
        ("node", report.node_id),
        ("principals", ", ".join(report.principals)),
        ("window (UTC)", f"{report.since or 'beginning'} to {report.until or 'now'}"),
        ("accesses", f"{s['accesses']} ({by_action})"),
        ("first / last access", f"{s['first_access']} / {s['last_access']}"),
        ("releases", s["releases"]),
        ("rows released", s["rows_released"]),
        ("distinct firms released", s["distinct_firms_released"]),
        ("fields released", ", ".join(s["fields_released"])),
        ("policy versions", ", ".join(s["policy_versions"])),
        ("recipients", ", ".join(s["recipients"])),
        ("alerts", s["alerts"]),
        ("containment", "; ".join(s["containment_actions"]) or "none"),
        ("entries without proof yet", s["unproven_entries"]),
    ]  # fmt: skip
    trace = ""
    if report.trace is not None:
        t = report.trace
        matches = [
            (m.release.record.release_id, m.release.principal, f"{10**m.log10_bound:.1e}",
             m.exact_copy)
            for m in t.matches
        ]  # fmt: skip
        header = ("release", "recipient", "false-accusation bound", "exact copy")
        trace = (
            "<h2>Leaked file</h2>"
            + _table(header, matches)
            + f"<p>{_e(t.source)}: {t.rows} rows, tested against {t.verdict.tested} releases.</p>"
        )
    anchor = next((a.proof.anchor for a in report.accesses if a.proof), None)
    checkpoint = (
        f"<pre class='mono'>{_e(anchor.checkpoint.to_bytes().decode('ascii'))}</pre>"
        if anchor
        else "<p class='bad'>No entry is covered by a signed checkpoint yet.</p>"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Incident {_e(report.incident_id)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Data-access incident report {_e(report.incident_id)}</h1>"
        f"<p>Created {_e(report.created)} by node {_e(report.node_id)} from its tamper-evident "
        "access log. Firms are named only by the node's firm tokens; the node can map a "
        "token back to a firm for the notification of that firm.</p>"
        "<h2>Summary</h2>" + _table(("", ""), summary_rows) + trace
        + "<h2>What left, to whom, under which policy</h2>" + _releases(report)
        + "<h2>Timeline of accesses</h2>" + _timeline(report.accesses)
        + "<h2>Monitor alerts and containment</h2>" + _timeline(report.node_actions)
        + "<h2>Evidence</h2><p>Every entry above is in the JSON package with its exact bytes, "
        "its RFC 6962 inclusion proof and the checkpoint it was checked against. Anyone with "
        "the node's certificate re-checks them: <code>fedcredit-audit prove LOG INDEX "
        "--public-key NODE.crt --checkpoint CP</code>, or offline from the JSON.</p>"
        + checkpoint
        + "".join(f"<p>{_e(n)}</p>" for n in report.notes)
        + "</body></html>"
    )  # fmt: skip
