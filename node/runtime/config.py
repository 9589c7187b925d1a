"""Node configuration: one YAML file, resolved and validated once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from node.compute import ComputeConfig
from node.console.config import ConsoleConfig, ConsoleConfigError, parse_console_config
from node.data.datasets import DatasetConfig


class ConfigError(Exception):
    """The node configuration is missing, malformed or names something that does not exist."""

    def __init__(self, path: Path, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key}: {problem}")
        self.path = path
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class NodeConfig:
    """Everything a node needs to start; relative paths are resolved against the file."""

    node_id: str
    cert_dir: Path
    cert_name: str
    coordinator: str
    listen: str
    state_dir: Path
    policy: Path | None
    datasets: tuple[DatasetConfig, ...]
    # Interval between signed access-log checkpoints published to the coordinator's witness.
    checkpoint_interval_s: float = 30.0
    # The ``governance:`` section (monitor, alerts, containment), validated by
    # ``node.governance.config.governance_config``.
    governance: Mapping[str, Any] = field(default_factory=dict)
    # Where bulk crypto runs: local worker processes (default) or a Ray cluster.
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    # The ``scoring:`` section, validated by node.scoring.config at start-up.
    scoring: Mapping[str, Any] | None = None
    # The ``monitoring:`` section, validated by node.monitoring.config at start-up.
    monitoring: Mapping[str, Any] | None = None
    # The ``console:`` section (node.console.config); None: no web console.
    console: ConsoleConfig | None = None

    def dataset(self, name: str) -> DatasetConfig:
        for ds in self.datasets:
            if ds.name == name:
                return ds
        raise KeyError(name)


def _require(raw: Mapping[str, Any], key: str, path: Path, kind: type = str) -> Any:
    if key not in raw:
        raise ConfigError(path, key, "is required")
    value = raw[key]
    if not isinstance(value, kind):
        raise ConfigError(path, key, f"must be a {kind.__name__}, got {type(value).__name__}")
    return value


def read_config_mapping(path: Path) -> Mapping[str, Any]:
    """The YAML mapping in a configuration file.

    Raises
    ------
    ConfigError
        The file cannot be read, is not YAML, or is not a mapping.
    """
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(path, "(file)", f"cannot be read: {exc.strerror}") from None
    except yaml.YAMLError:
        raise ConfigError(path, "(file)", "is not valid YAML") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(path, "(file)", "must be a YAML mapping")
    return raw


def _scoring_section(raw: Any, resolve: Any) -> Any:
    """The ``scoring:`` mapping with its file paths resolved against the config file; anything
    else is passed on as it is, for node.scoring.config to refuse."""
    if not isinstance(raw, Mapping):
        return raw  # validated (and refused with a message) by node.scoring.config
    section = dict(raw)
    if isinstance(section.get("decision_policy"), str):
        section["decision_policy"] = str(resolve(section["decision_policy"]))
    return section


def _monitoring_section(raw: Any, resolve: Any) -> Any:
    """The ``monitoring:`` mapping with its file paths resolved against the config file; anything
    else is passed on as it is, for node.monitoring.config to refuse."""
    if not isinstance(raw, Mapping):
        return raw  # validated (and refused with a message) by node.monitoring.config
    section = dict(raw)
    if isinstance(section.get("policy"), str):
        section["policy"] = str(resolve(section["policy"]))
    sinks = section.get("sinks")
    if isinstance(sinks, list):
        section["sinks"] = [
            {k: str(resolve(v)) if k in ("file", "secret_file") and isinstance(v, str) else v
             for k, v in sink.items()} if isinstance(sink, Mapping) else sink
            for sink in sinks
        ]  # fmt: skip
    return section


def load_node_config(path: Path | str) -> NodeConfig:
    """Read and validate a node configuration file.

    Raises
    ------
    ConfigError
        The file is unreadable, not YAML, or a key is missing, mistyped or points nowhere.
    """
    path = Path(path)
    raw = read_config_mapping(path)
    base = path.parent

    def resolve(value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else (base / p).resolve()

    certs = _require(raw, "certs", path, dict)
    datasets = []
    for name, ds in (raw.get("datasets") or {}).items():
        if not isinstance(ds, Mapping):
            raise ConfigError(path, f"datasets.{name}", "must be a mapping with path and schema")
        entry = DatasetConfig(
            name=str(name),
            path=resolve(_require(ds, "path", path)),
            schema=resolve(_require(ds, "schema", path)),
            psi_id_field=ds.get("psi_id_field"),
        )
        for key, file in (("path", entry.path), ("schema", entry.schema)):
            if not file.exists():
                raise ConfigError(path, f"datasets.{name}.{key}", f"{file} does not exist")
        datasets.append(entry)
    policy = raw.get("policy")
    config = NodeConfig(
        node_id=_require(raw, "node_id", path),
        cert_dir=resolve(_require(certs, "dir", path)),
        cert_name=str(certs.get("name") or raw["node_id"]),
        coordinator=_coordinator_addresses(raw, path),
        listen=str(raw.get("listen", "127.0.0.1:0")),
        state_dir=resolve(str(raw.get("state_dir", f"var/{raw['node_id']}"))),
        policy=resolve(policy) if policy else None,
        datasets=tuple(datasets),
        checkpoint_interval_s=float(raw.get("checkpoint_interval_s", 30.0)),
        governance=dict(raw.get("governance") or {}),
        compute=_compute(raw.get("compute"), path),
        scoring=_scoring_section(raw.get("scoring"), resolve),
        monitoring=_monitoring_section(raw.get("monitoring"), resolve),
        console=console_section(raw.get("console"), path),
    )
    if config.policy is not None and not config.policy.exists():
        raise ConfigError(path, "policy", f"{config.policy} does not exist")
    return config


def console_section(raw: object, path: Path) -> ConsoleConfig | None:
    """The ``console:`` section (node and coordinator alike).

    Raises
    ------
    ConfigError
        The section is malformed.
    """
    try:
        return parse_console_config(raw)
    except ConsoleConfigError as exc:
        raise ConfigError(path, exc.key, exc.problem) from None


def _compute(raw: object, path: Path) -> ComputeConfig:
    """The ``compute`` section: ``engine`` (local or ray), ``address`` (ray), ``workers``."""
    if raw is None:
        return ComputeConfig()
    if not isinstance(raw, Mapping):
        raise ConfigError(path, "compute", "must be a mapping with engine (local or ray)")
    unknown = sorted(set(raw) - {"engine", "address", "workers"})
    if unknown:
        raise ConfigError(
            path, f"compute.{unknown[0]}", "unknown key; use engine, address, workers"
        )
    workers = raw.get("workers")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise ConfigError(path, "compute.workers", "must be a positive integer")
    address = raw.get("address")
    if address is not None and not isinstance(address, str):
        raise ConfigError(path, "compute.address", "must be a Ray address such as ray://HOST:10001")
    try:
        return ComputeConfig(str(raw.get("engine", "local")), address, workers)
    except ValueError as exc:
        raise ConfigError(path, "compute", str(exc)) from None


def _coordinator_addresses(raw: Mapping[str, Any], path: Path) -> str:
    """``coordinator``: one ``HOST:PORT``, or a list of them (an active coordinator and its
    standbys); kept comma-separated, in the order the node tries them."""
    value = raw.get("coordinator")
    if isinstance(value, list):
        if not value or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(path, "coordinator", "must be HOST:PORT or a list of HOST:PORT")
        return ",".join(value)
    return str(_require(raw, "coordinator", path))
