"""Builders for real local federations used by cross-process tests."""

from __future__ import annotations

from pathlib import Path

from coordinator.local import LocalFederation, PartySpec
from node.data.synthetic import generate_federation

ORGANIZATIONS = {"government": "gov-dc", "bank": "bank-a", "third_party": "third-party"}
CHECK_JOB = "type: check\nparties:\n  government: {}\n  bank: {}\n  third_party: {}\n"


def synthetic_federation(root: Path, n_firms: int = 600, seed: int = 7) -> LocalFederation:
    """A prepared (not started) federation of the three synthetic holders."""
    files = generate_federation(root / "data", n_firms=n_firms, seed=seed)
    parties = [
        PartySpec(name, name, org, {name: (files.tables[name], files.schemas[name], "uscc")})
        for name, org in ORGANIZATIONS.items()
    ]
    fed = LocalFederation(root)
    fed.prepare(parties)
    return fed


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
    """A prepared federation whose nodes serve existing CSV files (e.g. the shared real data).

    ``nodes`` maps node id to (role, organization, CSV path, label column or None); ids are
    the ``id`` column, every other column is a float feature. Schemas and policies are written
    into ``root``; the CSV files are read where they are.
    """
    import pandas as pd
    import yaml

    from node.data.schema import dump_schema, schema_from_dict

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


def wait_for_progress(
    fed: LocalFederation, job_id: str, stage: str, step: int
) -> dict[str, object]:
    """Follow a job's events until some party reports ``stage`` at ``step`` or beyond."""
    import json

    from protos.fedcredit.v1 import coordinator_pb2

    for event in fed.coordinator().WatchJob(coordinator_pb2.GetJobRequest(job_id=job_id)):
        detail = json.loads(event.detail_json or "{}")
        if event.kind == "progress" and detail.get("stage") == stage and detail["step"] >= step:
            return {"party": event.party, **detail}
    raise AssertionError(f"job {job_id} ended before {stage} reached {step}")


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


def default_credit_vertical(root: Path, data: Path, host: Path | None = None) -> LocalFederation:
    """The vertical split: the bank with the guest file, a government node with the host file."""
    return csv_federation(
        root,
        {
            "bank": ("bank", "bank-a", data / "default_credit_hetero_guest.csv", "y"),
            "government": (
                "government",
                "gov-dc",
                host or data / "default_credit_hetero_host.csv",
                None,
            ),
        },
    )
