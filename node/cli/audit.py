"""``fedcredit-audit``: the auditor's tools over an access-log directory or an export file.

Every command works offline on files: a log directory copied from (or shared read-only by) a
node, an export file, checkpoints the auditor kept, and the node's public key obtained out of
band (PEM key, node certificate, or raw hex). See ``docs/auditor-guide.md``.

Exit codes (``node.cli.exit_codes``): 0 verified / done, 1 verification failed (tampering, a
forged checkpoint, a damaged database), 2 bad input (missing file, unreadable key, index out of
range), 12 unanchored (``verify`` found nothing wrong but had no checkpoint from outside the
node).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.table import Table

from node.audit.checkpoint import SignedCheckpoint, load_public_key
from node.audit.entry import Action
from node.audit.exceptions import (
    AuditError,
    InvalidCheckpoint,
    InvalidProof,
    LogCorruptError,
    ProofRangeError,
    SearchIndexMismatch,
    TamperDetected,
)
from node.audit.export import verify_export, write_export
from node.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from node.audit.reader import LogReader
from node.audit.search import SearchQuery
from node.audit.verify import Finding, verify_log
from node.cli.exit_codes import ExitCode

EXIT_FAILED: Final = int(ExitCode.FAILED)
EXIT_BAD_INPUT: Final = int(ExitCode.USAGE)
EXIT_UNANCHORED: Final = int(ExitCode.UNANCHORED)

app = typer.Typer(
    help="Verify, prove, search and export a node's tamper-evident access log.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals of a log reader hold entry bytes
)
_out = Console()
_err = Console(stderr=True, soft_wrap=True)  # one line per message, whatever the width

LogDir = Annotated[Path, typer.Argument(help="The node's access-log directory.")]
KeyOpt = Annotated[
    Path, typer.Option("--public-key", help="The node's Ed25519 public key (PEM, cert or hex).")
]
FormatOpt = Annotated[str, typer.Option("--format", help="text or json")]


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    _err.print(f"[red]error[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def _emit_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, sort_keys=True))


def _key(path: Path) -> Ed25519PublicKey:
    try:
        return load_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot load public key {path}: {exc}") from None


def _checkpoint(path: Path | None) -> SignedCheckpoint | None:
    if path is None:
        return None
    try:
        return SignedCheckpoint.from_bytes(path.read_bytes())
    except (OSError, InvalidCheckpoint) as exc:
        raise _fail(f"cannot read checkpoint {path}: {exc}") from None


def _anchor(reader: LogReader, path: Path | None) -> SignedCheckpoint:
    """The checkpoint given on the command line, else the newest stored one."""
    given = _checkpoint(path)
    if given is not None:
        return given
    try:
        stored = reader.latest_checkpoint()
    except InvalidCheckpoint as exc:
        raise _fail(f"the stored checkpoint is unreadable: {exc}", EXIT_FAILED) from None
    if stored is None:
        raise _fail("the log has no checkpoint yet")
    return stored


@contextmanager
def _reader(directory: Path) -> Iterator[LogReader]:
    """The log opened read-only; a damaged database file ends the command with one line."""
    try:
        reader = LogReader.open(directory)
    except (FileNotFoundError, AuditError) as exc:
        raise _fail(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise _damaged(directory, exc) from None
    try:
        yield reader
    except sqlite3.DatabaseError as exc:
        raise _damaged(directory, exc) from None
    finally:
        with suppress(sqlite3.Error):
            reader.close()


def _damaged(directory: Path, exc: sqlite3.DatabaseError) -> typer.Exit:
    # SQLite's own messages ("file is not a database", "database disk image is malformed")
    # name the kind of damage and never quote the file's contents.
    return _fail(
        f"{directory} does not hold a readable access log ({exc}); verify a copy taken with "
        "SQLite's .backup, or restore the directory from the node",
        EXIT_FAILED,
    )


def _print_findings(findings: list[Finding]) -> None:
    table = Table("kind", "position", "detail", title="findings")
    for f in findings:
        table.add_row(f.kind, "-" if f.position is None else str(f.position), f.detail)
    _out.print(table)


@app.command()
def verify(
    log_dir: LogDir,
    public_key: Annotated[
        list[Path],
        typer.Option(
            "--public-key",
            help="The node's Ed25519 public key (PEM, cert or hex); repeat it with the old "
            "key after a key rotation.",
        ),
    ],
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="The checkpoint to trust: the witness's copy, or one you kept. Without it "
            "the log is only checked against its own newest checkpoint and the result is "
            "UNANCHORED (exit 12)."
        ),
    ] = None,
    output: FormatOpt = "text",
) -> None:
    """Recompute the whole log from its entries and check it against a signed checkpoint.

    Also checks every checkpoint stored in the log, the stored tree proofs are served from,
    and the search index (its columns are outside the tree).
    """
    keys, anchor = [_key(p) for p in public_key], _checkpoint(checkpoint)
    with _reader(log_dir) as reader:
        try:
            report = verify_log(reader, keys, anchor)
        except TamperDetected as exc:
            if output == "json":
                obj: dict[str, object] = exc.report.to_json_obj() if exc.report else {"ok": False}
                obj["findings"] = [f.to_json_obj() for f in exc.findings]
                _emit_json(obj)
            else:
                _err.print(f"[red]FAILED[/red] {exc}", markup=True, highlight=False)
                _print_findings(exc.findings)
            raise typer.Exit(EXIT_FAILED) from None
    if output == "json":
        _emit_json({**report.to_json_obj(), "ok": report.anchored})
    else:
        verdict = "OK" if report.anchored else "UNANCHORED"
        _out.print(
            f"{verdict}: {report.entries_checked} entries of log {report.origin!r} rebuild the "
            f"root signed at size {report.checkpoint_size} ({report.checkpoint_time}); "
            f"{report.checkpoints_checked} stored checkpoint(s) consistent; search index "
            f"consistent; {report.unsigned_tail} entr(y/ies) newer than the checkpoint",
            highlight=False,
        )
    if not report.anchored:
        _err.print(
            "[yellow]UNANCHORED[/yellow] the only checkpoint was the log's own newest one, "
            "which a log truncated back to an earlier checkpoint (or rewritten with the "
            "node's key) still satisfies; pass --checkpoint with the witness's checkpoint "
            "for this node or one you kept from an earlier visit",
            markup=True,
            highlight=False,
        )
        raise typer.Exit(EXIT_UNANCHORED)


@app.command()
def checkpoint(
    log_dir: LogDir,
    out: Annotated[Path | None, typer.Option(help="Also write it to this file.")] = None,
) -> None:
    """Print the newest stored checkpoint (keep a copy: later proofs are checked against it)."""
    with _reader(log_dir) as reader:
        try:
            cp = reader.latest_checkpoint()
        except InvalidCheckpoint as exc:
            raise _fail(str(exc), EXIT_FAILED) from None
    if cp is None:
        raise _fail("the log has no checkpoint yet")
    if out is not None:
        out.write_bytes(cp.to_bytes())
    typer.echo(cp.to_bytes().decode("ascii"), nl=False)


@app.command()
def prove(
    log_dir: LogDir,
    index: Annotated[int, typer.Argument(help="The entry's index.")],
    public_key: KeyOpt,
    checkpoint: Annotated[
        Path | None, typer.Option(help="Prove against this checkpoint; default: newest stored.")
    ] = None,
    output: FormatOpt = "text",
) -> None:
    """Print entry INDEX with its inclusion proof, checked against a signed checkpoint."""
    key = _key(public_key)
    with _reader(log_dir) as reader:
        cp = _anchor(reader, checkpoint)
        try:
            data = reader.entry_bytes(index)
            proof = reader.inclusion_proof(index, cp.size)
            cp.verify(key)
            verify_inclusion(leaf_hash(data), index, cp.size, proof, cp.root)
        except ProofRangeError as exc:
            raise _fail(str(exc)) from None
        except (InvalidCheckpoint, InvalidProof, LogCorruptError) as exc:
            raise _fail(f"proof does not verify: {exc}", EXIT_FAILED) from None
    obj = {
        "index": index,
        "entry": json.loads(data),
        "tree_size": cp.size,
        "proof": [p.hex() for p in proof],
        "checkpoint": cp.to_bytes().decode("ascii"),
        "verified": True,
    }
    if output == "json":
        _emit_json(obj)
        return
    _out.print(f"entry {index} is in the log signed at size {cp.size} ({cp.time})", highlight=False)
    _out.print_json(data.decode("ascii"))
    _out.print(f"inclusion proof ({len(proof)} hashes):", highlight=False)
    for p in proof:
        _out.print(f"  {p.hex()}", highlight=False)


@app.command()
def consistency(
    log_dir: LogDir,
    old: Annotated[Path, typer.Argument(help="The older checkpoint file you kept.")],
    public_key: KeyOpt,
    new: Annotated[
        Path | None, typer.Option(help="The newer checkpoint; default: newest stored.")
    ] = None,
    output: FormatOpt = "text",
) -> None:
    """Prove that the log at the newer checkpoint extends the older one (no history rewrite)."""
    key = _key(public_key)
    first = _checkpoint(old)
    if first is None:  # unreachable: OLD is a required argument
        raise _fail("an old checkpoint file is required")
    with _reader(log_dir) as reader:
        second = _anchor(reader, new)
        try:
            first.verify(key)
            second.verify(key)
            if first.origin != second.origin:
                raise InvalidCheckpoint("the two checkpoints are from different logs")
            proof = reader.consistency_proof(first.size, second.size)
            verify_consistency(first.size, second.size, first.root, second.root, proof)
        except ProofRangeError as exc:
            raise _fail(str(exc)) from None
        except (InvalidCheckpoint, InvalidProof, LogCorruptError) as exc:
            raise _fail(f"not consistent: {exc}", EXIT_FAILED) from None
    if output == "json":
        _emit_json(
            {
                "consistent": True,
                "old_size": first.size,
                "new_size": second.size,
                "proof": [p.hex() for p in proof],
            }
        )
        return
    _out.print(
        f"consistent: the log at size {second.size} ({second.time}) extends size {first.size} "
        f"({first.time}); proof of {len(proof)} hashes",
        highlight=False,
    )


def _query(
    actor: str | None,
    action: str | None,
    since: str | None,
    until: str | None,
    job: str | None,
    dataset: str | None,
    firm_token: str | None,
    limit: int,
) -> SearchQuery:
    try:
        act = None if action is None else Action(action)
    except ValueError:
        known = ", ".join(a.value for a in Action)
        raise _fail(f"unknown action {action!r}; use one of {known}") from None
    return SearchQuery(actor, act, since, until, job, dataset, firm_token, limit)


ActorOpt = Annotated[
    str | None, typer.Option(help="organization, organization/node or organization/node/role")
]
ActionOpt = Annotated[str | None, typer.Option(help="read, release, denial, psi_run, ...")]
SinceOpt = Annotated[str | None, typer.Option(help="UTC time or prefix, inclusive")]
UntilOpt = Annotated[str | None, typer.Option(help="UTC time or prefix, exclusive")]
JobOpt = Annotated[str | None, typer.Option(help="job id")]
DatasetOpt = Annotated[str | None, typer.Option(help="dataset name")]
TokenOpt = Annotated[str | None, typer.Option(help="a firm token (the node operator makes it)")]
LimitOpt = Annotated[int, typer.Option(help="at most this many entries")]


@app.command()
def search(
    log_dir: LogDir,
    actor: ActorOpt = None,
    action: ActionOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    job: JobOpt = None,
    dataset: DatasetOpt = None,
    firm_token: TokenOpt = None,
    limit: LimitOpt = 1000,
    scan: Annotated[
        bool,
        typer.Option(
            help="Match every entry's hashed bytes instead of the search index (slower; "
            "not fooled by a rewritten index column)."
        ),
    ] = False,
    output: FormatOpt = "text",
) -> None:
    """List entries by actor, action, time range, job, dataset or firm token.

    The search index sits outside the Merkle tree: every hit is re-checked on the entry's
    hashed bytes and a row that lies stops the search (exit 1), but a rewritten column can
    still hide an entry. Run verify first, or search with --scan.
    """
    query = _query(actor, action, since, until, job, dataset, firm_token, limit)
    with _reader(log_dir) as reader:
        try:
            hits = reader.search(query, scan=scan)
        except SearchIndexMismatch as exc:
            raise _fail(str(exc), EXIT_FAILED) from None
    if output == "json":
        _emit_json([{"index": i, "entry": e.to_json_obj()} for i, e in hits])
        return
    table = Table("#", "time", "actor", "action", "purpose", "job", "dataset", "rows", "result")
    for i, e in hits:
        table.add_row(
            str(i),
            e.time or "",
            e.actor.label(),
            e.action.value,
            e.purpose,
            e.job_id,
            e.dataset,
            "" if e.rows is None else str(e.rows),
            e.result,
        )
    _out.print(table)
    source = "every entry's hashed bytes" if scan else "the search index (checked by verify)"
    _out.print(f"{len(hits)} entr(y/ies), found through {source}", highlight=False)


@app.command()
def export(
    log_dir: LogDir,
    out: Annotated[Path, typer.Argument(help="The export file to write (JSON Lines).")],
    checkpoint: Annotated[
        Path | None, typer.Option(help="Export against this checkpoint; default: newest stored.")
    ] = None,
    actor: ActorOpt = None,
    action: ActionOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    job: JobOpt = None,
    dataset: DatasetOpt = None,
    firm_token: TokenOpt = None,
    limit: LimitOpt = 100_000,
    output: FormatOpt = "text",
) -> None:
    """Write entries plus proofs to a file an auditor verifies offline with the public key.

    Without filters the export is complete (every entry the checkpoint covers); with filters
    it holds the matching entries, each with its inclusion proof.
    """
    filters = (actor, action, since, until, job, dataset, firm_token)
    query = None
    if any(f is not None for f in filters):
        query = _query(actor, action, since, until, job, dataset, firm_token, limit)
    with _reader(log_dir) as reader:
        try:
            summary = write_export(reader, out, _checkpoint(checkpoint), query)
        except (ProofRangeError, InvalidCheckpoint) as exc:
            raise _fail(str(exc)) from None
        except SearchIndexMismatch as exc:
            raise _fail(str(exc), EXIT_FAILED) from None
    if output == "json":
        _emit_json(summary.to_json_obj())
        return
    kind = "complete" if summary.complete else "selective"
    _out.print(
        f"wrote {kind} export of {summary.count} entr(y/ies) against size "
        f"{summary.checkpoint_size} to {out}",
        highlight=False,
    )


@app.command("verify-export")
def verify_export_cmd(
    path: Annotated[Path, typer.Argument(help="An export file.")],
    public_key: KeyOpt,
    output: FormatOpt = "text",
) -> None:
    """Verify an export offline: checkpoint signature, every entry, every proof."""
    key = _key(public_key)
    try:
        report = verify_export(path, key)
    except OSError as exc:
        raise _fail(f"cannot read {path}: {exc}") from None
    except TamperDetected as exc:
        if output == "json":
            _emit_json({"ok": False, "findings": [f.to_json_obj() for f in exc.findings]})
        else:
            _err.print(f"[red]FAILED[/red] {exc}", markup=True, highlight=False)
            _print_findings(exc.findings)
        raise typer.Exit(EXIT_FAILED) from None
    except AuditError as exc:
        raise _fail(str(exc)) from None
    if output == "json":
        _emit_json(report.to_json_obj())
        return
    s = report.summary
    kind = "complete" if s.complete else "selective"
    _out.print(
        f"OK: {kind} export of {s.count} entr(y/ies) from {s.origin!r}, signed at size "
        f"{s.checkpoint_size}",
        highlight=False,
    )


def main() -> None:
    """Console entry point ``fedcredit-audit``."""
    app()


if __name__ == "__main__":
    main()
