"""Serve existing CSV files (for example the bundled default_credit data) in a local federation.

Each file gets a generated schema (the id column, float features, an optional 0/1 label) and a
policy that lets every data column be used for training and scoring by the federation's data
holders and lets the id leave only as a token. That is right for public benchmark data, which is
what this is for; real data goes through ``fedcredit init`` (docs/onboarding.md).
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import yaml

from coordinator.local.federation import LocalFederation, PartySpec
from node.data.schema import dump_schema, schema_from_dict

HOLDER_ROLES = ("bank", "government", "third_party")


class BankFilesError(ValueError):
    """Files given for the banks scenario do not fit together; the message names the fix."""


def _policy(
    datasets: Mapping[str, list[str]], id_column: str, organizations: Mapping[str, str]
) -> dict[str, object]:
    """A test policy: every data column may be used for training and scoring by the
    federation's data holders; the id leaves only as a token."""
    return {
        "fedcredit_policy": 1,
        "description": f"test policy for {', '.join(datasets)}",
        "roles": {
            **{role: ["training", "scoring"] for role in HOLDER_ROLES},
            "coordinator": [],
            "auditor": ["audit"],
            "operator": ["operate"],
        },
        "organizations": {
            **organizations,
            "coordinator": "coordinator",
            "audit-office": "auditor",
            "federation-ops": "operator",
        },
        "datasets": {
            name: {
                "id_field": id_column,
                "fields": {
                    id_column: {"class": "C2", "kind": "string"},
                    **{c: {"class": "C2", "kind": "numeric"} for c in columns if c != id_column},
                },
                "rules": [
                    {
                        "fields": [c for c in columns if c != id_column],
                        "to": {"roles": list(HOLDER_ROLES)},
                        "purposes": ["training", "scoring"],
                        "transform": "keep",
                    },
                    {
                        "fields": [id_column],
                        "to": {"roles": list(HOLDER_ROLES)},
                        "purposes": ["training", "scoring"],
                        "transform": "token",
                    },
                ],
            }
            for name, columns in datasets.items()
        },
    }


def _schema(root: Path, name: str, columns: list[str], id_column: str, label: str | None) -> Path:
    fields = [{"name": id_column, "type": "str", "class": "C2"}]
    fields += [
        {"name": c, "type": "int" if c == label else "float", "class": "C2"}
        for c in columns
        if c != id_column
    ]
    schema = {
        "version": 1,
        "name": name,
        "id_column": id_column,
        "id_is_uscc": False,
        "fields": fields,
        **({"label_column": label} if label else {}),
    }
    (root / "schemas").mkdir(parents=True, exist_ok=True)
    return dump_schema(schema_from_dict(schema), root / "schemas" / f"{name}.yaml")


def csv_federation(
    root: Path,
    nodes: Mapping[str, tuple[str, str, Mapping[str, Path] | Path, str | None]],
    id_column: str = "id",
) -> LocalFederation:
    """A prepared federation whose nodes serve existing CSV files (e.g. the bundled real data).

    ``nodes`` maps node id to (role, organization, files, label column or None), where files is
    one CSV (served as a dataset named like the node) or a mapping of dataset name to CSV. Every
    column but ``id_column`` is a float feature. Schemas and policies are written into
    ``root``; the CSV files are read where they are.
    """
    organizations = {org: role for role, org, _files, _label in nodes.values()}
    parties = []
    for node_id, (role, org, files, label) in nodes.items():
        served = {node_id: files} if isinstance(files, Path) else dict(files)
        columns = {name: list(pd.read_csv(csv, nrows=0).columns) for name, csv in served.items()}
        datasets = {
            name: (
                csv,
                _schema(
                    root, name, columns[name], id_column, label if label in columns[name] else None
                ),
                id_column,
            )
            for name, csv in served.items()
        }
        policy_path = root / "policies" / f"{node_id}.yaml"
        policy_path.parent.mkdir(parents=True, exist_ok=True)
        policy = _policy(columns, id_column, organizations)
        policy_path.write_text(yaml.safe_dump(policy, sort_keys=False))
        parties.append(PartySpec(node_id, role, org, datasets, policy=policy_path))
    fed = LocalFederation(root)
    fed.prepare(parties)
    return fed


def horizontal_banks(
    root: Path,
    banks: Sequence[Path],
    label: str,
    test: Path | None = None,
    id_column: str = "id",
) -> tuple[LocalFederation, dict[str, dict[str, str]]]:
    """One bank node per file (``bank_a``, ``bank_b``, ...), each also serving ``test`` when
    given; return the federation and the job's ``parties`` section.

    Raises
    ------
    BankFilesError
        Fewer than two bank files, more than 26, or files whose columns differ from the first
        bank's or lack the id or the label.
    """
    if not 2 <= len(banks) <= len(string.ascii_lowercase):
        raise BankFilesError(f"give 2 to 26 bank files, got {len(banks)}")
    expected = list(pd.read_csv(banks[0], nrows=0).columns)
    for csv in [*banks, *([test] if test else [])]:
        columns = list(pd.read_csv(csv, nrows=0).columns)
        missing = [c for c in (id_column, label) if c not in columns]
        if missing:
            raise BankFilesError(
                f"{csv} has no column {missing[0]!r}; its columns are {columns[:8]}... "
                "(pass --label / --id-column)"
            )
        if sorted(columns) != sorted(expected):
            differ = sorted(set(columns) ^ set(expected))
            raise BankFilesError(
                f"{csv} does not have the columns of {banks[0].name} (differ: {differ[:8]}); "
                "horizontal banks share one set of columns"
            )
    nodes: dict[str, tuple[str, str, Mapping[str, Path] | Path, str | None]] = {}
    parties: dict[str, dict[str, str]] = {}
    for letter, csv in zip(string.ascii_lowercase, banks, strict=False):
        node = f"bank_{letter}"
        nodes[node] = (
            "bank",
            f"bank-{letter}",
            {node: csv, **({"test": test} if test else {})},
            label,
        )
        parties[node] = {
            "dataset": node,
            "label": label,
            **({"test_dataset": "test"} if test else {}),
        }
    return csv_federation(root, nodes, id_column), parties


def default_credit_banks(root: Path, data: Path) -> LocalFederation:
    """Three bank nodes, each serving one file of the horizontal split."""
    files = ("homo_guest", "homo_host_1", "homo_host_2")
    fed, _parties = horizontal_banks(root, [data / f"default_credit_{f}.csv" for f in files], "y")
    return fed
