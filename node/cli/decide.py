"""``fedcredit decide``: ask the bank's node for decisions; replay a decision from its record.

``one`` and ``batch`` talk to the running bank node over mTLS with a ``loan_officer``
certificate of the bank's organization; ``batch`` streams a CSV of applicants (``uscc,
application_ref[,amount,term_months]``) in chunks and appends to its output, so an interrupted
run resumes where it stopped. ``replay`` and ``list`` read the bank's state folder.
Exit codes: 0 done, 1 a replay did not reproduce, 2 bad input, 3 configuration.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from google.protobuf.json_format import MessageToDict
from rich.console import Console

from node.cli._lending_support import call, fail, node_config, node_stub
from node.models import ModelError, ModelRegistry
from node.scoring.columns import MalformedColumns
from node.scoring.exceptions import ScoringError
from node.scoring.records import DecisionRecords
from node.scoring.serde import applications_to_columns, decisions_from_columns
from node.scoring.service import replay_record
from protos.fedcredit.v1 import node_pb2

app = typer.Typer(help="Loan decisions at the bank's node.", no_args_is_help=True)
Node = Annotated[str, typer.Option("--node", help="host:port of the bank's node.")]
NodeId = Annotated[str, typer.Option("--node-id", help="The bank node's id (its certificate).")]
Certs = Annotated[Path, typer.Option("--certs", help="Folder with the CA and your certificate.")]
As = Annotated[str, typer.Option("--as", help="Your certificate's name (role loan_officer).")]
CHUNK = 2000
COLUMNS = (
    "application_ref",
    "decision",
    "pd",
    "points",
    "price_band",
    "suggested_limit",
    "reasons",
    "gaps",
    "record_id",
)


@app.command()
def one(
    node: Node,
    node_id: NodeId,
    certs: Certs,
    as_: As,
    uscc: Annotated[str, typer.Option(help="The applicant's unified social credit code.")],
    ref: Annotated[str, typer.Option(help="Your application reference.")],
    amount: Annotated[float, typer.Option(help="Requested amount.")] = 0.0,
    term: Annotated[int, typer.Option(help="Term in months.")] = 12,
) -> None:
    """Decide one application and print the decision as JSON."""
    stub = node_stub(node, node_id, certs, as_)
    request = node_pb2.DecideRequest(
        uscc=uscc, application_ref=ref, amount=amount, term_months=term
    )
    response = call("decision", lambda: stub.Decide(request, timeout=30))
    Console().print_json(json.dumps(MessageToDict(response, preserving_proto_field_name=True)))


def _done_refs(out: Path) -> set[str]:
    if not out.exists():
        return set()
    with out.open(newline="") as f:
        return {row["application_ref"] for row in csv.DictReader(f) if row.get("record_id")}


def _applications(source: Path, done: set[str]) -> Iterator[tuple[str, str, float, int]]:
    """The applicants of ``source`` not yet in the output, read row by row (no whole file)."""
    try:
        f = source.open(newline="")
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror}")
    with f:
        reader = csv.DictReader(f)
        if not {"uscc", "application_ref"} <= set(reader.fieldnames or ()):
            fail(f"{source} needs the columns uscc and application_ref")
        for line, row in enumerate(reader, start=2):
            if row["application_ref"] in done:
                continue
            try:
                amount = float(row.get("amount") or 0)
                term = int(row.get("term_months") or 0)
            except ValueError:
                fail(f"{source}:{line}: amount and term_months must be numbers")
            yield row["uscc"], row["application_ref"], amount, term


def _chunks(
    items: Iterator[tuple[str, str, float, int]], size: int
) -> Iterator[list[tuple[str, str, float, int]]]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


class _Out:
    """The decisions CSV, appended chunk by chunk and flushed after each (resumable)."""

    def __init__(self, out: Path) -> None:
        new_file = not out.exists()
        try:
            self._file = out.open("a", newline="")
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror}")
        self._writer = csv.writer(self._file)
        if new_file:
            self._writer.writerow(COLUMNS)
        self.written = 0

    def write(self, response: node_pb2.DecideBatchResponse, skip: set[str]) -> None:
        """Append a columnar reply's decisions (those not in ``skip``) and flush."""
        try:
            decided = decisions_from_columns(response.columns)
        except MalformedColumns as exc:
            fail(f"the node's reply is not readable ({exc}); upgrade this tool or the node")
        for d in decided:
            if d.ref in skip:
                continue
            o = d.outcome
            self._writer.writerow(
                [
                    d.ref,
                    o.decision,
                    f"{o.pd:.6f}",
                    f"{o.points:.1f}",
                    o.price_band,
                    f"{o.suggested_limit:.0f}",
                    ";".join(code for code, _ in o.reasons),
                    ";".join(f"{party}:{reason}" for party, reason, _ in o.gaps),
                    d.record_id,
                ]
            )
            self.written += 1
        self._file.flush()

    def close(self) -> None:
        self._file.close()


