"""``fedcredit monitor``: run a refresh of the bank's book, read the watch list and alerts,
acknowledge and act on an alert. Talks to the running bank node over mTLS with a
``loan_officer`` (or, except for ``act``/``ack``, an ``operator``) certificate of the bank's
organization. ``table`` works offline on a node's own files: it writes the node's part of the
early-warning model's training data. Exit codes: 0 done, 2 bad input, 3 configuration,
5 refused by the node.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from node.cli._lending_support import call, fail, node_config, node_stub
from node.cli.exit_codes import ExitCode
from node.monitoring.config import MonitoringConfig, monitoring_config
from node.monitoring.exceptions import MonitoringError
from node.monitoring.flag_review import MIN_RAISED
from node.monitoring.serde import alert_from_proto
from node.runtime.config import NodeConfig
from protos.fedcredit.v1 import node_pb2

app = typer.Typer(help="Post-loan monitoring at the bank's node.", no_args_is_help=True)
Node = Annotated[str, typer.Option("--node", help="host:port of the bank's node.")]
NodeId = Annotated[str, typer.Option("--node-id", help="The bank node's id (its certificate).")]
Certs = Annotated[Path, typer.Option("--certs", help="Folder with the CA and your certificate.")]
As = Annotated[str, typer.Option("--as", help="Your certificate's name.")]
Format = Annotated[str, typer.Option("--format", help="table or json")]
LEVEL_COLOURS = {"green": "green", "yellow": "yellow", "orange": "dark_orange", "red": "red"}


@app.command()
def refresh(
    node: Node,
    node_id: NodeId,
    certs: Certs,
    as_: As,
    as_of: Annotated[str, typer.Option(help="Month YYYY-MM (default: the latest).")] = "",
) -> None:
    """Refresh the whole book now and print what changed (counts and codes)."""
    stub = node_stub(node, node_id, certs, as_)
    request = node_pb2.MonitorRefreshRequest(as_of=as_of)
    response = call("refresh", lambda: stub.MonitorRefresh(request, timeout=600))
    Console().print_json(response.result_json)


@app.command("watchlist")
def watchlist_cmd(
    node: Node,
    node_id: NodeId,
    certs: Certs,
    as_: As,
    min_level: Annotated[str, typer.Option(help="yellow, orange or red")] = "yellow",
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
    fmt: Format = "table",
) -> None:
    """The borrowers at ``--min-level`` or above, most severe first."""
    stub = node_stub(node, node_id, certs, as_)
    request = node_pb2.MonitorWatchlistRequest(min_level=min_level, limit=limit)
    response = call("watch list", lambda: stub.MonitorWatchlist(request, timeout=60))
    if fmt == "json":
        rows = [
            {"firm": e.firm, "ref": e.ref, "level": e.level, "reasons": list(e.reasons),
             "pd": round(e.pd, 4), "category": e.category, "since": e.since}
            for e in response.entries
        ]  # fmt: skip
        typer.echo(json.dumps({"levels": dict(response.levels), "watchlist": rows}))
        return
    table = Table("ref", "level", "PD", "class", "since", "reasons")
    for e in response.entries:
        colour = LEVEL_COLOURS.get(e.level, "white")
        table.add_row(
            e.ref, f"[{colour}]{e.level}[/{colour}]", f"{e.pd:.3f}", e.category, e.since,
            " ".join(e.reasons),
        )  # fmt: skip
    console = Console()
    console.print(table)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(response.levels.items()))
    console.print(f"whole book: {counts}")


@app.command()
def alerts(
    node: Node,
    node_id: NodeId,
    certs: Certs,
    as_: As,
    state: Annotated[str, typer.Option(help="open, acknowledged, ..., closed")] = "",
    kind: Annotated[str, typer.Option(help="level_change, data_quality or drift")] = "",
    limit: Annotated[int, typer.Option(help="Alerts to show.")] = 50,
    fmt: Format = "table",
) -> None:
    """Alerts, newest first."""
    stub = node_stub(node, node_id, certs, as_)
    request = node_pb2.MonitorAlertsRequest(state=state, kind=kind, limit=limit)
    response = call("alerts", lambda: stub.MonitorAlerts(request, timeout=60))
    bodies = [alert_from_proto(a) for a in response.alerts]
    if fmt == "json":
        typer.echo(json.dumps(bodies))
        return
    table = Table("alert", "kind", "state", "subject", "what")
    for body in bodies:
        reasons = " ".join(body.get("reasons", []))
        what = (
            f"{body.get('from_level')} -> {body.get('to_level')} {reasons}"
            if body["kind"] == "level_change"
            else f"{body.get('code')} {body.get('detail', body.get('psi', ''))}"
        )
        table.add_row(
            body["alert_id"], body["kind"], body["state"], body.get("ref", body["subject"]), what
        )
    Console().print(table)


def _act(
    node: str, node_id: str, certs: Path, as_: str, alert_id: str, action: str, note: str
) -> None:
    stub = node_stub(node, node_id, certs, as_)
    request = node_pb2.MonitorActRequest(alert_id=alert_id, action=action, note=note)
    response = call(action, lambda: stub.MonitorAct(request, timeout=30))
    typer.echo(f"{response.alert_id}: {response.state}")


@app.command()
def ack(node: Node, node_id: NodeId, certs: Certs, as_: As,
        alert_id: Annotated[str, typer.Argument(help="The alert's id.")]) -> None:  # fmt: skip
    """Acknowledge an alert."""
    _act(node, node_id, certs, as_, alert_id, "acknowledge", "")


@app.command()
def act(
    node: Node,
    node_id: NodeId,
    certs: Certs,
    as_: As,
    alert_id: Annotated[str, typer.Argument(help="The alert's id.")],
    action: Annotated[str, typer.Argument(help="inspection, reminder, limit_freeze or close")],
    note: Annotated[str, typer.Option(help="A short note for the workflow history.")] = "",
) -> None:
    """Record an action on an alert: an on-site inspection task, a repayment reminder, a
    limit freeze, or closing it."""
    _act(node, node_id, certs, as_, alert_id, action, note)


def _monitoring_section(cfg: NodeConfig, key: str) -> MonitoringConfig:
    """The node's ``monitoring:`` section, refusing one that names no ``key`` (a command's
    one line, exit code 3)."""
    try:
        monitoring = monitoring_config(cfg.monitoring, cfg.state_dir)
    except MonitoringError as exc:
        fail(str(exc), ExitCode.CONFIG)
    if getattr(monitoring, key) is None:
        fail(f"this node names no monitoring.{key} in its config", ExitCode.CONFIG)
    return monitoring


@app.command()
def table(
    config: Annotated[Path, typer.Option("--config", help="This node's configuration file.")],
    first: Annotated[str, typer.Option("--from", help="First cutoff month YYYY-MM.")],
    last: Annotated[str, typer.Option("--to", help="Last cutoff month YYYY-MM.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for <name>.csv and its schema.")],
    name: Annotated[str, typer.Option(help="Dataset name (default: <node id>_ew).")] = "",
    defaults: Annotated[
        str, typer.Option(help="Bank only: dataset of default months (id, default_month).")
    ] = "",
    horizon: Annotated[int, typer.Option(help="Label: defaults within this many months.")] = 6,
    fmt: Annotated[str, typer.Option("--format", help="File format: csv or parquet.")] = "csv",
) -> None:
    """Write this node's early-warning training table from its own panel: one row per firm
    (the bank: per borrower of its book) and cutoff month, its signals as of that month, and
    at the bank the label. Add the table to the node's datasets to train on it."""
    import yaml

    from node.data.datasets import NodeDatasets, UnknownDataset
    from node.data.exceptions import DatasetError
    from node.monitoring.config import monitored_panel
    from node.monitoring.defaults import default_months
    from node.monitoring.tables import (
        add_labels,
        label_column,
        month_range,
        signal_table,
        table_schema,
    )

    if fmt not in ("csv", "parquet"):
        fail(f"--format {fmt!r} is not a file format; use csv or parquet")
    cfg = node_config(config)
    monitoring = _monitoring_section(cfg, "panel")
    assert monitoring.panel is not None
    try:
        datasets = NodeDatasets(cfg.datasets)
        loaded = datasets.get(monitoring.panel)
        schema = loaded.schema
        skip = {schema.id_column, monitoring.month_column, *schema.key_columns}
        cube, kinds = monitored_panel(loaded.frame, schema.id_column, skip, monitoring)
        codes = list(cube.codes)
        if monitoring.book:
            book = datasets.get(monitoring.book)
            codes = book.frame[book.schema.id_column].astype(str).tolist()
        frame = signal_table(cube, codes, month_range(first, last), kinds)
        label = None
        if defaults:
            known = datasets.get(defaults)
            frame = add_labels(frame, default_months(known.frame, known.schema.id_column), horizon)
            label = label_column(horizon)
    except (MonitoringError, DatasetError, UnknownDataset, KeyError) as exc:
        fail(f"cannot build the table: {exc}")
    dataset = name or f"{cfg.node_id}_ew"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{dataset}.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    (out / f"{dataset}.schema.yaml").write_text(
        yaml.safe_dump(table_schema(dataset, frame, label), sort_keys=False)
    )
    positives = f", {int(frame[label].sum())} positive" if label else ""
    typer.echo(f"wrote {path}: {len(frame)} rows{positives}, {frame.shape[1] - 1} columns")


