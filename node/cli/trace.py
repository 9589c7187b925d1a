"""``fedcredit trace LEAKED_FILE``: name the release a leaked table came from.

Run on the node's host with its configuration: the fingerprint keys derive from the node
secret in its state directory. Prints each accused release (recipient organization, node,
role and certificate, time, query, policy version), the probability bound that an innocent
release would have scored as high, and its access-log entry with an inclusion proof against a
checkpoint the coordinator's witness accepted. See ``docs/governance.md``.

Exit codes: 0 a release was named, 1 no release matches, 2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console
from rich.table import Table

from node.governance.fingerprint import DEFAULT_MAX_FALSE_ACCUSATION
from node.governance.offline import NodeFiles, NodeFilesError
from node.governance.tabular import UnreadableTable
from node.governance.trace import Match, TraceReport, bound_text, trace_file
from node.runtime.config import load_node_config

EXIT_NOT_FOUND: Final = 1
EXIT_BAD_INPUT: Final = 2

ConfigOpt = Annotated[
    Path, typer.Option("--config", help="The node's configuration file (node.yaml).")
]
WitnessOpt = Annotated[
    Path | None,
    typer.Option(
        "--witness-checkpoint",
        help="This node's checkpoint as fetched from the coordinator's witness; default: the "
        "one the node kept when the witness last accepted.",
    ),
]
FormatOpt = Annotated[str, typer.Option("--format", help="text or json")]


def open_node_files(config_path: Path, witness_checkpoint: Path | None) -> NodeFiles:
    """Open, read-only, the governance files of the node configured in ``config_path``.

    Raises
    ------
    NodeFilesError
        The configuration or one of the files it points to is missing or unusable.
    """
    try:
        config = load_node_config(config_path)
    except Exception as exc:  # ConfigError and YAML errors carry the file and key
        raise NodeFilesError(str(exc)) from None
    certificate = config.cert_dir / f"{config.cert_name}.crt"
    return NodeFiles.open(config.node_id, config.state_dir, certificate, witness_checkpoint)


def fail(message: str) -> typer.Exit:
    """Print ``message`` as an error and return the exit to raise (bad input)."""
    Console(stderr=True).print(f"[red]error[/red] {message}", markup=True, highlight=False)
    return typer.Exit(EXIT_BAD_INPUT)


def _print_match(console: Console, m: Match) -> None:
    r = m.release.record
    table = Table(show_header=False, title=f"release {r.release_id}", title_justify="left")
    table.add_row("recipient", m.release.principal)
    table.add_row(
        "certificate",
        f"serial {m.release.cert_serial or '-'}  sha256 {m.release.cert_sha256 or '-'}",
    )
    table.add_row("released at", r.at)
    table.add_row("query", json.dumps(r.query, ensure_ascii=False, sort_keys=True))
    table.add_row("policy version", r.policy_version)
    table.add_row("rows, fields", f"{r.rows}, {', '.join(r.fields)}")
    if m.exact_copy:
        table.add_row("match", "byte-identical copy (same SHA-256)")
    if m.score is not None:
        s = m.score
        table.add_row(
            "fingerprint",
            f"{s.agree} of {s.pairs} value pairs carry this release's mark "
            f"({s.agreement:.1%}; chance is 50%) in {', '.join(s.columns)}",
        )
    table.add_row("false-accusation bound", bound_text(m.log10_bound))
    e = m.evidence
    if e is None:
        table.add_row("evidence", "no signed checkpoint covers the release entry yet")
    else:
        cp = e.anchor.checkpoint
        source = "the witness accepted" if e.witnessed else "the node signed (not yet witnessed)"
        table.add_row(
            "evidence",
            f"access-log entry {e.index}, inclusion proof of {len(e.proof)} hashes verified "
            f"against the checkpoint {source} at size {cp.size} ({cp.time})",
        )
    console.print(table)


def print_report(report: TraceReport, console: Console) -> None:
    """Human-readable trace outcome."""
    v = report.verdict
    console.print(
        f"{report.source}: {report.rows} rows, {len(report.columns)} columns; tested against "
        f"{v.tested} fingerprinted release(s), accusing only below a false-accusation "
        f"probability of {v.max_false_accusation:g}",
        highlight=False,
    )
    if not report.matches:
        best = v.scores[0] if v.scores else None
        detail = (
            f"; closest: {best.agree} of {best.pairs} pairs ({best.agreement:.1%}), bound "
            f"{bound_text(v.log10_bound(best))}"
            if best
            else "; no column of the file carries a fingerprint this node wrote"
        )
        console.print(f"no release matches{detail}", highlight=False)
        return
    for m in report.matches:
        _print_match(console, m)


def trace(
    leaked_file: Annotated[
        Path, typer.Argument(help="The leaked table (CSV, Parquet, Excel, JSON).")
    ],
    config: ConfigOpt,
    witness_checkpoint: WitnessOpt = None,
    max_false_accusation: Annotated[
        float,
        typer.Option(
            help="Accuse only when an innocent release would score this high with at "
            "most this probability."
        ),
    ] = DEFAULT_MAX_FALSE_ACCUSATION,
    output: FormatOpt = "text",
) -> None:
    """Find the release a leaked file came from, with a false-accusation bound and proof."""
    if not 0 < max_false_accusation < 1:
        raise fail("--max-false-accusation must be between 0 and 1 (e.g. 1e-9)")
    try:
        with open_node_files(config, witness_checkpoint) as node:
            report = trace_file(
                leaked_file,
                node.registry.releases(),
                node.key_of,
                prover=node.prover,
                max_false_accusation=max_false_accusation,
            )
    except (NodeFilesError, UnreadableTable) as exc:
        raise fail(str(exc)) from None
    if output == "json":
        typer.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print_report(report, Console())
    if not report.traced:
        raise typer.Exit(EXIT_NOT_FOUND)
