"""Write a project's federation folder: everything its coordinator and nodes need to start.

The folder has the local federation's layout, so ``fedcredit-federation --project`` starts it
as it is, and each part can also be copied to its own machine::

    <out>/certs/                  CA, certificates, 0600 keys (kept when they exist)
    <out>/schemas/<dataset>.yaml  inferred schemas
    <out>/policies/<node>.yaml    proposed policies: review these
    <out>/config/                 coordinator.yaml and <node>.yaml (absolute paths)
    <out>/jobs/                   psi.yaml, vertical_lr.yaml
    <out>/state/, <out>/logs/     written once the federation runs
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from node.data.infer import InferredSchema, infer_schema, table_columns
from node.data.schema import dump_schema
from node.onboarding.certificates import issue_federation_certificates
from node.onboarding.project import Party, Project, ProjectError
from node.onboarding.proposal import propose_jobs, propose_policy


@dataclass
class Written:
    """What ``write_federation`` produced, for the summary a user reads."""

    root: Path
    certificates: list[str] = field(default_factory=list)
    schemas: dict[str, InferredSchema] = field(default_factory=dict)
    policies: dict[str, Path] = field(default_factory=dict)
    jobs: dict[str, Path] = field(default_factory=dict)


def default_folder(project: Project) -> Path:
    """Where ``init`` writes when not told: ``federation/`` beside the project file."""
    return project.path.parent / "federation"


def write_federation(project: Project, root: Path, force: bool = False) -> Written:
    """Infer, propose and write everything under ``root``.

    Raises
    ------
    ProjectError
        ``root`` was already initialised and ``force`` is not set (reviewed policies would be
        overwritten).
    DatasetError
        A data file cannot be read or its label / id column is unusable.
    """
    root = root.expanduser().resolve()
    if (root / "config").exists() and not force:
        raise ProjectError(
            str(project.path),
            f"{root} is already initialised and its policies may be reviewed; pass --force to "
            "rewrite schemas, policies, configs and jobs (certificates are kept)",
            key="(output)",
        )
    for folder in ("schemas", "policies", "config", "jobs"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    out = Written(root)
    out.certificates = issue_federation_certificates(
        root / "certs",
        [(p.name, p.role, p.organization) for p in project.parties],
        project.operator_organization,
    )
    training: dict[str, InferredSchema] = {}
    for party in project.parties:
        inferred = [_infer(party, data, root) for data in party.data]
        out.schemas.update({i.schema.name: i for i in inferred})
        training[party.name] = next((i for i in inferred if i.schema.label_column), inferred[0])
        policy = root / "policies" / f"{party.name}.yaml"
        policy.write_text(propose_policy(project, party, inferred), encoding="utf-8")
        out.policies[party.name] = policy
        _write_node_config(project, party, inferred, root)
    _write_coordinator_config(project, root)
    for name, text in propose_jobs(project, training).items():
        out.jobs[name] = root / "jobs" / f"{name}.yaml"
        out.jobs[name].write_text(text, encoding="utf-8")
    return out


def _infer(party: Party, data: Path, root: Path) -> InferredSchema:
    # the label names a column of one file; other files of the label holder have none
    label = party.label if party.label in table_columns(data) else None
    inferred = infer_schema(data, party.dataset_name(data), party.id_column, label)
    dump_schema(inferred.schema, root / "schemas" / f"{inferred.schema.name}.yaml")
    return inferred


def _write_node_config(
    project: Project, party: Party, inferred: list[InferredSchema], root: Path
) -> None:
    config = {
        "node_id": party.name,
        "certs": {"dir": str(root / "certs"), "name": party.name},
        "coordinator": project.listen.replace("0.0.0.0", "127.0.0.1"),
        "listen": "127.0.0.1:0",
        "state_dir": str(root / "state" / party.name),
        "policy": str(root / "policies" / f"{party.name}.yaml"),
        "checkpoint_interval_s": 30,
        "datasets": {
            i.schema.name: {
                "path": str(data),
                "schema": str(root / "schemas" / f"{i.schema.name}.yaml"),
                "psi_id_field": i.schema.id_column,
            }
            for data, i in zip(party.data, inferred, strict=True)
        },
    }
    (root / "config" / f"{party.name}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _write_coordinator_config(project: Project, root: Path) -> None:
    config = {
        "certs": {"dir": str(root / "certs"), "name": "coordinator"},
        "listen": project.listen,
        "state_dir": str(root / "state" / "coordinator"),
        "party_wait_s": 60,
    }
    (root / "config" / "coordinator.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
