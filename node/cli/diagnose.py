"""``fedcredit diagnose``: pre-flight checks of a node, from its own configuration file.

One line per check (``OK``, ``WARN`` or ``FAIL``, what was found, and the fix), in this
order: the policy, the certificate and the CA, the disk under the state folder, the
coordinator (mTLS), round trip and clock skew against it, a round trip through the relay to
every other registered node, the largest message that passes, and with ``--job`` whether the
policy covers this node's part of a job file. The network checks are sealed pings outside any
job (``node.transport.probe``); nothing is written to the node's state or access log, so it
runs beside a running node as well as before the first start.

Exit codes (node/cli/exit_codes.py): 0 all OK, 30 warnings only, 31 at least one check failed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from node.cli.exit_codes import ExitCode
from node.diagnose.findings import Finding, Level, worst
from node.diagnose.local import (
    certificate_findings,
    disk_finding,
    job_code_finding,
    job_findings,
    policy_engine,
)
from node.diagnose.remote import (
    Session,
    connect,
    coordinator_findings,
    message_finding,
    peer_findings,
)
from node.runtime.config import ConfigError, load_node_config

EXIT_BY_LEVEL = {
    Level.OK: ExitCode.OK,
    Level.WARN: ExitCode.DIAGNOSE_WARNINGS,
    Level.FAIL: ExitCode.DIAGNOSE_FAILED,
}
NETWORK = ("rtt", "clock", "peers", "message")


def diagnose(
    config: Annotated[Path, typer.Option("--config", help="the node's configuration YAML")],
    job: Annotated[
        Path | None, typer.Option("--job", help="a job file: does the policy cover it?")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Check a node before (or while) it runs: certificates, clock, links, disk, policy."""
    findings = run_checks(config, job, lambda f: _show(f, output))
    level = worst(findings)
    if output == "json":
        rows = [vars(f) | {"level": f.level.name} for f in findings]
        typer.echo(json.dumps({"worst": level.name, "findings": rows}))
    else:
        counts = {lv: sum(f.level is lv for f in findings) for lv in Level}
        typer.echo(
            f"diagnose: {counts[Level.OK]} ok, {counts[Level.WARN]} warnings, "
            f"{counts[Level.FAIL]} failures (exit {int(EXIT_BY_LEVEL[level])})"
        )
    raise typer.Exit(EXIT_BY_LEVEL[level])


def _show(finding: Finding, output: str) -> None:
    if output != "json":
        typer.echo(finding.line())


def run_checks(
    config_path: Path, job: Path | None, show: Callable[[Finding], None]
) -> list[Finding]:
    """Every check in order; ``show`` gets each finding as soon as it is known."""
    findings: list[Finding] = []

    def add(*found: Finding) -> None:
        for f in found:
            findings.append(f)
            show(f)

    try:
        config = load_node_config(config_path)
    except ConfigError as exc:
        add(Finding("config", Level.FAIL, str(exc), "fix the node configuration file"))
        return findings
    engine, finding = policy_engine(config)
    add(finding)
    creds, found = certificate_findings(config)
    add(*found)
    add(disk_finding(config.state_dir))
    add(job_code_finding())
    session: Session | None = None
    if creds is None:
        add(Finding("coordinator", Level.FAIL, "not contacted: no certificate to present"))
    else:
        session, finding = connect(creds, config.coordinator)
        add(finding)
    try:
        if session is None:
            unmeasured = "not measured (no connection to the coordinator)"
            add(*(Finding(check, Level.FAIL, unmeasured) for check in NETWORK))
        else:
            add(*coordinator_findings(session))
            add(*peer_findings(session))
            add(message_finding(session))
        if job is not None and engine is not None:
            if creds is None:
                add(Finding(f"job {job.name}", Level.FAIL, "not checked: no certificate"))
            else:
                lookup = session.identity_of if session is not None else None
                add(*job_findings(job, config, engine, creds.identity, lookup))
    finally:
        if session is not None:
            session.close()
    return findings
