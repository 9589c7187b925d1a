"""The certificates a federation needs: its CA, the coordinator, an operator, an auditor, and one
per node. Used by ``fedcredit init`` and by the local federation alike."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from node.pki import create_ca, issue_certificate


def issue_federation_certificates(
    certs: Path,
    nodes: Iterable[tuple[str, str, str]],
    operator_organization: str = "federation-ops",
) -> list[str]:
    """Create the CA (once) and every missing certificate; return the names newly issued.

    ``nodes`` are (node id, role, organization). Existing certificates are kept: peers may
    already hold them, and re-issuing a key is a deliberate act (``fedcredit certs``).
    """
    if not (certs / "ca.key").exists():
        create_ca(certs)
    wanted = [
        ("coordinator", "coordinator", "coordinator"),
        ("operator", "operator", operator_organization),
        ("auditor", "auditor", "audit-office"),
        *nodes,
    ]
    issued = []
    for name, role, organization in wanted:
        if not (certs / f"{name}.crt").exists():
            issue_certificate(certs, name, role=role, organization=organization)
            issued.append(name)
    return issued
