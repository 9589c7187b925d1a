"""A project's federation folder (written by ``fedcredit init``) as a local federation."""

from __future__ import annotations

from pathlib import Path

from coordinator.local.federation import LocalFederation, PartySpec
from node.data.schema import load_schema
from node.onboarding.project import Project, ProjectError


def project_federation(project: Project, root: Path) -> LocalFederation:
    """The parties of ``project`` over the files ``fedcredit init`` wrote into ``root``.

    Raises
    ------
    ProjectError
        ``root`` has not been initialised for this project.
    """
    root = root.expanduser().resolve()
    if not (root / "config" / "coordinator.yaml").is_file():
        raise ProjectError(
            str(project.path),
            f"{root} holds no initialised federation; run fedcredit init {project.path} first",
            key="(output)",
        )
    parties = []
    for party in project.parties:
        datasets = {}
        for data in party.data:
            name = party.dataset_name(data)
            schema = root / "schemas" / f"{name}.yaml"
            if not schema.is_file():
                raise ProjectError(
                    str(project.path),
                    f"{data.name} has no schema in {root / 'schemas'}; run fedcredit init "
                    f"{project.path} --force after changing the project's data files",
                    key=f"parties.{party.name}.data",
                )
            datasets[name] = (data, schema, load_schema(schema).id_column)
        policy = root / "policies" / f"{party.name}.yaml"
        parties.append(PartySpec(party.name, party.role, party.organization, datasets, policy))
    fed = LocalFederation(root)
    fed.parties = parties
    return fed