@app.command("review-flags")
def review_flags_cmd(
    config: Annotated[Path, typer.Option("--config", help="The bank node's configuration file.")],
    defaults: Annotated[
        str, typer.Option(help="Dataset of the bank's default months (id, default_month).")
    ],
    horizon: Annotated[int, typer.Option(min=1, max=24, help="Outcome window, months.")] = 6,
    through: Annotated[
        str,
        typer.Option(
            help="Last month the default records are complete to, YYYY-MM (required with "
            "--write; default: the latest refresh month)."
        ),
    ] = "",
    min_raised: Annotated[
        int, typer.Option(min=1, help="Raisings a flag needs to be judged.")
    ] = MIN_RAISED,
    write: Annotated[
        bool, typer.Option("--write", help="Set soft_flags in the policy file to the proposal.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Judge each flag of the monitoring policy on the bank's own history: how often it was
    raised on a performing borrower (the refreshes' kept flags), how often a default followed
    within HORIZON months (the defaults dataset), against its level's PD cut-off. Propose
    which flags to make soft; --write sets them in the policy file."""
    from node.audit.tokens import subject_tokenizer
    from node.data.datasets import NodeDatasets, UnknownDataset
    from node.data.exceptions import DatasetError
    from node.monitoring.defaults import default_months
    from node.monitoring.flag_review import TOO_FEW, review_dict, review_history, write_soft_flags
    from node.monitoring.panel import month_key
    from node.monitoring.policy import load_monitoring_policy
    from node.monitoring.store import MonitoringStore
    from node.runtime.secrets import node_secret

    if fmt not in ("json", "table"):
        fail(f"--format {fmt!r} is not a format; give json or table")
    if write and not through:
        fail(
            "--write needs --through: give the last month your default records are complete "
            "to, YYYY-MM (they usually lag the refreshes; a later month makes flags look soft)"
        )
    cfg = node_config(config)
    policy_file = _monitoring_section(cfg, "policy").policy
    assert policy_file is not None
    try:
        policy = load_monitoring_policy(policy_file)
        store_path = cfg.state_dir / "monitoring" / "watch.sqlite"
        if not store_path.exists() or not (cfg.state_dir / "node.secret").exists():
            fail(
                "this node has no watch-list store yet; start it with its monitoring policy "
                "and run refreshes (fedcredit monitor refresh) first",
                ExitCode.CONFIG,
            )
        loaded = NodeDatasets(cfg.datasets).get(defaults)
        token = subject_tokenizer(node_secret(cfg.state_dir)).token
        months = {
            token(firm): month
            for firm, month in default_months(loaded.frame, loaded.schema.id_column).items()
        }
        store = MonitoringStore(store_path)
        try:
            review = review_history(
                store, policy, months, horizon, month_key(through) if through else "", min_raised
            )
        finally:
            store.close()
    except (MonitoringError, DatasetError, UnknownDataset) as exc:
        fail(f"cannot review the flags: {exc}")
    except OSError as exc:
        fail(f"cannot review the flags: {exc.filename or 'a file'}: {exc.strerror}")
    wrote = write and review.soft != policy.soft_flags
    if wrote:
        try:
            write_soft_flags(policy_file, policy, review.soft)
        except MonitoringError as exc:
            fail(f"cannot write the proposal: {exc}")
        except OSError as exc:
            fail(f"cannot write {policy_file}: {exc.strerror}; check its folder's permissions")
    if fmt == "json":
        typer.echo(json.dumps({**review_dict(review), "written": wrote}))
        return
    title = f"flags judged on defaults within {horizon} months"
    table = Table("flag", "level", "from PD", "raised", "defaulted", "default rate", "now",
                  "proposed", title=title)  # fmt: skip
    for v in review.verdicts:
        table.add_row(
            v.code, v.level, f"{v.cutoff:.3f}", str(v.record.raised), str(v.record.defaulted),
            f"{v.record.default_rate:.3f}", v.now,
            "too few to judge" if v.proposed == TOO_FEW else v.proposed,
        )  # fmt: skip
    console = Console()
    console.print(table)
    console.print(
        f"flags kept for {len(review.months)} month(s), {review.months[0]} to "
        f"{review.months[-1]}; outcomes judged through {review.through}"
        + ("" if through else " (the latest refresh month: give --through if your default "
           "records are complete only to an earlier one)")
    )  # fmt: skip
    other = sorted(set(review.record) - {v.code for v in review.verdicts})
    if other:
        console.print(f"received but not in the policy: {', '.join(other)}")
    proposal = "soft_flags: [" + ", ".join(sorted(review.soft)) + "]"
    if review.soft == policy.soft_flags:
        console.print(f"the policy already says {proposal}")
    elif wrote:
        console.print(
            f"wrote {proposal} to {policy_file} (in force at the next refresh, which records "
            "the change in the node's access log: policy_change)"
        )
    else:
        console.print(f"proposed: {proposal}; --write sets it in {policy_file}")
