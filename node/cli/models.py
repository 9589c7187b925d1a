"""``fedcredit models``: deploy a finished job's part at this node; list, promote, roll back.

Works on the node's state folder (named by its config), also while the node runs: the node
reads the registry on every request. Exit codes: 0 done, 2 bad input, 3 configuration.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from node.cli._lending_support import fail, node_config
from node.cli.exit_codes import ExitCode
from node.data.datasets import NodeDatasets
from node.data.exceptions import DatasetError
from node.models import ModelError, ModelRegistry
from node.models.deploy import deploy_job
from node.monitoring.deployment import NoGainOverBankAlone, Verb, into_service
from node.monitoring.exceptions import MonitoringError
from node.runtime.config import NodeConfig

app = typer.Typer(help="Deployed model parts at this node.", no_args_is_help=True)
ConfigOpt = Annotated[Path, typer.Option("--config", help="The node's configuration file.")]


def _registry(config: Path) -> ModelRegistry:
    return ModelRegistry(node_config(config).state_dir)


def _rule(cfg: NodeConfig, name: str, job: str, force: bool, verb: Verb) -> str:
    """The early-warning deployment rule for putting ``job``'s part into service as
    ``name`` (``into_service``): what to print once done; a refusal ends the command. Only
    the policy file is read (the rest of the monitoring section, e.g. a webhook's secret,
    has no say in which version scores the book)."""
    section = cfg.monitoring
    policy = Path(section.policy) if section is not None and section.policy else None
    try:
        return into_service(policy, cfg.state_dir, name, job, force, verb)
    except NoGainOverBankAlone as exc:
        fail(str(exc), ExitCode.FAILED)
    except MonitoringError as exc:
        fail(str(exc), ExitCode.CONFIG)


@app.command()
def deploy(
    config: ConfigOpt,
    job: Annotated[str, typer.Option(help="The finished training job whose part to deploy.")],
    name: Annotated[str, typer.Option(help="Model name decisions refer to.")] = "sme-pd",
    dataset: Annotated[
        str, typer.Option(help="Dataset the part scores (default: the only one).")
    ] = "",
    preprocess: Annotated[str, typer.Option(help="The job's preprocess mode.")] = "log_standardize",
    promote: Annotated[bool, typer.Option(help="Make it the current version.")] = True,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Deploy an early-warning model that does not beat the bank alone."
        ),
    ] = False,
) -> None:
    """Deploy this node's part of training job JOB as the next version of NAME.

    The early-warning model the node's monitoring policy names is deployed at the bank only
    where the job's federated AUC beats the bank alone's (both from the job's summary this
    node kept): otherwise the bank's own model keeps scoring the book, unless --force. The
    rule guards putting a version into service: with --no-promote it is not checked here but
    by ``models promote``."""
    cfg = node_config(config)
    said = _rule(cfg, name, job, force, "deploy") if promote else ""
    try:
        deployed = deploy_job(
            cfg.state_dir, NodeDatasets(cfg.datasets), job, name, dataset, preprocess, promote
        )
    except (ModelError, DatasetError, ValueError) as exc:
        fail(str(exc))
    console = Console()
    console.print(
        f"deployed {deployed.label()} (job {job}, {deployed.kind})"
        + (", current" if deployed.current else "")
    )
    if said:
        console.print(said)


@app.command("list")
def list_(
    config: ConfigOpt,
    name: Annotated[str, typer.Option(help="Only this model.")] = "",
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """List deployments, oldest first; the current one is marked."""
    rows = _registry(config).list(name or None)
    if output == "json":
        Console().print_json(json.dumps([r.__dict__ for r in rows]))
        return
    table = Table("model", "version", "kind", "job", "status", "deployed", "current")
    for r in rows:
        when = datetime.fromtimestamp(r.deployed_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(
            r.name, str(r.version), r.kind, r.job_id, r.status, when, "*" if r.current else ""
        )
    Console().print(table)


@app.command()
def promote(
    config: ConfigOpt,
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version to make current.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Promote an early-warning model that does not beat the bank alone."
        ),
    ] = False,
) -> None:
    """Make VERSION of NAME current.

    The early-warning model the node's monitoring policy names is promoted under the rule
    ``deploy`` applies: only where its job's federated AUC beats the bank alone's, unless
    --force."""
    cfg = node_config(config)
    registry = ModelRegistry(cfg.state_dir)
    try:
        said = _rule(cfg, name, registry.deployment(name, version).job_id, force, "promote")
        deployed = registry.promote(name, version)
    except ModelError as exc:
        fail(str(exc))
    Console().print(f"{deployed.label()} is current")
    if said:
        Console().print(said)


@app.command()
def rollback(config: ConfigOpt, name: Annotated[str, typer.Argument(help="Model name.")]) -> None:
    """Retire the current version of NAME and make the previous one current.

    Never held back by the early-warning deployment rule: the version it goes back to was put
    into service through it (it passed, or was forced); its figures are printed, with a
    warning where they do not beat the bank alone."""
    cfg = node_config(config)
    try:
        deployed = ModelRegistry(cfg.state_dir).rollback(name)
    except ModelError as exc:
        fail(str(exc))
    Console().print(f"rolled back: {deployed.label()} is current")
    said = _rule(cfg, name, deployed.job_id, True, "roll back")
    if said:
        Console().print(said)
