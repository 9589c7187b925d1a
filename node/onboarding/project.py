"""The project file: who takes part, in which role and organization, with which data files.

It is the one file a user writes to federate their own tables (docs/onboarding.md)::

    fedcredit_project: 1
    coordinator: {listen: 127.0.0.1:50051}     # optional
    parties:
      bank:       {role: bank, organization: bank-a, data: bank.csv, label: default_12m}
      government: {role: government, organization: gov-dc, data: gov.csv}

Paths are relative to the project file's folder. Exactly one party names the ``label``: it leads
alignment and holds the model. ``id_column`` may be given per party; otherwise it is inferred.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from node.policy.model import Role
from node.runtime.config import ConfigError, read_config_mapping

PROJECT_VERSION: Final = 1
DATA_ROLES: Final = (Role.BANK.value, Role.GOVERNMENT.value, Role.THIRD_PARTY.value)
DEFAULT_LISTEN: Final = "127.0.0.1:50051"
_TOP_KEYS: Final = ("fedcredit_project", "name", "coordinator", "parties")
_PARTY_KEYS: Final = ("role", "organization", "data", "label", "id_column")
_COORDINATOR_KEYS: Final = ("listen", "organization")


class ProjectError(ConfigError):
    """The project file is unusable; the message names the key, the problem and the fix."""


@dataclass(frozen=True)
class Party:
    """One data holder: its node id (``name``), role, organization, data files and label."""

    name: str
    role: str
    organization: str
    data: tuple[Path, ...]
    label: str | None = None
    id_column: str | None = None

    def dataset_name(self, data: Path) -> str:
        """The dataset's name on the node: the party's name, suffixed when it has several."""
        return self.name if len(self.data) == 1 else f"{self.name}_{data.stem}"


@dataclass(frozen=True)
class Project:
    """A parsed, checked project file."""

    path: Path
    name: str
    listen: str
    operator_organization: str
    parties: tuple[Party, ...]

    @property
    def label_holder(self) -> Party:
        return next(p for p in self.parties if p.label)

    @property
    def feature_holders(self) -> tuple[Party, ...]:
        return tuple(p for p in self.parties if not p.label)


def load_project(path: Path | str) -> Project:
    """Read and check a project file.

    Raises
    ------
    ProjectError
        A key is missing, unknown or mistyped, a data file does not exist, or not exactly one
        party names a label.
    """
    path = Path(path).expanduser().resolve()
    try:
        raw = read_config_mapping(path)
    except ConfigError as exc:
        raise ProjectError(str(path), exc.problem, key=exc.key, fix=exc.fix) from None
    _known(raw, _TOP_KEYS, path, "")
    version = raw.get("fedcredit_project", PROJECT_VERSION)
    if version != PROJECT_VERSION:
        raise ProjectError(str(path), f"version {version!r}; write 1", key="fedcredit_project")
    coordinator = raw.get("coordinator") or {}
    if not isinstance(coordinator, Mapping):
        raise ProjectError(
            str(path), "must be a mapping, e.g. {listen: HOST:PORT}", key="coordinator"
        )
    _known(coordinator, _COORDINATOR_KEYS, path, "coordinator.")
    parties_raw = raw.get("parties")
    if not isinstance(parties_raw, Mapping) or len(parties_raw) < 2:
        raise ProjectError(
            str(path),
            "needs at least two parties (name: {role, organization, data})",
            key="parties",
        )
    parties = tuple(_party(path, str(n), p) for n, p in parties_raw.items())
    holders = [p.name for p in parties if p.label]
    if len(holders) != 1:
        raise ProjectError(
            str(path),
            f"{len(holders)} parties name a label ({', '.join(holders) or 'none'}); give "
            "exactly one party the 'label' of its 0/1 default column",
            key="parties",
        )
    return Project(
        path=path,
        name=str(raw.get("name") or path.parent.name),
        listen=str(coordinator.get("listen", DEFAULT_LISTEN)),
        operator_organization=str(coordinator.get("organization", "federation-ops")),
        parties=parties,
    )


def _party(path: Path, name: str, raw: Any) -> Party:
    key = f"parties.{name}"
    if not isinstance(raw, Mapping):
        raise ProjectError(str(path), "must be a mapping with role, organization and data", key=key)
    _known(raw, _PARTY_KEYS, path, f"{key}.")
    for required in ("role", "organization", "data"):
        if not raw.get(required):
            raise ProjectError(str(path), "is required", key=f"{key}.{required}")
    role = str(raw["role"])
    if role not in DATA_ROLES:
        raise ProjectError(
            str(path), f"is {role!r}; use one of {', '.join(DATA_ROLES)}", key=f"{key}.role"
        )
    files = raw["data"] if isinstance(raw["data"], list) else [raw["data"]]
    data = []
    for entry in files:
        file = Path(str(entry)).expanduser()
        file = file if file.is_absolute() else (path.parent / file).resolve()
        if not file.is_file():
            raise ProjectError(
                str(path), f"{file} does not exist; check the path", key=f"{key}.data"
            )
        if file.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise ProjectError(
                str(path), f"{file.name} is not a .csv or .parquet file", key=f"{key}.data"
            )
        data.append(file)
    label, id_column = raw.get("label"), raw.get("id_column")
    return Party(
        name=name,
        role=role,
        organization=str(raw["organization"]),
        data=tuple(data),
        label=str(label) if label else None,
        id_column=str(id_column) if id_column else None,
    )


def _known(raw: Mapping[str, Any], allowed: tuple[str, ...], path: Path, prefix: str) -> None:
    """Refuse an unknown key, naming the allowed key it most resembles."""
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"use {', '.join(allowed)}"
            raise ProjectError(str(path), f"unknown key; {hint}", key=f"{prefix}{key}")
