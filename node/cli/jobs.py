"""``fedcredit jobs`` and ``fedcredit nodes``: operate a federation through its coordinator.

Every command talks to the coordinator over mutual TLS with the caller's own certificate
(``--certs``/``--as``), exactly as nodes do; the coordinator decides by the certificate's role
what the caller may do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from node.cli.exit_codes import ExitCode
from node.cli.remote import As, Certs, channel, fail, refusals
from node.cli.results import outcome, print_model
from protos.fedcredit.v1 import coordinator_pb2, coordinator_pb2_grpc

jobs_app = typer.Typer(help="Submit, watch and inspect federated jobs.", no_args_is_help=True)
nodes_app = typer.Typer(help="See the federation's nodes.", no_args_is_help=True)

Address = Annotated[str, typer.Option("--coordinator", help="host:port of the coordinator")]
Fmt = Annotated[str, typer.Option("--format", help="text or json")]


def _stub(address: str, certs: Path, name: str) -> coordinator_pb2_grpc.CoordinatorStub:
    return coordinator_pb2_grpc.CoordinatorStub(channel(address, certs, name))


def _read_job_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"cannot read the job file {path}: {exc.strerror}; check the path", ExitCode.USAGE)


def job_dict(status: coordinator_pb2.JobStatus) -> dict[str, Any]:
    return {
        "job_id": status.job_id,
        "type": status.job_type,
        "state": status.state,
        "attempt": status.attempt,
        "parties": list(status.parties),
        "error": status.error,
        "result": json.loads(status.result_json or "{}"),
        "submitted_by": status.submitted_by,
    }


# Progress lines show model quality and sizes; full metrics are in the job's result.
SHOWN_METRICS = ("auc", "ks", "loss", "intersection", "ids")


def _number(value: object) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.4f}"
    return str(value)


def watch_job(stub: coordinator_pb2_grpc.CoordinatorStub, job_id: str, console: Console) -> None:
    """Follow a job's events with one progress bar per (party, stage) until it finishes.

    Parties report progress as they go, not always at a stage's last step; so when a party is
    done (or the whole job succeeded) its bars are filled.
    """
    bars: dict[tuple[str, str], Any] = {}
    totals: dict[tuple[str, str], int] = {}

    def finish(party: str | None) -> None:
        for key, task in bars.items():
            if party is None or key[0] == party:
                progress.update(task, completed=totals[key])

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[metrics]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        for event in stub.WatchJob(coordinator_pb2.GetJobRequest(job_id=job_id)):
            detail = json.loads(event.detail_json or "{}")
            if event.kind == "progress":
                key = (event.party, str(detail.get("stage", "")))
                total = int(detail.get("total") or 1)
                metrics = detail.get("metrics") or {}
                shown = [k for k in metrics if k.split("_")[-1] in SHOWN_METRICS][:3]
                shown = shown or list(metrics)[:2]
                text = " ".join(f"{k}={_number(metrics[k])}" for k in shown)
                if key not in bars:
                    bars[key] = progress.add_task(f"{key[0]:>12} {key[1]}", total=total, metrics="")
                totals[key] = total
                progress.update(
                    bars[key], completed=int(detail.get("step", 0)), total=total, metrics=text
                )
            elif event.kind == "party_done":
                finish(event.party)
            elif event.kind == "succeeded":
                finish(None)
            elif event.kind in ("party_failed", "party_left", "failed", "cancelled"):
                who = f" {event.party}" if event.party else ""
                progress.console.print(
                    f"[yellow]{event.kind}{who}[/yellow] {detail.get('error', '')}"
                )


@jobs_app.command("submit")
def submit(
    job_file: Annotated[Path, typer.Argument(help="the job file (YAML)")],
    coordinator: Address = "127.0.0.1:50051",
    certs: Certs = Path("certs"),
    as_: As = "operator",
    job_id: Annotated[str, typer.Option(help="choose the job id")] = "",
    watch: Annotated[bool, typer.Option(help="follow progress until the job ends")] = True,
    output: Fmt = "text",
) -> None:
    """Submit a job file; by default follow it to the end and print its result.

    Progress goes to stderr, so ``--format json`` leaves exactly one JSON document on stdout.
    """
    spec = _read_job_file(job_file)
    stub = _stub(coordinator, certs, as_)
    with refusals():
        status = stub.SubmitJob(coordinator_pb2.SubmitJobRequest(spec_yaml=spec, job_id=job_id))
        if watch:
            watch_job(stub, status.job_id, Console(stderr=True))
            status = stub.GetJob(coordinator_pb2.GetJobRequest(job_id=status.job_id))
    _print_job(status, output)
    if status.state == "failed":
        raise typer.Exit(ExitCode.JOB_FAILED)


def _print_job(status: coordinator_pb2.JobStatus, output: str) -> None:
    data = job_dict(status)
    if output == "json":
        print(json.dumps(data, indent=2))
        return
    console = Console()
    colour = {"succeeded": "green", "failed": "red"}.get(status.state, "yellow")
    console.print(
        f"job {status.job_id} ({status.job_type}): [{colour}]{status.state}[/{colour}]",
        highlight=False,
    )
    line = outcome(status.job_type, status.state, data["result"], status.error)
    console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
    if status.state == "succeeded":
        print_model(status.job_type, data["result"], console)
    console.print(
        f"  the whole result: fedcredit jobs status {status.job_id} --format json",
        highlight=False,
        soft_wrap=True,
    )


JobCall = Callable[[coordinator_pb2.GetJobRequest], coordinator_pb2.JobStatus]


def _on_job(
    method: Callable[[coordinator_pb2_grpc.CoordinatorStub], JobCall],
    job_id: str,
    coordinator: str,
    certs: Path,
    as_: str,
    output: str = "text",
) -> None:
    """Call one of the coordinator's per-job RPCs and print the job it answers with."""
    stub = _stub(coordinator, certs, as_)
    with refusals():
        reply = method(stub)(coordinator_pb2.GetJobRequest(job_id=job_id))
    _print_job(reply, output)


