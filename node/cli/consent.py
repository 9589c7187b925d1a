"""``fedcredit consent``: register, import and revoke firms' authorizations; audit their use.

``register``, ``import`` and ``revoke`` talk to the running bank node (certificate of role
``loan_officer`` or ``operator``), which files each record and sends it sealed to the holders
named. ``list`` and ``audit`` read a node's own state folder and access log: ``audit`` lists
every use of a firm (by this node's token) with the authorization that covered it and flags
any use that none covered. Exit codes: 0 done, 1 a use outside any authorization, 2 bad input,
11 the call to the node failed: refused (one line with its status and reason: e.g. a holder
id no party holds, before anything is filed or revoked) or never answered (the node not
running or unreachable, e.g. status UNAVAILABLE).
"""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from node.audit.reader import LogReader
from node.cli._lending_support import call, fail, node_config, node_stub
from node.consent.audit import uses_of
from node.consent.store import ConsentStore
from protos.fedcredit.v1 import node_pb2

app = typer.Typer(help="Firms' authorizations for the use of their data.", no_args_is_help=True)
Node = Annotated[str, typer.Option("--node", help="host:port of the bank's node.")]
NodeId = Annotated[str, typer.Option("--node-id", help="The bank node's id.")]
Certs = Annotated[Path, typer.Option("--certs", help="Folder with the CA and your certificate.")]
As = Annotated[str, typer.Option("--as", help="Your certificate's name.")]
Config = Annotated[Path, typer.Option("--config", help="The node's configuration file.")]


def _time(text: str) -> float:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()
    except ValueError:
        fail(f"{text!r} is not a date (use YYYY-MM-DD)")


def _holders(text: str) -> list[str]:
    """``--holders`` as node ids (``"a, b"`` names a and b; empty items are dropped)."""
    return [h.strip() for h in text.split(",") if h.strip()]


def _grant(row: dict[str, str], holders: list[str]) -> node_pb2.AuthorizationGrant:
    return node_pb2.AuthorizationGrant(
        uscc=row["uscc"],
        recipient=row.get("recipient", ""),
        purposes=[p for p in row["purposes"].replace(";", ",").split(",") if p],
        valid_from=_time(row["valid_from"]),
        valid_to=_time(row["valid_to"]),
        document_sha256=row["document_sha256"],
        collector=row["collector"],
        collected_at=_time(row.get("collected_at") or row["valid_from"]),
        holders=holders,
    )


@app.command()
def register(
    node: Node,
    node_id: NodeId,
    certs: Certs,
    as_: As,
    uscc: Annotated[str, typer.Option(help="The firm's unified social credit code.")],
    purposes: Annotated[
        str, typer.Option(help="loan_approval,post_loan_monitoring,model_development")
    ],
    valid_from: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    valid_to: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    document: Annotated[
        Path, typer.Option(help="The signed authorization (only its hash is sent).")
    ],
    collector: Annotated[str, typer.Option(help="Who collected it.")],
    holders: Annotated[str, typer.Option(help="Comma-separated node ids to send it to.")],
) -> None:
    """Register one authorization and send it to the holders."""
    try:
        digest = hashlib.sha256(document.read_bytes()).hexdigest()
    except OSError as exc:
        fail(f"cannot read {document}: {exc.strerror}")
    row = {
        "uscc": uscc,
        "purposes": purposes,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "document_sha256": digest,
        "collector": collector,
        "collected_at": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    stub = node_stub(node, node_id, certs, as_)
    batch = node_pb2.AuthorizationBatch(grants=[_grant(row, _holders(holders))])
    ack = call("registration", lambda: stub.RegisterAuthorizations(batch, timeout=60))
    Console().print(
        f"{ack.record_ids[0]}: " + "; ".join(f"{h}: {s}" for h, s in ack.holders.items())
    )


@app.command("import")
def import_(
    node: Node,
    node_id: NodeId,
    certs: Certs,
    as_: As,
    source: Annotated[
        Path,
        typer.Argument(
            help="CSV with uscc, purposes, valid_from, valid_to, document_sha256, collector"
        ),
    ],
    holders: Annotated[str, typer.Option(help="Comma-separated node ids to send them to.")],
) -> None:
    """Bulk-import a bank's existing authorizations (1,000 per call)."""
    try:
        rows = list(csv.DictReader(source.open(newline="")))
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror}")
    need = {"uscc", "purposes", "valid_from", "valid_to", "document_sha256", "collector"}
    if rows and not need <= set(rows[0]):
        fail(f"{source} needs the columns {', '.join(sorted(need))}")
    stub = node_stub(node, node_id, certs, as_)
    total = 0
    for start in range(0, len(rows), 1000):
        batch = node_pb2.AuthorizationBatch(
            grants=[_grant(r, _holders(holders)) for r in rows[start : start + 1000]]
        )
        ack = call(
            f"import of lines {start + 2}-",
            partial(stub.RegisterAuthorizations, batch, timeout=120),
        )
        total += len(ack.record_ids)
    Console().print(f"{total} authorizations registered")


@app.command()
def revoke(
    node: Node,
    node_id: NodeId,
    certs: Certs,
    as_: As,
    record: Annotated[str, typer.Argument(help="The authorization's record id (auth-...).")],
    holders: Annotated[str, typer.Option(help="Comma-separated node ids it was sent to.")],
) -> None:
    """Revoke an authorization at the bank and at the holders."""
    stub = node_stub(node, node_id, certs, as_)
    request = node_pb2.RevokeAuthorizationRequest(record_id=record, holders=_holders(holders))
    ack = call("revocation", lambda: stub.RevokeAuthorization(request, timeout=60))
    Console().print(
        f"{ack.record_ids[0]}: " + "; ".join(f"{h}: {s}" for h, s in ack.holders.items())
    )


@app.command("list")
def list_(
    config: Config, token: Annotated[str, typer.Option(help="A firm token (ft:...).")]
) -> None:
    """Every authorization this node holds for a firm token."""
    store = ConsentStore(node_config(config).state_dir / "consent" / "authorizations.sqlite")
    table = Table("record", "recipient", "purposes", "from", "to", "revoked")
    for a in store.for_subject(token):
        table.add_row(
            a.record_id,
            a.recipient,
            ",".join(a.purposes),
            _day(a.valid_from),
            _day(a.valid_to),
            _day(a.revoked_at) if a.revoked_at else "",
        )
    Console().print(table)


def _day(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")


@app.command()
def audit(
    config: Config, token: Annotated[str, typer.Argument(help="A firm token (ft:...).")]
) -> None:
    """Every use of a firm at this node with the authorization that covered it."""
    state = node_config(config).state_dir
    store = ConsentStore(state / "consent" / "authorizations.sqlite")
    reader = LogReader.open(state / "audit")
    uses = uses_of(reader, store, token)
    table = Table("seq", "time", "who", "action", "result", "authorization", "covered")
    outside = 0
    for u in uses:
        outside += u.flag
        table.add_row(
            str(u.seq),
            u.time,
            u.actor,
            u.action,
            u.result,
            u.authorization,
            "OUTSIDE" if u.flag else "yes" if u.authorization else "-",
        )
    Console().print(table)
    Console().print(f"{len(uses)} entries, {outside} uses outside any authorization")
    if outside:
        raise typer.Exit(1)
