"""``fedcredit incident``: the breach-notification package, and containment under review.

- ``report``: for a principal (``--principal``) or a leaked file (``--leaked``, traced first)
  and a time window, write ``incident-<id>.json`` (every entry with its proof) and
  ``incident-<id>.html`` (the same for people); run on the node's host with its config.
- ``contained`` / ``lift``: list the principals the access monitor throttled or suspended at a
  node, and lift one after review (operator certificate, over mutual TLS).

Exit codes: 0 done, 1 nothing to report (the leaked file matches no release) or the node
refused, 2 bad input.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Final

import grpc
import typer
from rich.console import Console
from rich.table import Table

from node.audit.exceptions import AuditError
from node.cli.trace import (
    EXIT_NOT_FOUND,
    ConfigOpt,
    FormatOpt,
    WitnessOpt,
    fail,
    open_node_files,
)
from node.governance.incident import collect_incident, render_html
from node.governance.offline import NodeFilesError
from node.governance.tabular import UnreadableTable
from node.governance.trace import trace_file
from node.transport.client import open_channel
from protos.fedcredit.v1 import node_pb2, node_pb2_grpc

EXIT_REFUSED: Final = 1

app = typer.Typer(
    help="Incident reports for breach notification; containment review.", no_args_is_help=True
)

NodeOpt = Annotated[str, typer.Option("--node", help="host:port of the node's own service")]
NodeIdOpt = Annotated[str, typer.Option("--node-id", help="the node's id (its certificate)")]
CertsOpt = Annotated[Path, typer.Option("--certs", help="folder with your certificate and CA")]
AsOpt = Annotated[str, typer.Option("--as", help="your certificate's name (an operator)")]


@app.command()
def report(
    config: ConfigOpt,
    out: Annotated[Path, typer.Option("--out", help="folder for the JSON and HTML files")],
    principal: Annotated[
        list[str] | None,
        typer.Option(help="organization, organization/node or organization/node/role"),
    ] = None,
    leaked: Annotated[
        Path | None, typer.Option(help="a leaked file: its recipients become the principals")
    ] = None,
    since: Annotated[str | None, typer.Option(help="UTC time or prefix, inclusive")] = None,
    until: Annotated[str | None, typer.Option(help="UTC time or prefix, exclusive")] = None,
    witness_checkpoint: WitnessOpt = None,
    output: FormatOpt = "text",
) -> None:
    """Write the breach-notification package: accesses with proofs, what left, to whom."""
    if not principal and leaked is None:
        raise fail("name the subject: --principal ORG[/NODE[/ROLE]] or --leaked FILE")
    try:
        with open_node_files(config, witness_checkpoint) as node:
            traced = None
            principals = tuple(principal or ())
            if leaked is not None:
                traced = trace_file(leaked, node.registry.releases(), node.key_of)
                if not traced.matches:
                    Console(stderr=True).print(
                        f"{leaked} matches no release of this node: nothing to report",
                        highlight=False,
                    )
                    raise typer.Exit(EXIT_NOT_FOUND)
                principals += tuple(sorted({m.release.principal for m in traced.matches}))
            incident = collect_incident(node, principals, since, until, traced)
    except (NodeFilesError, UnreadableTable, AuditError) as exc:
        raise fail(str(exc)) from None
    try:
        out.mkdir(parents=True, exist_ok=True)
        stem = out / f"incident-{incident.incident_id}"
        package = incident.to_dict()
        stem.with_suffix(".json").write_text(json.dumps(package, indent=2, ensure_ascii=False))
        stem.with_suffix(".html").write_text(render_html(incident), encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write to {out}: {exc.strerror}") from None
    if output == "json":
        typer.echo(json.dumps({"json": str(stem.with_suffix(".json")),
                               "html": str(stem.with_suffix(".html")),
                               "summary": package["summary"]}, indent=2))  # fmt: skip
        return
    s = package["summary"]
    Console().print(
        f"incident {incident.incident_id}: {s['accesses']} accesses of "
        f"{', '.join(principals)}, {s['releases']} release(s), {s['rows_released']} rows, "
        f"{s['distinct_firms_released']} firms; written to {stem}.json and {stem}.html",
        highlight=False,
    )


@contextmanager
def _node(address: str, node_id: str, certs: Path, name: str) -> Iterator[node_pb2_grpc.NodeStub]:
    try:
        with open_channel(address, certs, name, peer=node_id) as channel:
            yield node_pb2_grpc.NodeStub(channel)
    except grpc.RpcError as exc:
        Console(stderr=True).print(
            f"[red]refused[/red] {exc.code().name}: {exc.details()}", highlight=False
        )
        raise typer.Exit(EXIT_REFUSED) from None
    except (OSError, ValueError) as exc:  # missing certificate files
        raise fail(f"cannot use certificate {name!r} in {certs}: {exc}") from None


@app.command()
def contained(
    node: NodeOpt, node_id: NodeIdOpt, certs: CertsOpt, as_: AsOpt, output: FormatOpt = "text"
) -> None:
    """List the principals throttled or suspended at a node, pending review."""
    with _node(node, node_id, certs, as_) as stub:
        held = stub.ListContainments(node_pb2.ListContainmentsRequest(), timeout=15).containments
    rows = [
        {"principal": c.principal, "level": c.level, "since": c.since, "alert_id": c.alert_id,
         "severity": c.severity, "reason": c.reason}
        for c in held
    ]  # fmt: skip
    if output == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("principal", "level", "severity", "alert", "reason")
    for r in rows:
        table.add_row(
            *(str(r[k]) for k in ("principal", "level", "severity", "alert_id", "reason"))
        )
    Console().print(table)


@app.command()
def lift(
    principal: Annotated[str, typer.Argument(help="organization/node/role, as listed")],
    node: NodeOpt,
    node_id: NodeIdOpt,
    certs: CertsOpt,
    as_: AsOpt,
    note: Annotated[str, typer.Option(help="your review note (kept in the access log)")] = "",
) -> None:
    """Lift a principal's containment at a node after review."""
    with _node(node, node_id, certs, as_) as stub:
        reply = stub.LiftContainment(
            node_pb2.LiftContainmentRequest(principal=principal, note=note), timeout=15
        )
    Console().print(
        f"lifted: {reply.lifted.principal} was {reply.lifted.level} since alert "
        f"{reply.lifted.alert_id}",
        highlight=False,
    )