@jobs_app.command("status")
def status(
    job_id: str,
    coordinator: Address = "127.0.0.1:50051",
    certs: Certs = Path("certs"),
    as_: As = "operator",
    output: Fmt = "text",
) -> None:
    """Show one job's state and result."""
    _on_job(lambda stub: stub.GetJob, job_id, coordinator, certs, as_, output)


@jobs_app.command("list")
def list_jobs(
    coordinator: Address = "127.0.0.1:50051",
    certs: Certs = Path("certs"),
    as_: As = "operator",
    output: Fmt = "text",
) -> None:
    """List every job the coordinator knows."""
    stub = _stub(coordinator, certs, as_)
    with refusals():
        jobs = stub.ListJobs(coordinator_pb2.ListJobsRequest()).jobs
    if output == "json":
        print(json.dumps([job_dict(j) for j in jobs], indent=2))
        return
    # Job ids are what users copy into the next command: never cut or wrapped.
    widest = max((len(j.job_id) for j in jobs), default=3)
    table = Table(
        Column("job", no_wrap=True, min_width=widest),
        "type",
        "state",
        "attempt",
        "parties",
        "error",
    )
    for j in jobs:
        table.add_row(j.job_id, j.job_type, j.state, str(j.attempt), ",".join(j.parties), j.error)
    Console().print(table)


@jobs_app.command("watch")
def watch(
    job_id: str,
    coordinator: Address = "127.0.0.1:50051",
    certs: Certs = Path("certs"),
    as_: As = "operator",
) -> None:
    """Follow a running job's progress."""
    stub = _stub(coordinator, certs, as_)
    with refusals():
        watch_job(stub, job_id, Console())


@jobs_app.command("cancel")
def cancel(
    job_id: str,
    coordinator: Address = "127.0.0.1:50051",
    certs: Certs = Path("certs"),
    as_: As = "operator",
) -> None:
    """Cancel a job; its parties stop at their next message."""
    _on_job(lambda stub: stub.CancelJob, job_id, coordinator, certs, as_)


@jobs_app.command("resume")
def resume(
    job_id: str,
    coordinator: Address = "127.0.0.1:50051",
    certs: Certs = Path("certs"),
    as_: As = "operator",
) -> None:
    """Start a new attempt of a failed job from the last checkpoint all its parties hold."""
    _on_job(lambda stub: stub.ResumeJob, job_id, coordinator, certs, as_)


def nodes_table(nodes: list[coordinator_pb2.NodeStatus]) -> Table:
    table = Table("node", "organization", "role", "online", "datasets", "policy")
    for n in nodes:
        datasets = ", ".join(f"{d.name} ({d.rows} rows)" for d in n.datasets)
        online = "[green]yes[/green]" if n.online else "[red]no[/red]"
        if n.quarantine_reason:
            online += f" [red]quarantined: {n.quarantine_reason}[/red]"
        table.add_row(n.node_id, n.organization, n.role, online, datasets, n.policy_version[:12])
    return table


@nodes_app.command("list")
def list_nodes(
    coordinator: Address = "127.0.0.1:50051",
    certs: Certs = Path("certs"),
    as_: As = "operator",
    output: Fmt = "text",
) -> None:
    """List registered nodes, whether they are connected, and what they offer."""
    stub = _stub(coordinator, certs, as_)
    with refusals():
        nodes = list(stub.ListNodes(coordinator_pb2.ListNodesRequest()).nodes)
    if output == "json":
        print(
            json.dumps(
                [
                    {
                        "node_id": n.node_id,
                        "organization": n.organization,
                        "role": n.role,
                        "online": n.online,
                        "datasets": [d.name for d in n.datasets],
                        "quarantine_reason": n.quarantine_reason,
                    }
                    for n in nodes
                ],
                indent=2,
            )
        )
        return
    Console().print(nodes_table(nodes))


@nodes_app.command("release")
def release_quarantine(
    node_id: str,
    coordinator: Address = "127.0.0.1:50051",
    certs: Certs = Path("certs"),
    as_: As = "operator",
) -> None:
    """Lift a node's quarantine (after its refused checkpoint was looked into)."""
    stub = _stub(coordinator, certs, as_)
    with refusals():
        reply = stub.LiftQuarantine(coordinator_pb2.LiftQuarantineRequest(node_id=node_id))
    word = "released from quarantine" if reply.lifted else "was not quarantined"
    Console().print(f"node {node_id} {word}")
