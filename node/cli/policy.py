"""``fedcredit policy``: validate a policy, preview what each recipient role would receive,
and have a running node reload its policy.

Exit codes (node/cli/exit_codes.py): 0 valid / preview shown / reloaded, 1 the policy does not
validate or the node refused the call, 2 the data or dataset cannot be used for a preview, 5 the
node found its new policy file invalid and kept the old one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from node.cli.exit_codes import ExitCode
from node.cli.remote import As, Certs, channel, refusals
from node.policy import PolicyEngine, PolicyError, PolicyFileError, load_policy
from node.policy.model import DATA_PURPOSES, Role
from protos.fedcredit.v1 import node_pb2, node_pb2_grpc

app = typer.Typer(help="Validate masking policies and preview their effect.", no_args_is_help=True)


def _out_console() -> Console:
    return Console()


def _err_console() -> Console:
    return Console(stderr=True)


EXIT_INVALID_POLICY = ExitCode.FAILED
EXIT_BAD_INPUT = ExitCode.USAGE


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="A policy file or a folder of *.yaml files.")],
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Check a policy against the schema; print its version, or the error with file and line."""
    _out, _err = _out_console(), _err_console()
    try:
        policy = load_policy(path)
    except PolicyFileError as exc:
        if output == "json":
            _out.print_json(
                json.dumps(
                    {
                        "valid": False,
                        "file": str(exc.path),
                        "line": exc.line,
                        "key": exc.key,
                        "problem": exc.problem,
                        "fix": exc.fix,
                    }
                )
            )
        else:
            _err.print(f"[red]invalid[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(EXIT_INVALID_POLICY) from None
    rules = sum(len(d.rules) for d in policy.datasets.values())
    if output == "json":
        _out.print_json(
            json.dumps(
                {
                    "valid": True,
                    "version": policy.version,
                    "files": [p.name for p in policy.sources],
                    "datasets": sorted(policy.datasets),
                    "rules": rules,
                }
            )
        )
        return
    _out.print(
        f"valid: {len(policy.sources)} file(s), {len(policy.datasets)} dataset(s) "
        f"({', '.join(sorted(policy.datasets))}), {rules} rule(s)",
        highlight=False,
    )
    _out.print(f"version {policy.version}", highlight=False)


def _read(data: Path) -> pd.DataFrame:
    if data.suffix == ".parquet":
        return pd.read_parquet(data)
    # Codes (division codes, phone and id numbers) are text: read every column as text first,
    # then let numeric columns become numbers, so leading zeros and the id's X survive.
    frame = pd.read_csv(data, dtype=str, keep_default_na=True)
    for column in frame.columns:
        converted = pd.to_numeric(frame[column], errors="coerce")
        if (
            converted.notna().sum() == frame[column].notna().sum()
            and not frame[column].str.match(r"^0\d", na=False).any()
        ):
            frame[column] = converted
    return frame


@app.command("dry-run")
def dry_run(
    path: Annotated[Path, typer.Argument(help="A policy file or folder.")],
    data: Annotated[Path, typer.Argument(help="A CSV or Parquet file of the dataset.")],
    dataset: Annotated[str, typer.Option(help="Dataset name in the policy.")],
    purpose: Annotated[
        str, typer.Option(help="training, scoring, monitoring or release")
    ] = "release",
    role: Annotated[
        list[str] | None, typer.Option(help="Recipient role(s); default every role.")
    ] = None,
    organization: Annotated[
        str, typer.Option(help="Recipient organization (for organization rules and tokens).")
    ] = "preview",
    rows: Annotated[int, typer.Option(min=1, max=50, help="Rows to preview.")] = 5,
) -> None:
    """Show, per field, what each recipient role would receive, with a masked preview.

    Tokens and hashes use a throw-away key here, so they differ from the node's real output.
    """
    _out, _err = _out_console(), _err_console()
    try:
        policy = load_policy(path)
    except PolicyFileError as exc:
        _err.print(f"[red]invalid[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(EXIT_INVALID_POLICY) from None
    if dataset not in policy.datasets:
        _err.print(
            f"dataset {dataset!r} is not in the policy; use one of {sorted(policy.datasets)}"
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    if purpose not in {p.value for p in DATA_PURPOSES}:
        _err.print(
            f"purpose {purpose!r} does not move data; use training, scoring, monitoring or release"
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    roles = role or [r.value for r in Role]
    unknown = [r for r in roles if r not in {x.value for x in Role}]
    if unknown:
        _err.print(f"unknown role(s) {unknown}; use {[r.value for r in Role]}")
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        frame = _read(data).head(rows)
    except (OSError, ValueError) as exc:
        _err.print(f"cannot read {data}: {type(exc).__name__}; give a CSV or Parquet file")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    engine = PolicyEngine(policy, os.urandom(32))
    _out.print(f"policy version {policy.version[:16]}  dataset {dataset}  purpose {purpose}")
    for r in roles:
        try:
            outcome, masked = engine.preview(r, purpose, dataset, frame, organization)
        except PolicyError as exc:
            _err.print(f"role {r}: {exc}")
            raise typer.Exit(EXIT_BAD_INPUT) from None
        table = Table(title=f"to role {r}", show_lines=False)
        table.add_column("field")
        table.add_column("class")
        table.add_column("transformation")
        for i in range(len(masked)):
            table.add_column(f"row {i + 1}")
        fields = policy.datasets[dataset].fields
        for name, how in outcome.items():
            cells = (
                [str(v) for v in masked[name].tolist()]
                if name in masked.columns
                else ["-"] * len(masked)
            )
            fclass = fields[name].field_class.value if name in fields else "?"
            table.add_row(name, fclass, how, *cells)
        _out.print(table)


@app.command()
def reload(
    node: Annotated[str, typer.Option("--node", help="host:port of the node's own service")],
    node_id: Annotated[str, typer.Option("--node-id", help="the node's id (its certificate CN)")],
    certs: Certs = Path("certs"),
    as_: As = "operator",
) -> None:
    """Have a running node re-read its policy file (an operator certificate is needed).

    The node validates the file first; an invalid policy is refused and the old one stays in
    force (exit 5). Every reload is written to the node's access log.
    """
    stub = node_pb2_grpc.NodeStub(channel(node, certs, as_, peer=node_id))
    with refusals("--node", precondition=ExitCode.POLICY):
        reply = stub.ReloadPolicy(node_pb2.ReloadPolicyRequest(), timeout=30)
    if reply.old_version == reply.new_version:
        _out_console().print(
            f"{node_id}: policy unchanged (version {reply.new_version[:16]})", highlight=False
        )
    else:
        _out_console().print(
            f"{node_id}: policy reloaded, version {reply.old_version[:16]} -> "
            f"{reply.new_version[:16]}",
            highlight=False,
        )
