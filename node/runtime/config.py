"""Node configuration: one YAML file, resolved and validated once at start-up.

The file's format is the model ``NodeConfigFile`` (docs/reference/node-config.md is generated
from it); ``load_node_config`` reads it, resolves relative paths against the file and checks
that the files it names exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BeforeValidator, Field

from node.compute import ComputeConfig
from node.compute.engine import ENGINES
from node.console.config import ConsoleConfig, console_config
from node.data.datasets import DatasetConfig
from node.governance.config import GovernanceConfig
from node.monitoring.config import MonitoringFile
from node.scoring.config import ScoringFile
from node.validation import FileModel, Invalid, OneOf, SpecError, validate

M = TypeVar("M", bound=FileModel)


class ConfigError(SpecError):
    """A node or coordinator configuration is missing, malformed or names nothing that exists.

    The configuration files' ``SpecError`` (same arguments): the message reads ``"<file>
    <key>: <problem>; <fix>"``. ``key`` is the dotted key (``"datasets.loans.schema"``),
    ``""`` for the file.
    """

    @property
    def path(self) -> Path:
        """The offending file (or folder)."""
        return Path(self.source)


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
    # The ``governance:`` section (monitor, alerts, containment).
    governance: GovernanceConfig = field(default_factory=GovernanceConfig)
    # Where bulk crypto runs: local worker processes (default) or a Ray cluster.
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    # The ``scoring:`` section, its decision policy's path resolved.
    scoring: ScoringFile | None = None
    # The ``monitoring:`` section, validated with the file and its paths resolved; built
    # into settings by node.monitoring.config.monitoring_config (not validated again).
    monitoring: MonitoringFile | None = None
    # The ``console:`` section (node.console.config); None: no web console.
    console: ConsoleConfig | None = None

    def dataset(self, name: str) -> DatasetConfig:
        for ds in self.datasets:
            if ds.name == name:
                return ds
        raise KeyError(name)


Text = Annotated[str, Field(min_length=1)]


class CertsFile(FileModel):
    """Where the node's certificate, key and the federation CA are."""

    dir: Text = Field(
        description="Folder with ca.crt and the node's certificate and key.", examples=["certs"]
    )
    name: Text | None = Field(None, description="The certificate's file name; default node_id.")


class DatasetFile(FileModel):
    """One dataset the node serves."""

    path: Text = Field(
        description="The table (.csv, .csv.gz or .parquet).", examples=["data/loans.csv"]
    )
    schema_: Text = Field(
        alias="schema",
        description="Its schema file (docs/datasets.md).",
        examples=["schemas/loans.yaml"],
    )
    psi_id_field: Text | None = Field(
        None, description="The id column PSI may use on this dataset; none: no PSI."
    )


class ComputeFile(FileModel):
    """Where bulk crypto runs: local worker processes (the default) or a Ray cluster."""

    engine: Annotated[str, OneOf(ENGINES)] = Field(ComputeConfig.engine)
    address: Text | None = Field(
        None, description="Ray only: the cluster, e.g. ray://HOST:10001; none starts one."
    )
    workers: int | None = Field(
        None,
        ge=1,
        description="Worker processes (or local Ray CPUs); none: one per core.",
        examples=[2],
    )


def _addresses(value: object) -> object:
    """``coordinator`` as a list (active first, then standbys) is kept comma-separated."""
    if not isinstance(value, list):
        return value
    if not value or not all(isinstance(v, str) and v for v in value):
        raise Invalid("must be HOST:PORT or a list of HOST:PORT", "e.g. [10.0.0.5:50051]")
    return ",".join(value)


