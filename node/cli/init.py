"""``fedcredit init``: from a project file to a federation folder ready to start.

Issues the certificates, infers each dataset's schema, proposes deny-by-default policies and
writes node and coordinator configurations and job files (docs/onboarding.md). Nothing starts;
the proposed policies wait for review.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from node.onboarding.project import load_project
from node.onboarding.writer import Written, default_folder, write_federation


def init(
    project_file: Annotated[Path, typer.Argument(help="the project file (YAML)")],
    out: Annotated[
        Path | None, typer.Option(help="folder to write (default: federation/ beside it)")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="rewrite an initialised folder (certificates are kept)")
    ] = False,
) -> None:
    """Write certificates, schemas, proposed policies, configs and jobs for a project."""
    project = load_project(project_file)
    written = write_federation(project, out or default_folder(project), force=force)
    _report(written, project_file, Console())


def _report(written: Written, project_file: Path, console: Console) -> None:
    table = Table(
        "dataset", "rows", "id column", "held back (C3, no rule)", "proposed for training"
    )
    for name, inferred in written.schemas.items():
        schema = inferred.schema
        held = [c for c in inferred.identifiers if c != schema.id_column]
        table.add_row(
            name,
            str(inferred.rows),
            schema.id_column + (" (USCC)" if schema.id_is_uscc else ""),
            ", ".join(held) or "-",
            f"{len(inferred.features)} columns"
            + (f" + label {schema.label_column}" if schema.label_column else ""),
        )
    console.print(table)
    issued = ", ".join(written.certificates) or "none (all existed)"
    console.print(f"certificates issued in {written.root / 'certs'}: {issued}", highlight=False)
    console.print(f"wrote {written.root}/schemas, policies, config and jobs", highlight=False)
    console.print("next:", highlight=False)
    console.print(
        f"  1. review the proposed rules in {written.root / 'policies'}/*.yaml "
        "(fedcredit policy validate FILE after an edit)",
        highlight=False,
    )
    console.print(
        f"  2. fedcredit-federation --project {project_file}   "
        "(starts everything, runs the vertical job, stops)",
        highlight=False,
    )
