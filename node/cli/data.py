"""``fedcredit data``: generate the synthetic SME federation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from node.data.synthetic import generate_federation

app = typer.Typer(help="Synthetic SME data for demos and tests.", no_args_is_help=True)


@app.command("generate")
def generate(
    out_dir: Annotated[Path, typer.Argument(help="folder for the tables and schemas")],
    n_firms: Annotated[int, typer.Option(help="number of firms")] = 20_000,
    seed: Annotated[int, typer.Option(help="random seed: same seed, same tables")] = 7,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
) -> None:
    """Write government, bank and third-party tables of the same firms, with schemas."""
    if fmt not in ("csv", "parquet"):
        raise typer.BadParameter("--format must be csv or parquet")
    files = generate_federation(out_dir, n_firms=n_firms, seed=seed, fmt=fmt)  # type: ignore[arg-type]
    for name, path in sorted(files.tables.items()):
        Console().print(f"{name:>22}: {path}")
