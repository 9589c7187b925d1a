"""Write a synthetic federation to disk: one file per table, a schema YAML per snapshot table."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from node.data.schema import dump_schema
from node.data.synthetic.config import SyntheticConfig
from node.data.synthetic.federation import SyntheticFederation, build_federation
from node.data.synthetic.schemas import ALL_SCHEMAS

logger = logging.getLogger("fedcredit.node.data.synthetic")

Format = Literal["csv", "parquet"]


@dataclass(frozen=True)
class FederationFiles:
    """Paths of one written federation.

    ``tables`` maps each table name (``government``, ``bank``, ``third_party``, the three
    ``*_monthly`` panels and ``bank_defaults``) to its data file; ``schemas`` maps every table
    to its schema YAML (``<name>.schema.yaml``), which ``load_dataset`` accepts.
    """

    out_dir: Path
    fmt: Format
    tables: dict[str, Path]
    schemas: dict[str, Path]
    config: SyntheticConfig

    @property
    def government(self) -> Path:
        """The government snapshot table."""
        return self.tables["government"]

    @property
    def bank(self) -> Path:
        """The bank snapshot table (with the label)."""
        return self.tables["bank"]

    @property
    def third_party(self) -> Path:
        """The third-party snapshot table."""
        return self.tables["third_party"]


def write_federation(
    federation: SyntheticFederation, out_dir: Path, fmt: Format
) -> FederationFiles:
    """Write the tables of an in-memory federation to ``out_dir`` (created if missing)."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    tables: dict[str, Path] = {}
    for name, frame in federation.tables().items():
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        tables[name] = path
    schemas = {
        name: dump_schema(schema, out_dir / f"{name}.schema.yaml")
        for name, schema in ALL_SCHEMAS.items()
    }
    logger.info("wrote synthetic federation: %d tables (%s)", len(tables), fmt)
    return FederationFiles(
        out_dir=out_dir, fmt=fmt, tables=tables, schemas=schemas, config=federation.config
    )


def generate_federation(
    out_dir: Path,
    n_firms: int = 20_000,
    seed: int = 7,
    fmt: Format = "csv",
    panel_signal: float = 1.0,
) -> FederationFiles:
    """Generate a seeded synthetic SME federation and write it to ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder for the files; created if missing, existing files of the same names replaced.
    n_firms
        Firms in the economy; each holder keeps its share of them (see ``SyntheticConfig``).
    seed
        Same seed, same files.
    fmt
        ``"csv"`` or ``"parquet"``.
    panel_signal
        ``SyntheticConfig.panel_signal``: below 1, panels with weaker warning signals.

    Raises
    ------
    ValueError
        ``n_firms`` below 10 or an unknown ``fmt``.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    federation = build_federation(
        SyntheticConfig(n_firms=n_firms, seed=seed, panel_signal=panel_signal)
    )
    return write_federation(federation, Path(out_dir), fmt)
