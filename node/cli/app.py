"""``fedcredit``: the operator's command, one sub-command group per concern."""

from __future__ import annotations

import typer

from node.cli import (
    audit,
    certs,
    consent,
    data,
    decide,
    diagnose,
    incident,
    init,
    models,
    monitor,
    policy,
    trace,
)
from node.cli.guard import run_guarded
from node.cli.jobs import jobs_app, nodes_app

app = typer.Typer(
    help="fedcredit: federated credit-risk modelling for SMEs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(jobs_app, name="jobs")
app.add_typer(nodes_app, name="nodes")
app.add_typer(policy.app, name="policy")
app.add_typer(audit.app, name="audit")
app.add_typer(data.app, name="data")
app.add_typer(certs.app, name="certs")
app.command("trace")(trace.trace)
app.add_typer(incident.app, name="incident")
app.command("init")(init.init)
app.command("diagnose")(diagnose.diagnose)
app.add_typer(models.app, name="models")
app.add_typer(decide.app, name="decide")
app.add_typer(consent.app, name="consent")
app.add_typer(monitor.app, name="monitor")
audit.app.command("uses")(consent.audit)


def main() -> None:
    run_guarded(app, "fedcredit")


def audit_main() -> None:
    """``fedcredit-audit``: the audit group on its own, under the same guard."""
    run_guarded(audit.app, "fedcredit-audit")


if __name__ == "__main__":
    main()
