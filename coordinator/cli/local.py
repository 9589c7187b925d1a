"""``fedcredit-federation``: run the whole federation on this machine and show what it does.

The main job of the embedded default: generate synthetic SME data and certificates, start the
coordinator and a government, a bank and a third-party node as separate processes on loopback
with mutual TLS, show them registered and healthy, run the demo jobs, verify every access log
against its signed checkpoint, print a summary and shut everything down. After the vertical
model is trained, every node deploys its part and the bank decides a few loan applications;
after the early-warning model is trained, the bank refreshes its book with it and shows its
watch list (``coordinator/local/early_warning.py``).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import grpc
import typer
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.table import Table

from coordinator.local import LocalFederation, early_warning
from coordinator.local.csv import BankFilesError, horizontal_banks
from coordinator.local.decisions import demo_decisions
from coordinator.local.federation import FederationError
from coordinator.local.project import project_federation
from coordinator.local.synthetic import synthetic_federation
from coordinator.witness import CheckpointWitness
from node.audit import LogReader, TamperDetected
from node.audit.verify import verify_log
from node.cli.exit_codes import ExitCode
from node.cli.guard import run_guarded
from node.cli.jobs import job_dict, nodes_table, watch_job
from node.cli.results import outcome, print_model
from node.data import bundled
from node.models import ModelError
from node.monitoring.exceptions import MonitoringError
from node.onboarding.project import load_project
from node.onboarding.writer import default_folder
from node.pki import identity_from_certificate
from node.transport.client import health_status, open_channel
from protos.fedcredit.v1 import coordinator_pb2

REPO_ROOT = Path(__file__).resolve().parents[2]
JOB_DIR = REPO_ROOT / "scripts" / "jobs"
BUNDLED_BANKS = ("homo_guest", "homo_host_1", "homo_host_2")
SCENARIOS = {
    "synthetic": ("check", "psi", "vertical_lr", "secureboost", early_warning.JOB),
    "banks": ("horizontal",),
}

app = typer.Typer(help="Run a local fedcredit federation.", pretty_exceptions_enable=False)


def build(root: Path, n_firms: int, seed: int, watch: bool, console: Console) -> LocalFederation:
    """Data, certificates and configuration for the three synthetic holders; with ``watch``,
    their monthly panels served and each node's early-warning table written."""
    started = time.perf_counter()
    bank = early_warning.bank_watch(root) if watch else None
    fed = synthetic_federation(root, n_firms=n_firms, seed=seed, watch=bank)
    console.print(
        f"generated synthetic SME data ({n_firms} firms, seed {seed}) and a federation CA "
        f"with certificates in {fed.certs} ({time.perf_counter() - started:.1f}s)"
    )
    if watch:
        started = time.perf_counter()
        early_warning.prepare(fed)
        console.print(
            f"monthly panels served through {early_warning.OBSERVED}; each node wrote its "
            f"early-warning table ({time.perf_counter() - started:.1f}s)",
            highlight=False,
        )
    return fed


def show_federation(fed: LocalFederation, console: Console) -> None:
    stub = fed.coordinator()
    nodes = list(stub.ListNodes(coordinator_pb2.ListNodesRequest()).nodes)
    console.print(nodes_table(nodes))
    health = Table("server", "port", "gRPC health")
    health.add_row("coordinator", str(fed.coordinator_port), fed.health())
    for node_id, port in fed.node_ports.items():
        with open_channel(f"127.0.0.1:{port}", fed.certs, "operator", peer=node_id) as ch:
            health.add_row(node_id, str(port), health_status(ch))
    console.print(health)


def run_job(fed: LocalFederation, name: str, spec: str, console: Console) -> dict[str, Any]:
    console.rule(f"job: {name}")
    job_id = fed.submit(spec, job_id=f"demo-{name}-{int(time.time())}")
    stub = fed.coordinator()
    watch_job(stub, job_id, console)
    status = fed.wait_job(job_id)
    result = job_dict(status)
    colour = "green" if status.state == "succeeded" else "red"
    console.print(f"{name}: [{colour}]{status.state}[/{colour}] {status.error}")
    return result


def verify_logs(fed: LocalFederation, console: Console) -> list[dict[str, Any]]:
    """Verify each access log from its entries against the checkpoint the witness holds.

    The public key comes from the party's certificate and the anchor checkpoint from the
    coordinator's witness, not from the log itself: that is what an auditor would trust.
    """
    rows = []
    table = Table("log", "entries", "anchor", "verified")
    witness = CheckpointWitness(fed.root / "state" / "coordinator" / "witness.sqlite")
    try:
        for party in ["coordinator", *fed.node_ports]:
            identity = identity_from_certificate((fed.certs / f"{party}.crt").read_bytes())
            key = Ed25519PublicKey.from_public_bytes(identity.sign_public)
            anchor = None if party == "coordinator" else witness.latest(party)
            reader = LogReader.open(fed.root / "state" / party / "audit")
            try:
                report = verify_log(reader, key, anchor)
                ok, size = True, report.log_size
                where = "witness" if anchor else "own"
            except TamperDetected as exc:
                ok, size, where = False, -1, str(exc)
            finally:
                reader.close()
            rows.append({"log": party, "entries": size, "ok": ok})
            table.add_row(party, str(size), where, "[green]yes[/green]" if ok else "[red]NO[/red]")
    finally:
        witness.close()
    console.print(table)
    return rows