class NodeConfigFile(FileModel):
    """A node's configuration file (`fedcredit-node --config FILE`)."""

    node_id: Text = Field(description="This node's id, as in its certificate.", examples=["bank"])
    certs: CertsFile
    coordinator: Annotated[Text, BeforeValidator(_addresses)] = Field(
        description="HOST:PORT of the coordinator, or a list: the active one, then standbys.",
        examples=["127.0.0.1:50051"],
    )
    listen: Text = Field("127.0.0.1:0", description="Where the node's own gRPC server listens.")
    state_dir: Text | None = Field(None, description="The node's state; default var/NODE_ID.")
    policy: Text | None = Field(None, description="The masking policy file (docs/policies.md).")
    datasets: dict[str, DatasetFile] | None = Field(None, description="Datasets by name.")
    checkpoint_interval_s: float = Field(
        NodeConfig.checkpoint_interval_s,
        gt=0,
        description="Seconds between signed access-log checkpoints sent to the witness.",
    )
    compute: ComputeFile | None = Field(None, description="Default: local worker processes.")
    governance: GovernanceConfig = GovernanceConfig()
    scoring: ScoringFile | None = None
    monitoring: MonitoringFile | None = None
    console: ConsoleConfig | bool | None = Field(
        None, description="The web console (docs/console.md); `true`: on loopback."
    )


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
        problem = f"cannot be read: {exc.strerror}"
        raise ConfigError(str(path), problem, fix="check the path") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(str(path), f"is not valid YAML{where}", fix="fix the syntax") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(str(path), "must be a YAML mapping", fix="write key: value pairs")
    return raw


def read_config(model: type[M], path: Path) -> M:
    """The configuration file at ``path`` read into ``model``.

    Raises
    ------
    ConfigError
        The file is unreadable, not YAML, or breaks the model.
    """
    return validate(model, read_config_mapping(path), source=str(path), error=ConfigError)


def _monitoring_section(
    section: MonitoringFile | None, resolve: Callable[[str], Path]
) -> MonitoringFile | None:
    """The validated ``monitoring:`` section with its file paths resolved against the
    config file."""
    if section is None:
        return None
    sinks = [
        sink.model_copy(
            update={
                k: str(resolve(v))
                for k, v in (("file", sink.file), ("secret_file", sink.secret_file))
                if v
            }
        )
        for sink in section.sinks
    ]
    policy = str(resolve(section.policy)) if section.policy else section.policy
    return section.model_copy(update={"policy": policy, "sinks": sinks})


def load_node_config(path: Path | str) -> NodeConfig:
    """Read and validate a node configuration file.

    Raises
    ------
    ConfigError
        The file is unreadable, not YAML, or a key is missing, mistyped or points nowhere.
    """
    path = Path(path)
    raw = read_config(NodeConfigFile, path)
    base = path.parent

    def resolve(value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else (base / p).resolve()

    datasets = []
    for name, ds in (raw.datasets or {}).items():
        entry = DatasetConfig(
            name=str(name),
            path=resolve(ds.path),
            schema=resolve(ds.schema_),
            psi_id_field=ds.psi_id_field,
        )
        for key, file in (("path", entry.path), ("schema", entry.schema)):
            if not file.exists():
                raise ConfigError(
                    str(path),
                    f"{file} does not exist",
                    key=f"datasets.{name}.{key}",
                    fix="fix the path",
                )
        datasets.append(entry)
    compute = raw.compute or ComputeFile()
    scoring = raw.scoring
    if scoring is not None and scoring.decision_policy:
        decision_policy = str(resolve(scoring.decision_policy))
        scoring = scoring.model_copy(update={"decision_policy": decision_policy})
    config = NodeConfig(
        node_id=raw.node_id,
        cert_dir=resolve(raw.certs.dir),
        cert_name=raw.certs.name or raw.node_id,
        coordinator=raw.coordinator,
        listen=raw.listen,
        state_dir=resolve(raw.state_dir or f"var/{raw.node_id}"),
        policy=resolve(raw.policy) if raw.policy else None,
        datasets=tuple(datasets),
        checkpoint_interval_s=raw.checkpoint_interval_s,
        governance=raw.governance,
        compute=_compute(compute, path),
        scoring=scoring,
        monitoring=_monitoring_section(raw.monitoring, resolve),
        console=console_config(raw.console),
    )
    if config.policy is not None and not config.policy.exists():
        problem = f"{config.policy} does not exist"
        raise ConfigError(str(path), problem, key="policy", fix="fix the path")
    return config


def _compute(raw: ComputeFile, path: Path) -> ComputeConfig:
    """The ``compute`` section as the engine's configuration.

    Raises
    ------
    ConfigError
        A Ray address without ``engine: ray``.
    """
    try:
        return ComputeConfig(raw.engine, raw.address, raw.workers)
    except ValueError as exc:
        fix = "see docs/reference/node-config.md"
        raise ConfigError(str(path), str(exc), key="compute", fix=fix) from None
