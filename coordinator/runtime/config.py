"""Coordinator configuration: one YAML file, resolved and validated once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from node.runtime.config import ConfigError, read_config_mapping


@dataclass(frozen=True)
class CoordinatorConfig:
    """Where the coordinator listens, its certificate, and where its state lives."""

    cert_dir: Path
    cert_name: str = "coordinator"
    listen: str = "127.0.0.1:50051"
    state_dir: Path = Path("var/coordinator")
    # How long a job attempt waits for all its parties to be connected before it fails.
    party_wait_s: float = 60.0

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

    return CoordinatorConfig(
        cert_dir=resolve(certs["dir"]),
        cert_name=str(certs.get("name", "coordinator")),
        listen=str(raw.get("listen", "127.0.0.1:50051")),
        state_dir=resolve(str(raw.get("state_dir", "var/coordinator"))),
        party_wait_s=float(raw.get("party_wait_s", 60.0)),
    )