def print_summary(results: dict[str, dict[str, Any]], console: Console) -> None:
    """One line per job, and the vertical model beside the bank alone."""
    table = Table("job", "state", "outcome")
    for name, job in results.items():
        table.add_row(
            name, job["state"], outcome(job["type"], job["state"], job["result"], job["error"])
        )
    console.print(table)
    for name, job in results.items():
        if job["state"] == "succeeded" and job["type"] in ("vertical_lr", "secureboost"):
            console.print(f"job {name}:", style="bold")
            print_model(job["type"], job["result"], console)


def bank_files(
    data_dir: Path | None, banks: list[Path], test: Path | None
) -> tuple[list[Path], Path | None]:
    """The banks scenario's files: given one by one, every CSV of ``data_dir`` (one whose name
    contains ``test`` is the test set), or the bundled horizontal split."""
    if banks:
        return banks, test
    if data_dir is None:
        return [], None
    files = sorted(data_dir.glob("*.csv"))
    tests = [f for f in files if "test" in f.stem.lower()]
    if len(tests) > 1 and test is None:
        names = ", ".join(f.name for f in tests)
        raise typer.BadParameter(
            f"{data_dir} has several test files ({names}); pick one with --test"
        )
    banks = [f for f in files if f not in tests]
    if not banks:
        raise typer.BadParameter(f"{data_dir} has no bank CSV files; or name them with --bank")
    return banks, test or (tests[0] if tests else None)


