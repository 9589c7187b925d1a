"""Coordinator configuration: one YAML file, resolved and validated once at start-up.

The file's format is the model ``CoordinatorConfigFile`` (docs/reference/coordinator-config.md
is generated from it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from coordinator.jobs.runner import AUTO_RESUME_WINDOW_S, PARTY_WAIT_S
from coordinator.servicer.limits import Limits
from node.console.config import ConsoleConfig, console_config
from node.runtime.config import read_config
from node.validation import FileModel, Invalid


@dataclass(frozen=True)
class CoordinatorConfig:
    """Where the coordinator listens, its certificate, and where its state lives."""

    cert_dir: Path
    cert_name: str = "coordinator"
    listen: str = "127.0.0.1:50051"
    state_dir: Path = Path("var/coordinator")
    # How long a job attempt waits for all its parties to be connected before it fails.
    party_wait_s: float = PARTY_WAIT_S
    # How long a job that failed because a party left is resumed by that party's return.
    auto_resume_window_s: float = AUTO_RESUME_WINDOW_S
    # Per-caller rates, stream counts and input bounds (docs/trust-model.md, "Limits").
    limits: Limits = field(default_factory=Limits)
    # ``state: {url: postgresql://...}``: nodes, jobs, checkpoints and the witness in that
    # database, shared by an active coordinator and its standbys. None: SQLite in state_dir.
    state_url: str | None = None
    # gRPC server threads. Every connected node holds one for its Subscribe stream, so this
    # bounds the federation's size: 32 left a 50-bank federation with 18 banks unable to
    # register. Idle threads cost little memory.
    server_threads: int = 256
    # The ``console:`` section (node.console.config); None: no web console.
    console: ConsoleConfig | None = None

    @property
    def database(self) -> Path:
        return self.state_dir / "coordinator.sqlite"


Text = Annotated[str, Field(min_length=1)]


class CertsFile(FileModel):
    """Where the coordinator's certificate, key and the federation CA are."""

    dir: Text = Field(
        description="Folder with ca.crt and the coordinator's certificate and key.",
        examples=["certs"],
    )
    name: Text = Field("coordinator", description="The certificate's file name.")


def _state_url(url: str) -> str:
    if url.split(":", 1)[0] not in ("postgresql", "postgres", "sqlite"):
        raise Invalid(
            "must be a PostgreSQL or SQLite URL",
            "write postgresql://USER@HOST:PORT/DATABASE or sqlite:///PATH",
        )
    if urlsplit(url).password:
        raise Invalid("holds a password", "put it in ~/.pgpass (or PGPASSFILE) instead")
    return url


class StateFile(FileModel):
    """Shared state of an active coordinator and its standbys."""

    url: Annotated[str, AfterValidator(_state_url)] | None = Field(
        None,
        description="postgresql://USER@HOST:PORT/DATABASE (no password) or sqlite:///PATH; "
        "none: SQLite in state_dir.",
    )


class LimitsFile(FileModel):
    """Per-caller rates, stream counts and input bounds, per certificate (docs/trust-model.md)."""

    requests_per_s: float = Field(Limits.requests_per_s, gt=0, description="Unary calls.")
    request_burst: int = Field(Limits.request_burst, gt=0)
    envelopes_per_s: float = Field(Limits.envelopes_per_s, gt=0, description="Relayed envelopes.")
    envelope_burst: int = Field(Limits.envelope_burst, gt=0)
    watch_streams_per_caller: int = Field(Limits.watch_streams_per_caller, gt=0)
    watch_streams_total: int = Field(
        Limits.watch_streams_total, gt=0, description="Keep well below server_threads."
    )
    max_registration_bytes: int = Field(Limits.max_registration_bytes, gt=0)
    max_datasets: int = Field(Limits.max_datasets, gt=0)
    max_fields_per_dataset: int = Field(Limits.max_fields_per_dataset, gt=0)
    max_purposes_per_field: int = Field(Limits.max_purposes_per_field, gt=0)
    max_job_file_bytes: int = Field(Limits.max_job_file_bytes, gt=0)
    max_report_bytes: int = Field(Limits.max_report_bytes, gt=0)
    max_nesting: int = Field(Limits.max_nesting, gt=0, description="Of any YAML or JSON sent.")


class CoordinatorConfigFile(FileModel):
    """The coordinator's configuration file (`fedcredit-coordinator --config FILE`)."""

    certs: CertsFile
    listen: Text = Field(CoordinatorConfig.listen, description="Where the gRPC server listens.")
    state_dir: Text = Field("var/coordinator", description="SQLite state, sealed secrets.")
    party_wait_s: float = Field(
        PARTY_WAIT_S, gt=0, description="How long a job waits for all its parties to connect."
    )
    auto_resume_window_s: float = Field(
        AUTO_RESUME_WINDOW_S,
        ge=0,
        description="How long a job failed by a party leaving is resumed by its return.",
    )
    limits: LimitsFile | None = Field(None, description="Resource limits; defaults below.")
    state: StateFile | None = Field(None, description="Shared state for standbys.")
    server_threads: int = Field(
        CoordinatorConfig.server_threads,
        ge=1,
        description="gRPC server threads; every connected node holds one.",
    )
    console: ConsoleConfig | bool | None = Field(
        None, description="The web console (docs/console.md); `true`: on loopback."
    )


def load_coordinator_config(path: Path | str) -> CoordinatorConfig:
    """Read and validate a coordinator configuration file.

    Raises
    ------
    node.runtime.config.ConfigError
        The file is unreadable, not a YAML mapping, or breaks ``CoordinatorConfigFile``.
    """
    path = Path(path)
    raw = read_config(CoordinatorConfigFile, path)

    def resolve(value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else (path.parent / p).resolve()

    return CoordinatorConfig(
        cert_dir=resolve(raw.certs.dir),
        cert_name=raw.certs.name,
        listen=raw.listen,
        state_dir=resolve(raw.state_dir),
        party_wait_s=raw.party_wait_s,
        auto_resume_window_s=raw.auto_resume_window_s,
        limits=Limits(**raw.limits.model_dump()) if raw.limits is not None else Limits(),
        state_url=raw.state.url if raw.state is not None else None,
        server_threads=raw.server_threads,
        console=console_config(raw.console),
    )
