"""Coordinator configuration: one YAML file, resolved and validated once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from coordinator.jobs.runner import AUTO_RESUME_WINDOW_S, PARTY_WAIT_S
from coordinator.servicer.limits import Limits
from node.console.config import ConsoleConfig
from node.runtime.config import ConfigError, console_section, read_config_mapping


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


def load_coordinator_config(path: Path | str) -> CoordinatorConfig:
    """Read and validate a coordinator configuration file.

    Raises
    ------
    ConfigError
        The file is unreadable, not a YAML mapping, or lacks ``certs.dir``.
    """
    path = Path(path)
    raw = read_config_mapping(path)
    certs = raw.get("certs")
    if not isinstance(certs, dict) or "dir" not in certs:
        raise ConfigError(path, "certs.dir", "is required (the folder with ca.crt and our cert)")

    def resolve(value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else (path.parent / p).resolve()

    try:
        return CoordinatorConfig(
            cert_dir=resolve(certs["dir"]),
            cert_name=str(certs.get("name", "coordinator")),
            listen=str(raw.get("listen", "127.0.0.1:50051")),
            state_dir=resolve(str(raw.get("state_dir", "var/coordinator"))),
            party_wait_s=float(raw.get("party_wait_s", PARTY_WAIT_S)),
            auto_resume_window_s=float(raw.get("auto_resume_window_s", AUTO_RESUME_WINDOW_S)),
            limits=_limits(path, raw.get("limits") or {}),
            state_url=_state_url(path, raw.get("state")),
            server_threads=_positive_int(path, "server_threads", raw.get("server_threads", 256)),
            console=console_section(raw.get("console"), path),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(path, "(file)", str(exc)) from None


def _limits(path: Path, raw: Any) -> Limits:
    """The ``limits:`` mapping, each value converted to its default's type."""
    if not isinstance(raw, dict):
        raise ConfigError(path, "limits", "must be a mapping of limit name to value")
    known = {f.name: f for f in fields(Limits)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(path, "limits", f"unknown limit(s) {unknown}; known: {sorted(known)}")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        kind = type(getattr(Limits(), name))
        try:
            values[name] = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(path, f"limits.{name}", f"must be a {kind.__name__}") from None
    try:
        return Limits(**values)
    except ValueError as exc:
        raise ConfigError(path, "limits", str(exc)) from None


def _state_url(path: Path, raw: object) -> str | None:
    """``state: {url: ...}``: a ``postgresql://`` or ``sqlite:///`` URL, or nothing."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"url"}:
        raise ConfigError(path, "state", "must be a mapping with one key, url")
    url = raw.get("url")
    if url is None:
        return None
    if not isinstance(url, str) or url.split(":", 1)[0] not in ("postgresql", "postgres", "sqlite"):
        raise ConfigError(
            path, "state.url", "must be postgresql://USER@HOST:PORT/DATABASE or sqlite:///PATH"
        )
    if urlsplit(url).password:
        raise ConfigError(
            path, "state.url", "holds a password; put it in ~/.pgpass (or PGPASSFILE) instead"
        )
    return url


def _positive_int(path: Path, key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(path, key, "must be a positive integer")
    return value