@app.command()
def up(
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="where data, certificates and state go (default var/local-federation, or the "
            "folder fedcredit init wrote for --project)"
        ),
    ] = None,
    scenario: Annotated[
        str,
        typer.Option(
            help="synthetic: government, bank and third-party nodes on generated SME data; "
            "banks: bank nodes training together on the same columns (horizontal)"
        ),
    ] = "synthetic",
    n_firms: Annotated[int, typer.Option(help="synthetic firms")] = 20_000,
    seed: Annotated[int, typer.Option(help="data seed")] = 7,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="banks: a folder of bank CSV files with the same columns, one node each; a file "
            "named *test* is the shared test set (default: the bundled default_credit split)"
        ),
    ] = None,
    bank: Annotated[
        list[Path] | None, typer.Option(help="banks: one bank's CSV file (repeat per bank)")
    ] = None,
    test: Annotated[Path | None, typer.Option(help="banks: the shared test CSV file")] = None,
    label: Annotated[str, typer.Option(help="banks: the 0/1 label column")] = "y",
    id_column: Annotated[str, typer.Option(help="banks: the id column")] = "id",
    project: Annotated[
        Path | None,
        typer.Option(help="a project file initialised by fedcredit init: start its federation"),
    ] = None,
    jobs: Annotated[str, typer.Option(help="comma-separated demo jobs to run")] = "",
    serve: Annotated[
        bool, typer.Option(help="keep the federation running after the jobs, until Ctrl-C")
    ] = False,
    fresh: Annotated[
        bool, typer.Option(help="start from an empty workdir (never for --project)")
    ] = True,
) -> None:
    """Start a local federation as separate processes, run jobs, verify the logs, stop."""
    console = Console()
    if scenario not in SCENARIOS:
        raise typer.BadParameter(f"--scenario must be one of {', '.join(SCENARIOS)}")
    # Paths given here are relative to where the command runs; the generated configuration
    # files carry them absolute (the daemons read them from another folder).
    loaded = load_project(project) if project else None
    default = default_folder(loaded) if loaded else Path("var/local-federation")
    workdir = (workdir or default).expanduser().resolve()
    project_fed = project_federation(loaded, workdir) if loaded else None
    job_dir = workdir / "jobs" if loaded else JOB_DIR
    default_jobs = "vertical_lr" if loaded else ",".join(SCENARIOS[scenario])
    names = [j.strip() for j in (jobs or default_jobs).split(",") if j.strip()]
    specs = {n: job_dir / f"{n}.yaml" for n in names}
    unknown = [n for n, path in specs.items() if not path.is_file()]
    if unknown:
        known = sorted(p.stem for p in job_dir.glob("*.yaml"))
        raise typer.BadParameter(f"no job {unknown} in {job_dir}; choose from {', '.join(known)}")
    if loaded is not None and project_fed is not None:
        fed = project_fed
        console.print(f"project {loaded.name}: {', '.join(p.name for p in loaded.parties)}")
    elif scenario == "banks":
        resolved = [b.expanduser().resolve() for b in bank or []]
        banks, test_file = bank_files(
            data_dir.expanduser().resolve() if data_dir else None,
            resolved,
            test.expanduser().resolve() if test else None,
        )
        if fresh and workdir.exists():
            shutil.rmtree(workdir)
        if not banks:
            bundled_dir = bundled.extract(workdir / "data" / "default_credit")
            banks = [bundled_dir / f"default_credit_{f}.csv" for f in BUNDLED_BANKS]
        try:
            fed, parties = horizontal_banks(workdir, banks, label, test_file, id_column)
        except BankFilesError as exc:
            raise typer.BadParameter(str(exc)) from None
        spec = yaml.safe_load(specs["horizontal"].read_text()) if "horizontal" in specs else None
        if spec is not None:
            spec["parties"] = parties
            specs["horizontal"] = _write_job(workdir, "horizontal", spec)
        console.print(
            f"{len(banks)} bank nodes on {', '.join(b.name for b in banks)}"
            + (f", test set {test_file.name}" if test_file else "")
        )
    else:
        if fresh and workdir.exists():
            shutil.rmtree(workdir)
        fed = build(workdir, n_firms, seed, early_warning.JOB in specs, console)
    results: dict[str, dict[str, Any]] = {}
    decisions: list[dict[str, Any]] | str = []
    watchlist: dict[str, Any] | str = {}
    failure = ""
    try:
        t0 = time.perf_counter()
        fed.start()
        console.print(f"federation up in {time.perf_counter() - t0:.1f}s")
        show_federation(fed, console)
        for name, path in specs.items():
            results[name] = run_job(fed, name, path.read_text(), console)
        trained = results.get("vertical_lr", {})
        if scenario == "synthetic" and loaded is None and trained.get("state") == "succeeded":
            decisions = decide_examples(fed, trained["job_id"], console)
        warning = results.get(early_warning.JOB, {})
        if scenario == "synthetic" and loaded is None and warning.get("state") == "succeeded":
            watchlist = watch_examples(fed, warning["job_id"], console)
        if serve:
            wait_for_ctrl_c(fed, console)
    except FederationError as exc:
        failure = str(exc)
    finally:
        codes = fed.stop()
        console.print(f"stopped all processes, exit codes: {codes}")
    if failure:
        Console(stderr=True).print(f"[red]{failure}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(ExitCode.JOB_FAILED)
    console.rule("access logs")
    audit = verify_logs(fed, console)
    summary = {
        "jobs": {n: {"state": r["state"], "result": r["result"]} for n, r in results.items()},
        "decisions": decisions,
        "watchlist": watchlist,
        "audit": audit,
    }
    (workdir / "summary.json").write_text(json.dumps(summary, indent=2))
    console.rule("summary")
    print_summary(results, console)
    if isinstance(watchlist, dict) and watchlist:
        console.print(early_warning.summary_line(watchlist), highlight=False)
    console.print(f"full results: {workdir / 'summary.json'}")
    problems = [f"job {n} {r['state']}" for n, r in results.items() if r["state"] != "succeeded"]
    problems += [f"log {a['log']} does not verify" for a in audit if not a["ok"]]
    problems += [f"{name} exited {code}" for name, code in codes.items() if code]
    problems += [f"example decisions failed: {decisions}"] if isinstance(decisions, str) else []
    problems += [f"early warning failed: {watchlist}"] if isinstance(watchlist, str) else []
    if problems:
        console.print(f"[red]federation run had problems: {'; '.join(problems)}[/red]")
        raise typer.Exit(ExitCode.JOB_FAILED)


def decide_examples(
    fed: LocalFederation, job_id: str, console: Console
) -> list[dict[str, Any]] | str:
    """A few loan decisions on the trained vertical model; a failure is reported, not raised."""
    try:
        return demo_decisions(fed, job_id, console)
    except (grpc.RpcError, ModelError) as exc:
        detail = exc.details() if isinstance(exc, grpc.RpcError) else str(exc)
        console.print(f"[red]example decisions failed: {detail}[/red]")
        return str(detail)


def watch_examples(fed: LocalFederation, job_id: str, console: Console) -> dict[str, Any] | str:
    """The early-warning step on the trained warning model; a failure is reported, not raised."""
    try:
        return early_warning.watch_book(fed, job_id, console)
    except (grpc.RpcError, ModelError, MonitoringError, LookupError) as exc:
        detail = exc.details() if isinstance(exc, grpc.RpcError) else str(exc)
        console.print(f"[red]early warning failed: {detail}[/red]")
        return str(detail)


def _write_job(workdir: Path, name: str, spec: dict[str, Any]) -> Path:
    path = workdir / "jobs" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def wait_for_ctrl_c(fed: LocalFederation, console: Console) -> None:
    """Keep the federation up for the operator's own commands until Ctrl-C."""
    common = f"--coordinator {fed.address} --certs {fed.certs} --as operator"
    console.print(
        f"federation running; in another terminal:\n  fedcredit nodes list {common}\n"
        f"  fedcredit jobs submit JOB.yaml {common}\npress Ctrl-C to stop it",
        highlight=False,
        soft_wrap=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


def main() -> None:
    run_guarded(app, "fedcredit-federation", {FederationError: ExitCode.JOB_FAILED})


if __name__ == "__main__":
    main()
