"""Write a synthetic federation: ``python -m node.data.synthetic OUT_DIR [--n-firms N] ...``."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.data.synthetic.writer import generate_federation


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, write the files and list them; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m node.data.synthetic",
        description="Write a seeded synthetic SME federation (see docs/synthetic-data.md).",
    )
    parser.add_argument("out_dir", type=Path, help="folder for the tables and schema files")
    parser.add_argument("--n-firms", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", dest="fmt", choices=("csv", "parquet"), default="csv")
    parser.add_argument(
        "--panel-signal",
        type=float,
        default=1.0,
        help="how closely panels follow firm health, in (0, 1]; 0.5 is the harder setting",
    )
    args = parser.parse_args(argv)
    try:
        files = generate_federation(
            args.out_dir,
            n_firms=args.n_firms,
            seed=args.seed,
            fmt=args.fmt,
            panel_signal=args.panel_signal,
        )
    except ValueError as exc:
        parser.error(str(exc))
    for name, path in files.tables.items():
        print(f"{name:<22} {path}  (schema: {files.schemas[name].name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