@app.command()
def batch(
    node: Node,
    node_id: NodeId,
    certs: Certs,
    as_: As,
    source: Annotated[
        Path, typer.Option("--in", help="CSV: uscc,application_ref[,amount,term_months]")
    ],
    out: Annotated[Path, typer.Option("--out", help="CSV of decisions (appended; resumable).")],
    chunk: Annotated[int, typer.Option(help="Applications per call (1-5000).")] = CHUNK,
) -> None:
    """Decide a file of applicants in chunks; rerun after an interruption to finish it."""
    if not 1 <= chunk <= 5000:
        fail("--chunk must be between 1 and 5000")
    stub = node_stub(node, node_id, certs, as_)
    done = _done_refs(out)
    writer = _Out(out)
    try:
        for rows in _chunks(_applications(source, done), chunk):
            codes, refs, amounts, terms = zip(*rows, strict=True)
            request = node_pb2.DecideBatchRequest(
                columns=applications_to_columns(codes, refs, amounts, terms), columnar_reply=True
            )
            response = call("batch", lambda r=request: stub.DecideBatch(r, timeout=300))  # type: ignore[misc]
            writer.write(response, set())
    finally:
        writer.close()
    Console().print(f"{writer.written} decided, {len(done)} already in {out}")


@app.command()
def book(
    node: Node,
    node_id: NodeId,
    certs: Certs,
    as_: As,
    out: Annotated[Path, typer.Option("--out", help="CSV of decisions (appended; resumable).")],
    prefix: Annotated[str, typer.Option(help="Reference prefix: <prefix>-<row>.")] = "book",
    amount: Annotated[float, typer.Option(help="Amount assumed for every firm.")] = 0.0,
    term: Annotated[int, typer.Option(help="Term in months.")] = 12,
    chunk: Annotated[int, typer.Option(help="Firms per chunk (1-5000).")] = 5000,
) -> None:
    """Decide the bank's whole book at its node (portfolio review); rerun to resume."""
    if not 1 <= chunk <= 5000:
        fail("--chunk must be between 1 and 5000")
    stub = node_stub(node, node_id, certs, as_)
    done = _done_refs(out)
    rows = [int(r.rsplit("-", 1)[1]) for r in done if r.startswith(f"{prefix}-")]
    start = (max(rows) + 1) // chunk if rows else 0  # a partly written chunk is redone
    request = node_pb2.DecideBookRequest(
        ref_prefix=prefix,
        amount=amount,
        term_months=term,
        start_chunk=start,
        chunk_size=chunk,
        columnar_reply=True,
    )
    writer = _Out(out)

    def book() -> None:
        for reply in stub.DecideBook(request, timeout=3600):
            writer.write(reply, done)

    try:
        call("book", book)
    finally:
        writer.close()
    Console().print(f"{writer.written} decided from chunk {start}, {len(done)} already in {out}")


@app.command()
def replay(
    record: Annotated[str, typer.Argument(help="A decision record id (dec-...).")],
    config: Annotated[Path, typer.Option("--config", help="The bank node's configuration.")],
) -> None:
    """Recompute a decision from its record; exit 1 if the outcome differs."""
    state = node_config(config).state_dir
    records = DecisionRecords(state / "scoring" / "decisions.sqlite")
    try:
        recorded, again = replay_record(records, ModelRegistry(state), record)
    except (ScoringError, ModelError) as exc:
        fail(str(exc))
    if recorded != again:
        diff = [k for k in recorded if recorded[k] != again.get(k)]
        Console().print(f"[red]not reproduced[/red]: {', '.join(diff)} differ")
        raise typer.Exit(1)
    Console().print(f"reproduced: {again['decision']} at pd {again['pd']:.6f}")


@app.command("list")
def list_(
    config: Annotated[Path, typer.Option("--config", help="The bank node's configuration.")],
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
) -> None:
    """The latest decision records (reference, decision, record id)."""
    state = node_config(config).state_dir
    for r in DecisionRecords(state / "scoring" / "decisions.sqlite").latest(limit):
        Console().print(f"{r['record_id']}  {r['application_ref']}  {r['outcome']['decision']}")
