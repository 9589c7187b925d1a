"""Conversions between coordinator records and their protobuf messages."""

from __future__ import annotations

import json

from coordinator.state import JobRecord, NodeRecord
from protos.fedcredit.v1 import common_pb2, coordinator_pb2


def datasets_to_json(datasets: list[common_pb2.DatasetInfo]) -> str:
    return json.dumps(
        [
            {
                "name": d.name,
                "rows": d.rows,
                "id_column": d.id_column,
                "label_column": d.label_column,
                "fields": [
                    {
                        "name": f.name,
                        "dtype": f.dtype,
                        "sensitivity": f.sensitivity,
                        "purposes": list(f.purposes),
                    }
                    for f in d.fields
                ],
            }
            for d in datasets
        ]
    )


def datasets_from_json(text: str) -> list[common_pb2.DatasetInfo]:
    out = []
    for d in json.loads(text or "[]"):
        fields = [common_pb2.FieldInfo(**f) for f in d.pop("fields", [])]
        out.append(common_pb2.DatasetInfo(fields=fields, **d))
    return out


def node_to_proto(node: NodeRecord, online: bool) -> coordinator_pb2.NodeStatus:
    return coordinator_pb2.NodeStatus(
        node_id=node.node_id,
        organization=node.organization,
        role=node.role,
        online=online,
        registered_at=node.registered_at,
        last_seen=node.last_seen,
        node_address=node.address,
        datasets=datasets_from_json(node.datasets_json),
        policy_version=node.policy_version,
    )


def job_to_proto(job: JobRecord) -> coordinator_pb2.JobStatus:
    return coordinator_pb2.JobStatus(
        job_id=job.job_id,
        job_type=job.job_type,
        state=job.state.value,
        attempt=job.attempt,
        parties=list(job.parties),
        result_json=job.result_json,
        error=job.error,
        created_at=job.created_at,
        updated_at=job.updated_at,
        submitted_by=job.submitted_by,
    )


def task_to_proto(job: JobRecord, attempt: int) -> coordinator_pb2.NodeEvent:
    return coordinator_pb2.NodeEvent(
        task=coordinator_pb2.TaskAssignment(
            job_id=job.job_id,
            job_type=job.job_type,
            spec_yaml=job.spec_yaml,
            attempt=attempt,
            parties=list(job.parties),
        )
    )


def party_left_to_proto(
    job_id: str, attempt: int, party: str, reason: str
) -> coordinator_pb2.NodeEvent:
    return coordinator_pb2.NodeEvent(
        party_left=coordinator_pb2.PartyLeft(
            job_id=job_id, attempt=attempt, party=party, reason=reason
        )
    )
