"""Serve existing CSV files (for example the bundled default_credit data) in a local federation.

Each file gets a generated schema (``id`` column, float features, optional 0/1 label) and a
policy that lets every data column be used for training and scoring by the federation's data
holders and lets the id leave only as a token. That is right for public benchmark data, which is
what this is for; real data gets a written policy (docs/policies.md).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from coordinator.local.federation import LocalFederation, PartySpec
from node.data.schema import dump_schema, schema_from_dict


def _policy(dataset: str, columns: list[str], id_column: str) -> dict[str, object]:
    """A test policy: every data column may be used for training and scoring by the
    federation's data holders; the id leaves only as a token."""
    data = [c for c in columns if c != id_column]
    return {
        "fedcredit_policy": 1,
        "description": f"test policy for {dataset}",
        "roles": {
            "bank": ["training", "scoring"],
            "government": ["training", "scoring"],
            "third_party": ["training", "scoring"],
            "coordinator": [],
            "auditor": ["audit"],
            "operator": ["operate"],
        },
        "organizations": {
            "bank-a": "bank",
            "bank-b": "bank",
            "bank-c": "bank",
            "gov-dc": "government",
            "third-party": "third_party",
            "coordinator": "coordinator",
            "audit-office": "auditor",
            "federation-ops": "operator",
        },
        "datasets": {
            dataset: {
                "id_field": id_column,
                "fields": {
                    id_column: {"class": "C2", "kind": "string"},
                    **{c: {"class": "C2", "kind": "numeric"} for c in data},
                },
                "rules": [
                    {
                        "fields": data,
                        "to": {"roles": ["bank", "government", "third_party"]},
                        "purposes": ["training", "scoring"],
                        "transform": "keep",
                    },
                    {
                        "fields": [id_column],
                        "to": {"roles": ["bank", "government", "third_party"]},
                        "purposes": ["training", "scoring"],
                        "transform": "token",
                    },
                ],
            }
        },
    }


def csv_federation(
    root: Path, nodes: dict[str, tuple[str, str, Path, str | None]]
) -> LocalFederation:
    """A prepared federation whose nodes serve existing CSV files (e.g. the bundled real data).

    ``nodes`` maps node id to (role, organization, CSV path, label column or None); ids are
    the ``id`` column, every other column is a float feature. Schemas and policies are written
    into ``root``; the CSV files are read where they are.
    """
    parties = []
    for node_id, (role, org, csv, label) in nodes.items():
        columns = list(pd.read_csv(csv, nrows=0).columns)
        fields = [{"name": "id", "type": "str", "class": "C2"}]
        fields += [
            {"name": c, "type": "int" if c == label else "float", "class": "C2"}
            for c in columns
            if c != "id"
        ]
        schema = {
            "version": 1,
            "name": node_id,
            "id_column": "id",
            "id_is_uscc": False,
            "fields": fields,
            **({"label_column": label} if label else {}),
        }
        (root / "schemas").mkdir(parents=True, exist_ok=True)
        schema_path = dump_schema(schema_from_dict(schema), root / "schemas" / f"{node_id}.yaml")
        policy_path = root / "policies" / f"{node_id}.yaml"
        policy_path.parent.mkdir(parents=True, exist_ok=True)
        policy_path.write_text(yaml.safe_dump(_policy(node_id, columns, "id"), sort_keys=False))
        parties.append(
            PartySpec(node_id, role, org, {node_id: (csv, schema_path, "id")}, policy=policy_path)
        )
    fed = LocalFederation(root)
    fed.prepare(parties)
    return fed


def default_credit_banks(root: Path, data: Path) -> LocalFederation:
    """Three bank nodes, each serving one file of the horizontal split."""
    files = ("homo_guest", "homo_host_1", "homo_host_2")
    return csv_federation(
        root,
        {
            f"bank_{x}": ("bank", f"bank-{x}", data / f"default_credit_{f}.csv", "y")
            for x, f in zip("abc", files, strict=True)
        },
    )
